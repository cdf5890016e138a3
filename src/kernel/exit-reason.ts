/**
 * Why a process ended. As in Erlang, any value is allowed; these have meaning to the kernel:
 *
 * - `"normal"`: the process finished. A linked process that does not trap exits ignores it.
 * - `"shutdown"` and `{ shutdown: detail }`: an orderly stop requested by a supervisor or owner;
 *   kills linked processes like any abnormal reason, but supervisors do not restart `transient`
 *   children that end with it.
 * - `"kill"`: sent with `exit(pid, "kill")` it cannot be trapped; the target ends with `"killed"`.
 * - `"killed"`: the reason of a process that received an untrappable kill.
 * - `"noproc"`: reported by `link`/`monitor` on a pid that is not alive.
 * - an `Error`: the process crashed (a thrown error, a failed promise, a wasm trap); its `cause`
 *   chain is kept.
 */
export type ExitReason = string | Error | ShutdownReason | { readonly [key: string]: unknown };

/** An orderly stop that carries a detail, Erlang's `{shutdown, Term}`. */
export interface ShutdownReason {
  readonly shutdown: unknown;
}

/** True for reasons that count as an orderly end: `normal`, `shutdown`, `{ shutdown: _ }`. */
export function isOrderlyExit(reason: ExitReason): boolean {
  if (reason === "normal" || reason === "shutdown") return true;
  return typeof reason === "object" && reason !== null && !(reason instanceof Error) && "shutdown" in reason;
}

/** The exit reason for a thrown value: Errors as they are, anything else wrapped with it as cause. */
export function exitReasonOfThrown(thrown: unknown): ExitReason {
  if (thrown instanceof Error) return thrown;
  return new Error(`process threw a non-Error value: ${describeValue(thrown)}`, { cause: thrown });
}

/** A short printable form of a reason for logs and introspection. */
export function formatExitReason(reason: ExitReason): string {
  if (typeof reason === "string") return reason;
  if (reason instanceof Error) return `${reason.name}: ${reason.message}`;
  return describeValue(reason);
}

function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
