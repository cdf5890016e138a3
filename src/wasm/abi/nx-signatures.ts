import type { FunctionType, ValueType } from "../module-imports.ts";
import { onlyFunctionType as only, functionType as sig } from "./function-type-text.ts";
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
  ["db_get", only(I32x4, "i32")],
  ["db_set", only(I32x4, "i32")],
  ["db_delete", only(I32x2, "i32")],
  ["db_exists", only(I32x2, "i32")],
  ["db_scan", only(LISTING_BY_CURSOR, "i32")],
  ["db_scan_after", only(I32x7, "i32")],
  ["db_keys", only(LISTING_BY_CURSOR, "i32")],
  ["db_keys_after", only(I32x7, "i32")],
  ["crdt_gcounter_inc", only(KEY_AND_DELTA, "i32")],
  ["crdt_gcounter_value", only(I32x4, "i32")],
  ["crdt_pncounter_inc", only(KEY_AND_DELTA, "i32")],
  ["crdt_pncounter_dec", only(KEY_AND_DELTA, "i32")],
  ["crdt_pncounter_value", only(I32x4, "i32")],
  ["crdt_lww_set", only(I32x4, "i32")],
  ["crdt_lww_get", only(I32x4, "i32")],
  ["crdt_lww_map_set", only(I32x6, "i32")],
  ["crdt_lww_map_remove", only(I32x4, "i32")],
  ["crdt_lww_map_get", only(I32x6, "i32")],
  ["crdt_lww_map_contains", only(I32x4, "i32")],
  ["crdt_lww_map_entries", only(I32x4, "i32")],
  ["crdt_orset_add", only(I32x4, "i32")],
  ["crdt_orset_remove", only(I32x4, "i32")],
  ["crdt_orset_contains", only(I32x4, "i32")],
  ["crdt_orset_elements", only(I32x4, "i32")],
  ["crdt_rga_insert", only(I32x8, "i32")],
  ["crdt_rga_delete", only(I32x4, "i32")],
  ["crdt_rga_values", only(I32x4, "i32")],
  ["time_now", only("", "i64")],
  ["time_monotonic", only("", "i64")],
  ["random_bytes", only(I32x2, "i32")],
  ["hash_sha256", only(I32x4, "i32")],
  ["hash_blake3", only(I32x4, "i32")],
  ["env_get", only(I32x4, "i32")],
  ["module_id", only(I32x2, "i32")],
  ["host_capabilities", only(I32x2, "i32")],
  ["event_emit", only(I32x4, "i32")],
  ["abort", only(I32x2, "")],
  ["net_node_id", only(I32x2, "i32")],
  ["net_peers", only(I32x2, "i32")],
  ["host_log_v2", [sig("i32 i32 i32", ""), sig(I32x2, "i32")]],
  ["event_subject", only(I32x2, "i32")],
  ["event_payload", only(I32x2, "i32")],
  ["event_origin", only(I32x2, "i32")],
  ["tick_every", only("i32", "i32")],
  ["msg_subscribe", only(I32x2, "i32")],
  ["msg_unsubscribe", only(I32x2, "i32")],
  ["msg_publish", only(I32x4, "i32")],
  ["req_method", only(I32x2, "i32")],
  ["req_path", only(I32x2, "i32")],
  ["req_query", only(I32x2, "i32")],
  ["req_param", only(I32x4, "i32")],
  ["req_header", only(I32x4, "i32")],
  ["req_body", only(I32x2, "i32")],
  ["resp_status", only("i32", "i32")],
  ["resp_header", only(I32x4, "i32")],
  ["resp_write", only(I32x2, "i32")],
  ["sse_start", only("", "i32")],
  ["sse_send", only(I32x4, "i32")],
  ["sse_forward", only(I32x2, "i32")],
  ["ws_send", only("i32 i32 i32", "i32")],
  ["ws_forward", only(I32x2, "i32")],
  ["route_add", only(I32x6, "i32")],
  ["http_fetch", only(I32x8, "i32")],
  ["http_response_headers", only(I32x2, "i32")],
  ["http_response_body", only(I32x2, "i32")],
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
