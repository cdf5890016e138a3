import type { ExitReason } from "../../kernel/exit-reason.ts";
import type { Pid } from "../../kernel/pid.ts";
import type { ProcessBackend } from "../../kernel/process-backend.ts";
import type { ProcessContext } from "../../kernel/process-context.ts";
import type { HttpPort } from "../abi/http-port.ts";
import { GuestProcessExit } from "../abi/process-port.ts";
import { GuestFailure } from "../guest-failure.ts";
import type { GuestInstance, GuestRunResult } from "../guest-instance.ts";
import type { GuestModule } from "../load-guest-module.ts";
import type { Grants } from "./capability-profile.ts";
import { exitReasonText } from "./guest-message.ts";
import type { PooledInstance, ProcessOutput } from "./instance-pool.ts";
import type { ProcessLife } from "./process-life.ts";

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
  acquire(module: GuestModule, grants: Grants): PooledInstance;
  release(module: GuestModule, grants: Grants, instance: PooledInstance): void;
  outputFor(module: GuestModule, pid: Pid): ProcessOutput;
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
  readonly onExit: ((exit: WasmProcessExit) => void) | undefined;
  /** Default: run `entry` once. */
  readonly program?: GuestProgram;
  /** The request this process serves (or the route declaration it makes); see WasmSpawnOptions. */
  readonly http?: HttpPort;
}

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
 */
export class WasmProcessBackend implements ProcessBackend {
  readonly kind = "wasm";
  readonly label: string;
  readonly owner: string;
  readonly #host: WasmBackendHost;
  readonly #spec: WasmProcessSpec;
  #instance: PooledInstance | undefined;
  #output: ProcessOutput | undefined;
  #pid: Pid | undefined;

  constructor(host: WasmBackendHost, spec: WasmProcessSpec) {
    this.#host = host;
    this.#spec = spec;
    this.owner = spec.module.moduleId;
    this.label = spec.entry === "run" ? spec.module.moduleId : `${spec.module.moduleId}:${spec.entry}`;
  }

  start(ctx: ProcessContext): Promise<void> {
    const { module, entry, grants } = this.#spec;
    this.#pid = ctx.self;
    this.#host.processStarted(ctx.self);
    const instance = this.#host.acquire(module, grants);
    const life: ProcessLife = {
      ctx,
      module,
      entry,
      grants,
      children: new Set(),
      monitors: new Map(),
      exitReason: undefined,
    };
    const output = this.#host.outputFor(module, ctx.self);
    instance.output = output;
    instance.http = this.#spec.http;
    instance.port.attach(life);
    this.#instance = instance;
    this.#output = output;
    const program = this.#spec.program;
    const done = program === undefined ? instance.guest.run(entry) : program(instance.guest, ctx);
    return done.then((result) => settled(ctx, life, result));
  }

  terminate(reason: ExitReason): void {
    this.#host.processEnded(this.#pid, this.#spec.module);
    const instance = this.#instance;
    let cpuMs = 0;
    if (instance !== undefined) {
      cpuMs = instance.guest.governor.usedMs;
      if (!instance.guest.reusable) instance.guest.kill(`process ended: ${exitReasonText(reason)}`);
      this.#host.release(this.#spec.module, this.#spec.grants, instance);
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

/** Turns the end of a guest run into the end of its process. */
function settled(ctx: ProcessContext, life: ProcessLife, result: GuestRunResult): void {
  let reason = life.exitReason;
  if (!result.ok) {
    const cause = result.failure.cause;
    if (!(cause instanceof GuestProcessExit)) throw result.failure;
    reason = cause.reason;
  }
  // ctx.exit throws to unwind; the kernel ignores that once the process has ended.
  if (reason !== undefined && reason !== "normal") ctx.exit(reason);
}
