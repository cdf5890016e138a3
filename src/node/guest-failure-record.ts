import { RUN_EXPORT } from "../wasm/guest-exports.ts";
import type { GuestProcessResult } from "./guest-processes.ts";

/**
 * The structured log record of a module that did not end normally: `nx run` writes it at `warn`
 * in every mode (one-shot, `--settle-for`, serving), next to its `nx: error:` line, with the fields
 * docs/observability.md names. A module stopped by a signal says so, with the function it was
 * running: a stop at a fuel check has no guest stack, so that is the entry point `run`.
 *
 * @example
 * guestFailureRecord(result, "SIGTERM");
 * // { message: "stopped by SIGTERM while running spin.run", fields: { module: "spin", function: "run", kind: "killed" } }
 */
export interface GuestFailureRecord {
  readonly message: string;
  readonly fields: { readonly module: string; readonly function: string; readonly kind: string };
}

export function guestFailureRecord(
  result: Pick<GuestProcessResult, "module" | "failure" | "reason">,
  interruptedBy: string | undefined,
): GuestFailureRecord {
  const module = result.module.moduleId;
  const fn = result.failure?.functionName ?? RUN_EXPORT;
  if (interruptedBy !== undefined) {
    return {
      message: `stopped by ${interruptedBy} while running ${module}.${fn}`,
      fields: { module, function: fn, kind: "killed" },
    };
  }
  const kind = result.failure?.kind ?? (typeof result.reason === "string" ? result.reason : "exit");
  return { message: "guest failed", fields: { module, function: fn, kind } };
}
