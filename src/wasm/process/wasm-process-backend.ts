import type { ExitReason } from "../../kernel/exit-reason.ts";
import type { Pid } from "../../kernel/pid.ts";
import type { ProcessBackend } from "../../kernel/process-backend.ts";
import type { BackendSpawnable, ProcessContext } from "../../kernel/process-context.ts";
import type { HttpPort } from "../abi/http-port.ts";
import { GuestProcessExit } from "../abi/process-port.ts";
import { GuestFailure } from "../guest-failure.ts";
import type { GuestInstance, GuestRunResult } from "../guest-instance.ts";
import type { GuestModule } from "../load-guest-module.ts";
import type { Grants } from "./capability-profile.ts";
import { exitReasonText } from "./guest-message.ts";
import type { InstancePool, PooledInstance, ProcessOutput } from "./instance-pool.ts";
import { ProcessLife, type ProcessMaker } from "./process-life.ts";

/** How a WebAssembly process ended, for whoever spawned it from JavaScript. */
export interface WasmProcessExit {
  /** Undefined only for a process stopped before it ever ran. */
  readonly pid: Pid | undefined;
  readonly module: GuestModule;
  readonly entry: string;
  readonly reason: ExitReason;
  /** The guest's own failure (trap, abort, CPU budget, memory cap) when that is what ended it. */
  readonly failure: GuestFailure | undefined;
  /** Guest CPU time of the process, in ms (time parked in receive does not count). */
  readonly cpuMs: number;
}

/** What a backend needs of the host that made it. */
export interface WasmBackendHost {
  outputFor(module: GuestModule): ProcessOutput;
  processStarted(pid: Pid): void;
  /** `module`: the code it ran (the one its backend was made for). */
  processEnded(pid: Pid | undefined, module: GuestModule): void;
}

/**
 * What a process does with its instance, instead of running one entry: a reactive module's
 * event loop (src/node/reactive-program.ts) calls `run`, `init` and callbacks one after the
 * other. Resolves with the first failure, or OK once done; never rejects.
 */
export type GuestProgram = (guest: GuestInstance, ctx: ProcessContext) => Promise<GuestRunResult>;

export interface WasmProcessSpec {
  readonly module: GuestModule;
  readonly entry: string;
  readonly grants: Grants;
  /** Where its instance comes from and goes back to (the pool of its module and grants). */
  readonly pool: InstancePool;
  readonly onExit: ((exit: WasmProcessExit) => void) | undefined;
  /** Default: run `entry` once. */
  readonly program?: GuestProgram;
  /** The request this process serves (or the route declaration it makes); see WasmSpawnOptions. */
  readonly http?: HttpPort;
}

/** Makes the kernel process of a request life, started at once: `Kernel.spawnRunning`. */
export type SpawnRunning = (spawnable: BackendSpawnable) => Pid;

/**
 * A kernel process whose code is a guest export running in a (pooled) instance:
 *
 * - `start` takes an instance, attaches it to this process and runs the entry on a JSPI stack;
 *   the guest's fuel checks yield through `ctx.yield()`, its receives park through
 *   `ctx.receive`. A normal return ends the process with `normal`; `proc_exit(reason)` with that
 *   reason; a trap, an abort, the CPU budget or the memory cap with the {@link GuestFailure}
 *   (kind and message), which is what links, monitors and supervisors see.
 * - `terminate` stops a guest that is still running or parked (it never resumes) and gives the
 *   instance back to its pool, which keeps it only if it can be reset exactly.
 *
 * Or a **request life** ({@link runWithoutProcess}): the same run on the same pooled instance,
 * without a kernel process until the guest needs one. Most HTTP handlers read the request and
 * build a response with no `proc_*` call, and a process per request (spawn, scheduling, exit
 * bookkeeping) cost about 3 µs of the 30 a request took. The first `proc_*` call (its pid, a send,
 * a receive, a spawn, a link...) makes the process there and then (`Kernel.spawnRunning`), which
 * adopts the run: from then on it is a process like any other. Until then its fuel checks yield
 * to the event loop, and the life ends without the kernel (same outcome, same `onExit`).
 */
export class WasmProcessBackend implements ProcessBackend, ProcessMaker {
  readonly kind = "wasm";
  readonly label: string;
  readonly owner: string;
  readonly #host: WasmBackendHost;
  readonly #spec: WasmProcessSpec;
  #instance: PooledInstance | undefined;
  #output: ProcessOutput | undefined;
  #pid: Pid | undefined;
  /** The process, once there is one: from the start when spawned, at its first need for a request life. */
  #ctx: ProcessContext | undefined;
  /** The guest's run, once begun. */
  #run: Promise<GuestRunResult> | undefined;
  #life: ProcessLife | undefined;
  /** Makes the process of a request life (undefined otherwise). */
  #spawnRunning: SpawnRunning | undefined;
  #ended = false;

  constructor(host: WasmBackendHost, spec: WasmProcessSpec) {
    this.#host = host;
    this.#spec = spec;
    this.owner = spec.module.moduleId;
    this.label = spec.entry === "run" ? spec.module.moduleId : `${spec.module.moduleId}:${spec.entry}`;
  }

  /** The process's pid; undefined for a request life that has none (yet). */
  get pid(): Pid | undefined {
    return this.#pid;
  }

  start(ctx: ProcessContext): Promise<void> {
    this.#pid = ctx.self;
    this.#ctx = ctx;
    this.#host.processStarted(ctx.self);
    if (this.#life === undefined) return this.#begin().then((result) => settled(ctx, this.#life!, result));
    this.#life.adopt(ctx);
    // A request life's process adopts the run already going. It is made from inside the guest,
    // maybe before the run's first call returned its promise: that promise is there a microtask later.
    return Promise.resolve().then(() => this.#run!.then((result) => settled(ctx, this.#life!, result)));
  }

  /**
   * Runs the entry as a request life (see the class comment): `spawnRunning` makes its process
   * if the guest asks for one. It ends through {@link terminate} when the run ends without one,
   * or through the kernel once it has one.
   */
  runWithoutProcess(spawnRunning: SpawnRunning): void {
    this.#spawnRunning = spawnRunning;
    this.#begin().then((result) => {
      if (this.#ctx === undefined) this.terminate(exitReasonOf(this.#life!, result));
    });
  }

  #begin(): Promise<GuestRunResult> {
    const { module, entry, grants } = this.#spec;
    const instance = this.#spec.pool.acquire();
    const life = new ProcessLife(module, entry, grants, this.#ctx, this);
    const output = this.#host.outputFor(module);
    instance.output = output;
    instance.http = this.#spec.http;
    instance.port.attach(life);
    this.#instance = instance;
    this.#output = output;
    this.#life = life;
    const program = this.#spec.program;
    // An instance that serves many lives runs them in its export loop: one JSPI entry for all.
    const run =
      program !== undefined
        ? program(instance.guest, this.#ctx!)
        : instance.image === undefined
          ? instance.guest.run(entry)
          : instance.guest.runExport(entry);
    this.#run = run;
    return run;
  }

  /** Makes a request life's process (its first `proc_*` call): spawnRunning calls {@link start} before it returns. */
  makeProcess(): void {
    this.#spawnRunning!({ backend: () => this });
  }

  terminate(reason: ExitReason): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#host.processEnded(this.#pid, this.#spec.module);
    const instance = this.#instance;
    let cpuMs = 0;
    if (instance !== undefined) {
      cpuMs = instance.guest.governor.usedMs;
      if (!instance.guest.reusable) instance.guest.kill(`process ended: ${exitReasonText(reason)}`);
      this.#spec.pool.release(instance);
      this.#instance = undefined;
    }
    this.#output?.end();
    const { onExit, module, entry } = this.#spec;
    if (onExit === undefined) return;
    onExit({
      pid: this.#pid,
      module,
      entry,
      reason,
      failure: reason instanceof GuestFailure ? reason : undefined,
      cpuMs,
    });
  }

  memoryBytes(): number {
    return this.#instance?.guest.memory.buffer.byteLength ?? 0;
  }
}

/** How a run ends the life it ran in: what {@link settled} makes the kernel end its process with. */
function exitReasonOf(life: ProcessLife, result: GuestRunResult): ExitReason {
  if (result.ok) return life.exitReason ?? "normal";
  const cause = result.failure.cause;
  return cause instanceof GuestProcessExit ? cause.reason : result.failure;
}

/** Turns the end of a guest run into the end of its process. */
function settled(ctx: ProcessContext, life: ProcessLife, result: GuestRunResult): void {
  const reason = exitReasonOf(life, result);
  // A failure ends the process as a thrown error does (its exit reason is the failure).
  if (!result.ok && reason === result.failure) throw reason;
  // ctx.exit throws to unwind; the kernel ignores that once the process has ended.
  if (reason !== "normal") ctx.exit(reason);
}
