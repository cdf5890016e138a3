/**
 * Snapshot restore speed against a plain copy of the same file, in the same run:
 *
 *   npm run bench -- snapshot-restore [--quick] [--report FILE]
 *
 * A store of STORE_BYTES (random 4 KiB values) is exported once (`exportDatastore`). Then, in
 * pairs run back to back: `restoreSnapshot` of the file into a new datastore (check the trailer,
 * copy, cut and fsync the body while computing its checksum, compare, rename), and the
 * reference, Node's `copyFile` of the same snapshot file (the kernel's own copy) followed by an
 * fsync of the copy.
 * Both read the file from the page cache (it was just written), so the figure compares the work
 * each does, not the disk's read speed. The ratio is the median of the per-pair ratios
 * (reference time / restore time: 1.0 means as fast as a copy). Each side's CPU time (this
 * process's, libuv's threads included) is reported beside its wall time: on a shared machine it
 * moves less with the load than the wall time does.
 */
import { randomFillSync } from "node:crypto";
import { copyFile, mkdtemp, open, rm, stat } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { exportDatastore } from "../src/snapshot/export-datastore.ts";
import { restoreSnapshot } from "../src/snapshot/restore-snapshot.ts";
import { openLmdbBackend } from "../src/store/lmdb-backend.ts";
import type { BenchmarkOptions, BenchmarkReport } from "./run.ts";
import { median } from "./sampling.ts";

// One LMDB overflow page each (4 KiB pages, 16 bytes of page header).
const VALUE_BYTES = 4000;

/** Wall time and this process's CPU time (its libuv threads' included) of `body`, in ms. */
async function timedMs(body: () => Promise<unknown>): Promise<{ ms: number; cpuMs: number }> {
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  await body();
  const used = process.cpuUsage(cpu);
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, cpuMs: (used.user + used.system) / 1000 };
}

export async function runBenchmark(options: BenchmarkOptions): Promise<BenchmarkReport> {
  const storeBytes = options.quick ? 16 * 1024 * 1024 : 256 * 1024 * 1024;
  const pairs = options.quick ? 3 : 7;
  const dir = await mkdtemp(join(tmpdir(), "nx-bench-snapshot-"));
  try {
    const source = join(dir, "source");
    const backend = await openLmdbBackend({ path: source });
    const value = new Uint8Array(VALUE_BYTES);
    for (let i = 0; i < storeBytes / VALUE_BYTES; i++) {
      randomFillSync(value);
      backend.put(new TextEncoder().encode(`bench/${String(i).padStart(8, "0")}`), value);
      if (i % 4096 === 4095) await backend.flushed();
    }
    await backend.close();
    const file = join(dir, "store.nxsnap");
    await exportDatastore(source, file, { numaxVersion: "bench", nowMs: 0 });
    const fileBytes = (await stat(file)).size;

    const restoreMs: number[] = [];
    const copyMs: number[] = [];
    const restoreCpuMs: number[] = [];
    const copyCpuMs: number[] = [];
    const ratios: number[] = [];
    for (let pair = 0; pair < pairs; pair++) {
      const restored = join(dir, `restored-${pair}`);
      const copied = join(dir, `copied-${pair}.nxsnap`);
      const restore = await timedMs(() => restoreSnapshot(file, { datastorePath: restored }));
      const copy = await timedMs(async () => {
        await copyFile(file, copied);
        const handle = await open(copied, "r+");
        await handle.sync();
        await handle.close();
      });
      restoreMs.push(restore.ms);
      copyMs.push(copy.ms);
      restoreCpuMs.push(restore.cpuMs);
      copyCpuMs.push(copy.cpuMs);
      ratios.push(copy.ms / restore.ms);
      await rm(restored, { recursive: true });
      await rm(copied);
    }
    const mbPerS = (ms: number) => Math.round(fileBytes / 1e6 / (ms / 1000));
    return {
      benchmark: "snapshot-restore",
      environment: {
        cpus: cpus().length,
        loadAverage: loadavg()[0],
        node: process.version,
        quick: options.quick,
      },
      fileBytes,
      pairs,
      restore: {
        medianMs: median(restoreMs),
        mbPerS: mbPerS(median(restoreMs)),
        medianCpuMs: median(restoreCpuMs),
        runsMs: restoreMs,
      },
      plainCopy: {
        medianMs: median(copyMs),
        mbPerS: mbPerS(median(copyMs)),
        medianCpuMs: median(copyCpuMs),
        runsMs: copyMs,
      },
      restoreSpeedVsCopy: Number(median(ratios).toFixed(2)),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
