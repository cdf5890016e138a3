import type { ExitReason } from "./exit-reason.ts";

/**
 * Thrown by `ctx.exit(reason)` and by kernel calls made from a process that has already ended,
 * to unwind code that should no longer run. The kernel ignores it when it surfaces from a body,
 * handler or backend; user code that catches errors generically should rethrow it
 * (`if (isProcessExit(e)) throw e`).
 */
export class ProcessExit extends Error {
  readonly reason: ExitReason;

  constructor(reason: ExitReason) {
    super("process has exited");
    this.name = "ProcessExit";
    this.reason = reason;
  }
}

export function isProcessExit(value: unknown): value is ProcessExit {
  return value instanceof ProcessExit;
}
