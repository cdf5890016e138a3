/**
 * Runs bench/gate/run-gate.ts as a child process the way CI does, with its temporary files
 * under a directory of the test's own (TMPDIR), so the test can prove afterwards that nothing
 * of the run is left: no process whose command line names that directory, no directory in it.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { GateReport } from "../../bench/gate/gate-report.ts";

const RUN_GATE = join(import.meta.dirname, "../../bench/gate/run-gate.ts");

export interface GateRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly report: GateReport | undefined;
  readonly reportPath: string;
}

export class GateSandbox {
  readonly dir = mkdtempSync(join(tmpdir(), "nx-gate-test-"));
  readonly #tmp = join(this.dir, "tmp");

  /** Starts the runner; `onStderr` sees its progress lines as they come. */
  start(args: readonly string[], onStderr?: (text: string) => void) {
    const reportPath = join(this.dir, `${args[0]}-${Date.now()}.json`);
    const child = spawn(process.execPath, [RUN_GATE, ...args, "--report", reportPath], {
      env: {
        ...process.env,
        TMPDIR: this.#tmpDir(),
        // Keep the nodes' compile cache where it always is, not in the sandbox: warm starts.
        NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? join(tmpdir(), "node-compile-cache"),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      onStderr?.(chunk.toString());
    });
    const done = new Promise<GateRun>((resolve) => {
      child.once("close", (status) => {
        const report = existsSync(reportPath)
          ? (JSON.parse(readFileSync(reportPath, "utf8")) as GateReport)
          : undefined;
        resolve({ status, stdout, stderr, report, reportPath });
      });
    });
    return { child, done };
  }

  async run(args: readonly string[], timeoutMs: number): Promise<GateRun> {
    const { child, done } = this.start(args);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    try {
      return await done;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Processes still running whose command line mentions the sandbox (a gate's nodes do). */
  leftoverProcesses(): string[] {
    const left: string[] = [];
    for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
        if (cmdline.includes(this.dir) && Number(pid) !== process.pid)
          left.push(`${pid}: ${cmdline.slice(0, 200)}`);
      } catch {
        // gone meanwhile
      }
    }
    return left;
  }

  /** Asserts that the runner left no process and no temporary directory behind. */
  assertClean(): void {
    assert.deepEqual(this.leftoverProcesses(), []);
    assert.deepEqual(readdirSync(this.#tmpDir()), []);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  #tmpDir(): string {
    mkdirSync(this.#tmp, { recursive: true });
    return this.#tmp;
  }
}
