import type { FunctionType } from "../module-imports.ts";
import { SignatureTable } from "./signature-table.ts";

/** {@link PROCESS_FUNCTION_SIGNATURES} as signature texts (signature-table.ts), which the `nx` table includes. */
export const PROCESS_SIGNATURE_TEXT = `
proc_self: -> i32
# module, entry, profile, arg (ptr, len each), flags
proc_spawn: i32 i32 i32 i32 i32 i32 i32 i32 i32 -> i32
# pid, msg_ptr, msg_len
proc_send: i32 i32 i32 -> i32
# out_ptr, out_cap, timeout_ms
proc_receive: i32 i32 i32 -> i32
# kinds, from, prefix_ptr, prefix_len, out_ptr, out_cap, timeout_ms
proc_receive_match: i32 i32 i32 i32 i32 i32 i32 -> i32
proc_link: i32 -> i32
proc_unlink: i32 -> i32
proc_monitor: i32 -> i32
proc_demonitor: i32 -> i32
proc_trap_exit: i32 -> i32
proc_register: i32 i32 -> i32
proc_unregister: i32 i32 -> i32
proc_whereis: i32 i32 -> i32
# reason_ptr, reason_len
proc_exit: i32 i32 -> i32
`;

/**
 * The declared type of each process function of the `nx` module (the actor runtime's ABI,
 * docs/host-api.md "Processes"). Every one returns an i32, pids included: pids are positive
 * i32 values and negative results are the ABI's error codes.
 */
export const PROCESS_FUNCTION_SIGNATURES: ReadonlyMap<string, readonly FunctionType[]> = new SignatureTable(
  PROCESS_SIGNATURE_TEXT,
);

/** The process functions that may suspend the guest (JSPI) until something happens. */
export const SUSPENDING_PROCESS_FUNCTIONS: readonly string[] = ["proc_receive", "proc_receive_match"];
