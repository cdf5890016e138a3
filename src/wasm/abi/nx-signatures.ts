import type { FunctionType, ValueType } from "../module-imports.ts";
import { functionType as sig } from "./function-type-text.ts";
import { PROCESS_FUNCTION_SIGNATURES } from "./process-signatures.ts";

/** The import module of every Numax host function. */
export const NX_MODULE = "nx";

const I32x2 = "i32 i32";
const I32x4 = "i32 i32 i32 i32";
const I32x6 = "i32 i32 i32 i32 i32 i32";
const I32x7 = "i32 i32 i32 i32 i32 i32 i32";
const I32x8 = "i32 i32 i32 i32 i32 i32 i32 i32";
const LISTING_BY_CURSOR = "i32 i32 i64 i32 i32 i32";
const KEY_AND_DELTA = "i32 i32 i64";

/**
 * The declared type each `nx` function must have (HOST-ABI.md, plus the process functions of
 * process-signatures.ts), for the runtime's import validation. `host_log_v2` accepts either of
 * its two shapes.
 */
export const NX_FUNCTION_SIGNATURES: ReadonlyMap<string, readonly FunctionType[]> = new Map([
  ["db_get", [sig(I32x4, "i32")]],
  ["db_set", [sig(I32x4, "i32")]],
  ["db_delete", [sig(I32x2, "i32")]],
  ["db_exists", [sig(I32x2, "i32")]],
  ["db_scan", [sig(LISTING_BY_CURSOR, "i32")]],
  ["db_scan_after", [sig(I32x7, "i32")]],
  ["db_keys", [sig(LISTING_BY_CURSOR, "i32")]],
  ["db_keys_after", [sig(I32x7, "i32")]],
  ["crdt_gcounter_inc", [sig(KEY_AND_DELTA, "i32")]],
  ["crdt_gcounter_value", [sig(I32x4, "i32")]],
  ["crdt_pncounter_inc", [sig(KEY_AND_DELTA, "i32")]],
  ["crdt_pncounter_dec", [sig(KEY_AND_DELTA, "i32")]],
  ["crdt_pncounter_value", [sig(I32x4, "i32")]],
  ["crdt_lww_set", [sig(I32x4, "i32")]],
  ["crdt_lww_get", [sig(I32x4, "i32")]],
  ["crdt_lww_map_set", [sig(I32x6, "i32")]],
  ["crdt_lww_map_remove", [sig(I32x4, "i32")]],
  ["crdt_lww_map_get", [sig(I32x6, "i32")]],
  ["crdt_lww_map_contains", [sig(I32x4, "i32")]],
  ["crdt_lww_map_entries", [sig(I32x4, "i32")]],
  ["crdt_orset_add", [sig(I32x4, "i32")]],
  ["crdt_orset_remove", [sig(I32x4, "i32")]],
  ["crdt_orset_contains", [sig(I32x4, "i32")]],
  ["crdt_orset_elements", [sig(I32x4, "i32")]],
  ["crdt_rga_insert", [sig(I32x8, "i32")]],
  ["crdt_rga_delete", [sig(I32x4, "i32")]],
  ["crdt_rga_values", [sig(I32x4, "i32")]],
  ["time_now", [sig("", "i64")]],
  ["time_monotonic", [sig("", "i64")]],
  ["random_bytes", [sig(I32x2, "i32")]],
  ["hash_sha256", [sig(I32x4, "i32")]],
  ["hash_blake3", [sig(I32x4, "i32")]],
  ["env_get", [sig(I32x4, "i32")]],
  ["module_id", [sig(I32x2, "i32")]],
  ["host_capabilities", [sig(I32x2, "i32")]],
  ["event_emit", [sig(I32x4, "i32")]],
  ["abort", [sig(I32x2, "")]],
  ["net_node_id", [sig(I32x2, "i32")]],
  ["net_peers", [sig(I32x2, "i32")]],
  ["host_log_v2", [sig("i32 i32 i32", ""), sig(I32x2, "i32")]],
  ["event_subject", [sig(I32x2, "i32")]],
  ["event_payload", [sig(I32x2, "i32")]],
  ["event_origin", [sig(I32x2, "i32")]],
  ["tick_every", [sig("i32", "i32")]],
  ["msg_subscribe", [sig(I32x2, "i32")]],
  ["msg_unsubscribe", [sig(I32x2, "i32")]],
  ["msg_publish", [sig(I32x4, "i32")]],
  ["req_method", [sig(I32x2, "i32")]],
  ["req_path", [sig(I32x2, "i32")]],
  ["req_query", [sig(I32x2, "i32")]],
  ["req_param", [sig(I32x4, "i32")]],
  ["req_header", [sig(I32x4, "i32")]],
  ["req_body", [sig(I32x2, "i32")]],
  ["resp_status", [sig("i32", "i32")]],
  ["resp_header", [sig(I32x4, "i32")]],
  ["resp_write", [sig(I32x2, "i32")]],
  ["sse_start", [sig("", "i32")]],
  ["sse_send", [sig(I32x4, "i32")]],
  ["sse_forward", [sig(I32x2, "i32")]],
  ["ws_send", [sig("i32 i32 i32", "i32")]],
  ["ws_forward", [sig(I32x2, "i32")]],
  ["route_add", [sig(I32x6, "i32")]],
  ["http_fetch", [sig(I32x8, "i32")]],
  ["http_response_headers", [sig(I32x2, "i32")]],
  ["http_response_body", [sig(I32x2, "i32")]],
  ...PROCESS_FUNCTION_SIGNATURES,
]);

/** Every function name the `nx` module provides. */
export const NX_FUNCTION_NAMES: ReadonlySet<string> = new Set(NX_FUNCTION_SIGNATURES.keys());

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
