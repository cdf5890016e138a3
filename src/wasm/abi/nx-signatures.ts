import type { FunctionType, ValueType } from "../module-imports.ts";
import { PROCESS_SIGNATURE_TEXT } from "./process-signatures.ts";
import { SignatureTable } from "./signature-table.ts";

/** The import module of every Numax host function. */
export const NX_MODULE = "nx";

const NX_SIGNATURE_TEXT = `
db_get: i32 i32 i32 i32 -> i32
db_set: i32 i32 i32 i32 -> i32
db_delete: i32 i32 -> i32
db_exists: i32 i32 -> i32
db_scan: i32 i32 i64 i32 i32 i32 -> i32
db_scan_after: i32 i32 i32 i32 i32 i32 i32 -> i32
db_keys: i32 i32 i64 i32 i32 i32 -> i32
db_keys_after: i32 i32 i32 i32 i32 i32 i32 -> i32
crdt_gcounter_inc: i32 i32 i64 -> i32
crdt_gcounter_value: i32 i32 i32 i32 -> i32
crdt_pncounter_inc: i32 i32 i64 -> i32
crdt_pncounter_dec: i32 i32 i64 -> i32
crdt_pncounter_value: i32 i32 i32 i32 -> i32
crdt_lww_set: i32 i32 i32 i32 -> i32
crdt_lww_get: i32 i32 i32 i32 -> i32
crdt_lww_map_set: i32 i32 i32 i32 i32 i32 -> i32
crdt_lww_map_remove: i32 i32 i32 i32 -> i32
crdt_lww_map_get: i32 i32 i32 i32 i32 i32 -> i32
crdt_lww_map_contains: i32 i32 i32 i32 -> i32
crdt_lww_map_entries: i32 i32 i32 i32 -> i32
crdt_orset_add: i32 i32 i32 i32 -> i32
crdt_orset_remove: i32 i32 i32 i32 -> i32
crdt_orset_contains: i32 i32 i32 i32 -> i32
crdt_orset_elements: i32 i32 i32 i32 -> i32
crdt_rga_insert: i32 i32 i32 i32 i32 i32 i32 i32 -> i32
crdt_rga_delete: i32 i32 i32 i32 -> i32
crdt_rga_values: i32 i32 i32 i32 -> i32
time_now: -> i64
time_monotonic: -> i64
random_bytes: i32 i32 -> i32
hash_sha256: i32 i32 i32 i32 -> i32
hash_blake3: i32 i32 i32 i32 -> i32
env_get: i32 i32 i32 i32 -> i32
module_id: i32 i32 -> i32
host_capabilities: i32 i32 -> i32
event_emit: i32 i32 i32 i32 -> i32
abort: i32 i32 ->
net_node_id: i32 i32 -> i32
net_peers: i32 i32 -> i32
host_log_v2: i32 i32 i32 -> | i32 i32 -> i32
event_subject: i32 i32 -> i32
event_payload: i32 i32 -> i32
event_origin: i32 i32 -> i32
tick_every: i32 -> i32
msg_subscribe: i32 i32 -> i32
msg_unsubscribe: i32 i32 -> i32
msg_publish: i32 i32 i32 i32 -> i32
req_method: i32 i32 -> i32
req_path: i32 i32 -> i32
req_query: i32 i32 -> i32
req_param: i32 i32 i32 i32 -> i32
req_header: i32 i32 i32 i32 -> i32
req_body: i32 i32 -> i32
resp_status: i32 -> i32
resp_header: i32 i32 i32 i32 -> i32
resp_write: i32 i32 -> i32
sse_start: -> i32
sse_send: i32 i32 i32 i32 -> i32
sse_forward: i32 i32 -> i32
ws_send: i32 i32 i32 -> i32
ws_forward: i32 i32 -> i32
route_add: i32 i32 i32 i32 i32 i32 -> i32
http_fetch: i32 i32 i32 i32 i32 i32 i32 i32 -> i32
http_response_headers: i32 i32 -> i32
http_response_body: i32 i32 -> i32
`;

/**
 * The declared type each `nx` function must have (HOST-ABI.md, plus the process functions of
 * process-signatures.ts), for the runtime's import validation. `host_log_v2` accepts either of
 * its two shapes.
 */
export const NX_FUNCTION_SIGNATURES: ReadonlyMap<string, readonly FunctionType[]> = new SignatureTable(
  NX_SIGNATURE_TEXT,
  PROCESS_SIGNATURE_TEXT,
);

function sameTypes(a: readonly ValueType[], b: readonly ValueType[]): boolean {
  return a.length === b.length && a.every((type, i) => type === b[i]);
}

/** True when `type` is one of the accepted declarations of `nx.<name>`. */
export function isNxSignature(name: string, type: FunctionType): boolean {
  const accepted = NX_FUNCTION_SIGNATURES.get(name);
  const matches = (want: FunctionType): boolean =>
    sameTypes(want.params, type.params) && sameTypes(want.results, type.results);
  return accepted?.some(matches) ?? false;
}

/** `(i32, i32) -> i32` style text of a type, for error messages. */
export function formatFunctionType(type: FunctionType): string {
  return `(${type.params.join(", ")}) -> ${type.results.length === 0 ? "()" : type.results.join(", ")}`;
}
