import type { Pid } from "./pid.ts";

/**
 * - `runnable`: in the run queue (just spawned, has messages to handle, or resuming after yield);
 * - `running`: executing, or awaiting something outside the kernel (I/O, a timer of its own);
 * - `waiting`: parked in `receive` (or a push-mode process with an empty mailbox);
 * - `exited`: ended (only from `processInfo` on a pid that once existed).
 */
export type ProcessStatus = "runnable" | "running" | "waiting" | "exited";

/** One live process, as plain data (JSON-ready) for the node's introspection surface. */
export interface ProcessInfo {
  readonly pid: Pid;
  /** Registered name, if any. */
  readonly name: string | null;
  /** SpawnOptions.label, else the body function's name, else the backend kind. */
  readonly label: string;
  /** "js" for a function body, else the backend's kind ("behaviour", "wasm", ...). */
  readonly kind: string;
  readonly status: Exclude<ProcessStatus, "exited">;
  readonly parent: Pid;
  readonly mailboxLength: number;
  /** User messages shed by a bounded mailbox. */
  readonly droppedMessages: number;
  /** Messages taken (receive or push delivery) plus scheduler slices run. */
  readonly reductions: number;
  /** Estimate: kernel bookkeeping + queued messages + what the backend reports. */
  readonly memoryBytes: number;
  readonly trapExit: boolean;
  readonly links: readonly Pid[];
  /** Processes this one monitors. */
  readonly monitors: readonly Pid[];
  /** Processes monitoring this one. */
  readonly monitoredBy: readonly Pid[];
}

/** What `processInfo` says about a pid that existed and has ended (reasons are not retained). */
export interface ExitedProcessInfo {
  readonly pid: Pid;
  readonly status: "exited";
}

/** Kernel-wide counters. */
export interface KernelStats {
  readonly processCount: number;
  readonly spawnedTotal: number;
  readonly exitedTotal: number;
  readonly runQueueLength: number;
  /** User messages shed by bounded mailboxes, all processes, since start. */
  readonly droppedMessagesTotal: number;
  readonly registeredNames: number;
  readonly pendingTimers: number;
}
