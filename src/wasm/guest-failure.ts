import { NumaxError } from "../errors/numax-error.ts";

/** How a guest run ended badly; stable names for logs, tests and (later) supervisors' exit reasons. */
export type GuestFailureKind =
  | "unreachable"
  | "out_of_bounds"
  | "divide_by_zero"
  | "integer_overflow"
  | "invalid_conversion"
  | "indirect_call"
  | "null_reference"
  | "cast_failure"
  | "stack_overflow"
  | "trap"
  | "cpu_budget"
  | "memory_cap"
  | "abort"
  | "exit"
  | "killed"
  | "host_error";

/** How a guest run ended, as `numax_module_runs_total` labels it. */
export type GuestRunResultLabel =
  | "ok"
  | "trap"
  | "abort"
  | "cpu_budget"
  | "memory_cap"
  | "exit"
  | "killed"
  | "error";

/** The result label of a run that ended with `failure`. */
export function guestRunResultLabel(failure: GuestFailure): GuestRunResultLabel {
  switch (failure.kind) {
    case "abort":
    case "cpu_budget":
    case "memory_cap":
    case "exit":
    case "killed":
      return failure.kind;
    case "host_error":
      return "error";
    default:
      return "trap";
  }
}

/**
 * A guest run that did not end normally, as one line: the kind, the guest's own words where it
 * gave some (abort), and the guest function where the stack showed one.
 *
 * @example
 * failure.message; // "guest trapped: integer divide by zero in function average"
 * failure.kind;    // "divide_by_zero"
 */
export class GuestFailure extends NumaxError {
  readonly kind: GuestFailureKind;
  /** The guest function at the top of the guest's stack: its name-section name or `#<index>`. */
  readonly functionName: string | undefined;
  /** For `exit`: the code the guest passed to proc_exit. */
  readonly exitCode: number | undefined;

  constructor(
    kind: GuestFailureKind,
    message: string,
    details: { functionName?: string; exitCode?: number; cause?: unknown } = {},
  ) {
    super(`GUEST_${kind.toUpperCase()}`, message, { cause: details.cause });
    this.kind = kind;
    this.functionName = details.functionName;
    this.exitCode = details.exitCode;
  }
}
