import type { Clock } from "../clock/clock.ts";
import type { ExitReason } from "./exit-reason.ts";
import { KernelCore } from "./kernel-core.ts";
import type { KernelOptions } from "./kernel-options.ts";
import type { Pid, TimerRef } from "./pid.ts";
import type { BackendSpawnable, Spawnable, SpawnOptions } from "./process-context.ts";
import type { ExitedProcessInfo, KernelStats, ProcessInfo } from "./process-info.ts";

/**
 * An actor kernel: a table of processes on one event loop, with their mailboxes, links,
 * monitors, registry, timers and run queue. Everything here is for code outside any process
 * (the node, tests, the CLI); code inside a process uses its ProcessContext. Signals and
 * messages sent from here come from KERNEL_PID.
 */
export interface Kernel {
  readonly clock: Clock;
  /** Starts a process (see ProcessContext.spawn); throws KERNEL_SHUT_DOWN after `shutdown`. */
  spawn(what: Spawnable, options?: SpawnOptions): Pid;
  /**
   * A process for code that is already running: as {@link spawn}, but the backend's `start` is
   * called before this returns instead of at the scheduler's next turn, so the caller can use
   * the process at once. For a WebAssembly request life that runs without a process until its
   * guest first needs one (src/wasm/process/request-life.ts); its `start` adopts the run.
   */
  spawnRunning(what: BackendSpawnable, options?: SpawnOptions): Pid;
  send(dest: Pid | string, message: unknown): void;
  /** Sends an exit signal (Erlang `exit/2`) from KERNEL_PID. */
  exit(pid: Pid, reason: ExitReason): void;
  isAlive(pid: Pid): boolean;
  register(name: string, pid: Pid): void;
  unregister(name: string): boolean;
  whereis(name: string): Pid | undefined;
  sendAfter(delayMs: number, dest: Pid | string, message: unknown): TimerRef;
  cancelTimer(ref: TimerRef): number | false;
  /** `call` from outside: runs the call in a short-lived process. */
  call(dest: Pid | string, request: unknown, timeoutMs?: number): Promise<unknown>;
  /** Resolves with the exit reason once `pid` ends (`"noproc"` when it is not alive). */
  whenExited(pid: Pid): Promise<ExitReason>;
  /** Every live process, in spawn order, as plain data. */
  processes(): ProcessInfo[];
  /** One process; `exited` for a pid that ended, undefined for a pid never issued. */
  processInfo(pid: Pid): ProcessInfo | ExitedProcessInfo | undefined;
  /**
   * Messages waiting in `pid`'s mailbox; undefined once it ended (or for a pid never issued).
   * What {@link processInfo} says as `mailboxLength`, without describing the whole process.
   */
  mailboxLength(pid: Pid): number | undefined;
  stats(): KernelStats;
  /**
   * Resolves once the run queue is empty at a macrotask boundary (true), or after `maxTurns`
   * event-loop turns (false). For tests, benchmarks and orderly shutdown.
   */
  idle(maxTurns?: number): Promise<boolean>;
  /**
   * Stops every process: those spawned from outside (supervision roots) get `exit(pid, "shutdown")`
   * in reverse start order, each awaited up to `timeoutMs` and then killed; any process left is
   * killed; timers are cancelled. After this, `spawn` throws KERNEL_SHUT_DOWN.
   */
  shutdown(options?: { readonly timeoutMs?: number }): Promise<void>;
}

export function createKernel(options: KernelOptions = {}): Kernel {
  return new KernelCore(options);
}
