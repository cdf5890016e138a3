import type { FunctionType } from "../module-imports.ts";
import { onlyFunctionType } from "./function-type-text.ts";

/**
 * The declared type of each process function of the `nx` module (the actor runtime's ABI,
 * docs/host-api.md "Processes"). Every one returns an i32, pids included: pids are positive
 * i32 values and negative results are the ABI's error codes.
 */
function i32s(params: number): readonly FunctionType[] {
  return onlyFunctionType("i32 ".repeat(params).trimEnd(), "i32");
}

export const PROCESS_FUNCTION_SIGNATURES: ReadonlyMap<string, readonly FunctionType[]> = new Map([
  ["proc_self", i32s(0)],
  // module, entry, profile, arg (ptr, len each), flags
  ["proc_spawn", i32s(9)],
  // pid, msg_ptr, msg_len
  ["proc_send", i32s(3)],
  // out_ptr, out_cap, timeout_ms
  ["proc_receive", i32s(3)],
  // kinds, from, prefix_ptr, prefix_len, out_ptr, out_cap, timeout_ms
  ["proc_receive_match", i32s(7)],
  ["proc_link", i32s(1)],
  ["proc_unlink", i32s(1)],
  ["proc_monitor", i32s(1)],
  ["proc_demonitor", i32s(1)],
  ["proc_trap_exit", i32s(1)],
  ["proc_register", i32s(2)],
  ["proc_unregister", i32s(2)],
  ["proc_whereis", i32s(2)],
  // reason_ptr, reason_len
  ["proc_exit", i32s(2)],
]);

/** The process functions that may suspend the guest (JSPI) until something happens. */
export const SUSPENDING_PROCESS_FUNCTIONS: readonly string[] = ["proc_receive", "proc_receive_match"];
