import { readFile } from "node:fs/promises";

/**
 * Resource figures of a live process from Linux's /proc: resident memory from
 * /proc/<pid>/status (VmRSS now, VmHWM the kernel's own peak, so a spike between two samples is
 * not missed) and CPU time from /proc/<pid>/stat (utime + stime, fields 14 and 15, in clock
 * ticks of USER_HZ, which Linux fixes at 100 for /proc whatever the kernel's HZ).
 */

export const USER_HZ = 100;

export interface ProcStats {
  readonly rssBytes: number;
  readonly peakRssBytes: number;
  readonly cpuSecs: number;
}

/** VmRSS and VmHWM of a /proc/<pid>/status text, in bytes (0 when absent: a zombie has none). */
export function parseProcStatus(text: string): { rssBytes: number; peakRssBytes: number } {
  const kib = (field: string): number => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(text);
    return match === null ? 0 : Number(match[1]) * 1024;
  };
  return { rssBytes: kib("VmRSS"), peakRssBytes: kib("VmHWM") };
}

/**
 * User + system CPU seconds of a /proc/<pid>/stat line. The command name (field 2) is in
 * parentheses and may itself contain spaces or parentheses, so fields are counted from the last ")".
 */
export function parseProcStatCpuSecs(text: string): number {
  const afterName = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // afterName[0] is field 3 (state): utime is field 14, stime field 15.
  const utime = Number(afterName[11]);
  const stime = Number(afterName[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new Error(`unexpected /proc stat line: ${text.slice(0, 120)}`);
  }
  return (utime + stime) / USER_HZ;
}

/** The process's figures now, or undefined once it is gone. */
export async function readProcStats(pid: number): Promise<ProcStats | undefined> {
  try {
    const [status, stat] = await Promise.all([
      readFile(`/proc/${pid}/status`, "utf8"),
      readFile(`/proc/${pid}/stat`, "utf8"),
    ]);
    return { ...parseProcStatus(status), cpuSecs: parseProcStatCpuSecs(stat) };
  } catch {
    return undefined;
  }
}
