import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { describeError } from "../../src/errors/numax-error.ts";
import { type GuestLine, parseGuestLine } from "./guest-lines.ts";

/**
 * One real `nx run` process (node bin/nx.js run ...), the unit every gate is built from. Its
 * stdout is read line by line: the guest's "@gate" reports go to `onGuestLine` with the time
 * they arrived, every other line is kept (`nx run --print-gcounter` prints `KEY = 12` there);
 * the last lines of stderr are kept for error messages.
 */

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const NX_BIN = join(REPO_ROOT, "bin/nx.js");
const STDERR_TAIL_LINES = 20;

export interface NxProcessSpec {
  /** Label in messages and reports: "n0", "n1", ... */
  readonly name: string;
  readonly modulePath: string;
  /** Arguments after `nx run <module>`: --datastore-path, sync and observability flags. */
  readonly args: readonly string[];
  /** NX_* variables for the guest and the node; the runner's own NX_* / NUMAX_* are not passed on. */
  readonly env: Readonly<Record<string, string>>;
  /** Flags for node itself, before the script (e.g. --cpu-prof). */
  readonly nodeFlags?: readonly string[];
}

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface NxProcessEvents {
  /** `atMs`: performance.now() of the runner when the line arrived. */
  onGuestLine?(line: GuestLine, atMs: number): void;
}

/** The runner's environment without NX_* / NUMAX_* (they would configure the nodes) or test-runner variables. */
function childEnvironment(extra: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || /^(NX_|NUMAX_)/.test(name)) continue;
    if (name === "NODE_TEST_CONTEXT" || name === "NODE_OPTIONS") continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

export class NxProcess {
  readonly spec: NxProcessSpec;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<ProcessExit>;
  readonly startedAtMs = performance.now();
  /** stdout lines that are not guest reports. */
  readonly otherLines: string[] = [];
  /** Guest report lines that could not be parsed (each fails the gate). */
  readonly protocolErrors: string[] = [];
  readonly #stderrTail: string[] = [];
  #exit: ProcessExit | undefined;

  private constructor(spec: NxProcessSpec, child: ChildProcess, events: NxProcessEvents) {
    this.spec = spec;
    this.child = child;
    if (child.pid === undefined) throw new Error(`${spec.name}: nx did not start`);
    this.pid = child.pid;
    this.exited = new Promise((resolveExit) => {
      child.once("exit", (code, signal) => {
        this.#exit = { code, signal };
        resolveExit(this.#exit);
      });
    });
    createInterface({ input: child.stdout! }).on("line", (line) => {
      let parsed: GuestLine | undefined;
      try {
        parsed = parseGuestLine(line);
      } catch (error) {
        this.protocolErrors.push(`${spec.name}: ${describeError(error)}`);
        return;
      }
      if (parsed === undefined) this.otherLines.push(line);
      else events.onGuestLine?.(parsed, performance.now());
    });
    createInterface({ input: child.stderr! }).on("line", (line) => {
      this.#stderrTail.push(line);
      if (this.#stderrTail.length > STDERR_TAIL_LINES) this.#stderrTail.shift();
    });
  }

  /** Starts the process; resolves once it is spawned (not once the node is ready). */
  static start(spec: NxProcessSpec, events: NxProcessEvents = {}): Promise<NxProcess> {
    const child = spawn(
      process.execPath,
      // Gate nodes run side by side: none takes the management API's default port (nor pays for it).
      [
        ...(spec.nodeFlags ?? []),
        NX_BIN,
        "run",
        "--management-listen",
        "off",
        "--dashboard-listen",
        "off",
        spec.modulePath,
        ...spec.args,
      ],
      { cwd: REPO_ROOT, env: childEnvironment(spec.env), stdio: ["ignore", "pipe", "pipe"] },
    );
    return new Promise((resolveStart, rejectStart) => {
      child.once("error", rejectStart);
      child.once("spawn", () => resolveStart(new NxProcess(spec, child, events)));
    });
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  get exit(): ProcessExit | undefined {
    return this.#exit;
  }

  stderrTail(): string {
    return this.#stderrTail.join("\n");
  }

  /** One line describing how the process ended, with its last stderr line. */
  describeExit(): string {
    const exit = this.#exit;
    const how =
      exit === undefined
        ? "is still running"
        : exit.signal !== null
          ? `was killed by ${exit.signal}`
          : `exited with code ${exit.code}`;
    // The line that says what went wrong: nx's own "nx: error:" (or a flag parser's "error:")
    // line, else an uncaught
    // exception's "SomeError: ..." line, else the last line written.
    const tail = this.#stderrTail;
    const telling =
      tail.findLast((line) => /^(nx: )?error:/.test(line)) ??
      tail.findLast((line) => /^\w*Error\b.*:/.test(line)) ??
      tail.at(-1);
    return `${this.spec.name} (pid ${this.pid}) ${how}${telling === undefined ? "" : `: ${telling.trim()}`}`;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** SIGTERM (graceful: the node flushes and prints its counters), then SIGKILL after `graceMs`. */
  async stop(graceMs: number): Promise<ProcessExit> {
    if (!this.running) return this.#exit!;
    this.signal("SIGTERM");
    const timer = setTimeout(() => this.signal("SIGKILL"), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  async kill(): Promise<ProcessExit> {
    this.signal("SIGKILL");
    return this.exited;
  }
}
