// The raw `nx` host ABI (HOST-ABI.md), one declaration per host function. The SDK's modules
// wrap these; guests that want the bare contract can call them through `abi.*`.
// AssemblyScript only emits an import for a declaration that the guest actually calls, so
// declaring the whole ABI here costs nothing in a module that uses part of it.
// Pointers and lengths are u32 (`usize` on wasm32); cursors and counter deltas are u64.

// --- local store ---------------------------------------------------------------------------

// @ts-ignore: decorator
@external("nx", "db_get")
export declare function db_get(keyPtr: usize, keyLen: usize, outPtr: usize, outCap: usize): i32;
// @ts-ignore: decorator
@external("nx", "db_set")
export declare function db_set(keyPtr: usize, keyLen: usize, valPtr: usize, valLen: usize): i32;
// @ts-ignore: decorator
@external("nx", "db_delete")
export declare function db_delete(keyPtr: usize, keyLen: usize): i32;
// @ts-ignore: decorator
@external("nx", "db_exists")
export declare function db_exists(keyPtr: usize, keyLen: usize): i32;
// @ts-ignore: decorator
@external("nx", "db_scan")
export declare function db_scan(
  prefixPtr: usize,
  prefixLen: usize,
  cursor: u64,
  limit: u32,
  outPtr: usize,
  outCap: usize,
): i32;
// @ts-ignore: decorator
@external("nx", "db_scan_after")
export declare function db_scan_after(
  prefixPtr: usize,
  prefixLen: usize,
  afterPtr: usize,
  afterLen: usize,
  limit: u32,
  outPtr: usize,
  outCap: usize,
): i32;
// @ts-ignore: decorator
@external("nx", "db_keys")
export declare function db_keys(
  prefixPtr: usize,
  prefixLen: usize,
  cursor: u64,
  limit: u32,
  outPtr: usize,
  outCap: usize,
): i32;
// @ts-ignore: decorator
@external("nx", "db_keys_after")
export declare function db_keys_after(
  prefixPtr: usize,
  prefixLen: usize,
  afterPtr: usize,
  afterLen: usize,
  limit: u32,
  outPtr: usize,
  outCap: usize,
): i32;

// --- replicated CRDTs (-5 on a node without sync) -------------------------------------------

// @ts-ignore: decorator
@external("nx", "crdt_gcounter_inc")
export declare function crdt_gcounter_inc(keyPtr: usize, keyLen: usize, delta: u64): i32;
// @ts-ignore: decorator
@external("nx", "crdt_gcounter_value")
export declare function crdt_gcounter_value(keyPtr: usize, keyLen: usize, outPtr: usize, outCap: usize): i32;
// @ts-ignore: decorator
@external("nx", "crdt_pncounter_inc")
export declare function crdt_pncounter_inc(keyPtr: usize, keyLen: usize, delta: u64): i32;
// @ts-ignore: decorator
@external("nx", "crdt_pncounter_dec")
export declare function crdt_pncounter_dec(keyPtr: usize, keyLen: usize, delta: u64): i32;
// @ts-ignore: decorator
@external("nx", "crdt_pncounter_value")
export declare function crdt_pncounter_value(keyPtr: usize, keyLen: usize, outPtr: usize, outCap: usize): i32;
// @ts-ignore: decorator
@external("nx", "crdt_lww_set")
export declare function crdt_lww_set(keyPtr: usize, keyLen: usize, valPtr: usize, valLen: usize): i32;
// @ts-ignore: decorator
@external("nx", "crdt_lww_get")
export declare function crdt_lww_get(keyPtr: usize, keyLen: usize, outPtr: usize, outCap: usize): i32;
// @ts-ignore: decorator
@external("nx", "crdt_lww_map_set")
export declare function crdt_lww_map_set(
  keyPtr: usize,
  keyLen: usize,
  fieldPtr: usize,
  fieldLen: usize,
  valPtr: usize,
  valLen: usize,
): i32;
// @ts-ignore: decorator
@external("nx", "crdt_lww_map_remove")
export declare function crdt_lww_map_remove(keyPtr: usize, keyLen: usize, fieldPtr: usize, fieldLen: usize): i32;
// @ts-ignore: decorator
@external("nx", "crdt_lww_map_get")
export declare function crdt_lww_map_get(
  keyPtr: usize,
  keyLen: usize,
  fieldPtr: usize,
  fieldLen: usize,
  outPtr: usize,
  outCap: usize,
): i32;
// @ts-ignore: decorator
@external("nx", "crdt_lww_map_contains")
export declare function crdt_lww_map_contains(keyPtr: usize, keyLen: usize, fieldPtr: usize, fieldLen: usize): i32;
// @ts-ignore: decorator
@external("nx", "crdt_lww_map_entries")
export declare function crdt_lww_map_entries(keyPtr: usize, keyLen: usize, outPtr: usize, outCap: usize): i32;
// @ts-ignore: decorator
@external("nx", "crdt_orset_add")
export declare function crdt_orset_add(keyPtr: usize, keyLen: usize, elemPtr: usize, elemLen: usize): i32;
// @ts-ignore: decorator
@external("nx", "crdt_orset_remove")
export declare function crdt_orset_remove(keyPtr: usize, keyLen: usize, elemPtr: usize, elemLen: usize): i32;
// @ts-ignore: decorator
@external("nx", "crdt_orset_contains")
export declare function crdt_orset_contains(keyPtr: usize, keyLen: usize, elemPtr: usize, elemLen: usize): i32;
// @ts-ignore: decorator
@external("nx", "crdt_orset_elements")
export declare function crdt_orset_elements(keyPtr: usize, keyLen: usize, outPtr: usize, outCap: usize): i32;
// @ts-ignore: decorator
@external("nx", "crdt_rga_insert")
export declare function crdt_rga_insert(
  keyPtr: usize,
  keyLen: usize,
  parentPtr: usize,
  parentLen: usize,
  valPtr: usize,
  valLen: usize,
  outIdPtr: usize,
  outIdCap: usize,
): i32;
// @ts-ignore: decorator
@external("nx", "crdt_rga_delete")
export declare function crdt_rga_delete(keyPtr: usize, keyLen: usize, idPtr: usize, idLen: usize): i32;
// @ts-ignore: decorator
@external("nx", "crdt_rga_values")
export declare function crdt_rga_values(keyPtr: usize, keyLen: usize, outPtr: usize, outCap: usize): i32;

// --- time, crypto ---------------------------------------------------------------------------

// @ts-ignore: decorator
@external("nx", "time_now")
export declare function time_now(): u64;
// @ts-ignore: decorator
@external("nx", "time_monotonic")
export declare function time_monotonic(): u64;
// @ts-ignore: decorator
@external("nx", "random_bytes")
export declare function random_bytes(outPtr: usize, outLen: usize): i32;
// @ts-ignore: decorator
@external("nx", "hash_sha256")
export declare function hash_sha256(inPtr: usize, inLen: usize, outPtr: usize, outCap: usize): i32;
// @ts-ignore: decorator
@external("nx", "hash_blake3")
export declare function hash_blake3(inPtr: usize, inLen: usize, outPtr: usize, outCap: usize): i32;

// --- system ---------------------------------------------------------------------------------

// @ts-ignore: decorator
@external("nx", "env_get")
export declare function env_get(keyPtr: usize, keyLen: usize, outPtr: usize, outCap: usize): i32;
// @ts-ignore: decorator
@external("nx", "module_id")
export declare function module_id(outPtr: usize, outCap: usize): i32;
// @ts-ignore: decorator
@external("nx", "host_capabilities")
export declare function host_capabilities(outPtr: usize, outCap: usize): i32;
// @ts-ignore: decorator
@external("nx", "event_emit")
export declare function event_emit(namePtr: usize, nameLen: usize, payloadPtr: usize, payloadLen: usize): i32;
// @ts-ignore: decorator
@external("nx", "abort")
export declare function abort(msgPtr: usize, msgLen: usize): void;

// --- network (-5 on a node without sync) ----------------------------------------------------

// @ts-ignore: decorator
@external("nx", "net_node_id")
export declare function net_node_id(outPtr: usize, outCap: usize): i32;
// @ts-ignore: decorator
@external("nx", "net_peers")
export declare function net_peers(outPtr: usize, outCap: usize): i32;

// --- events of reactive modules (docs/design/event-model.md) --------------------------------

// The data of the event being delivered: -1 outside a callback that has it, -2 to retry larger.
// @ts-ignore: decorator
@external("nx", "event_subject")
export declare function event_subject(outPtr: usize, outCap: usize): i32;
// @ts-ignore: decorator
@external("nx", "event_payload")
export declare function event_payload(outPtr: usize, outCap: usize): i32;
// @ts-ignore: decorator
@external("nx", "event_origin")
export declare function event_origin(outPtr: usize, outCap: usize): i32;
// @ts-ignore: decorator
@external("nx", "tick_every")
export declare function tick_every(ms: u32): i32;
// @ts-ignore: decorator
@external("nx", "msg_subscribe")
export declare function msg_subscribe(patternPtr: usize, patternLen: usize): i32;
// @ts-ignore: decorator
@external("nx", "msg_unsubscribe")
export declare function msg_unsubscribe(patternPtr: usize, patternLen: usize): i32;
// @ts-ignore: decorator
@external("nx", "msg_publish")
export declare function msg_publish(topicPtr: usize, topicLen: usize, payloadPtr: usize, payloadLen: usize): i32;

// --- log ------------------------------------------------------------------------------------

// The (level, ptr, len) shape; levels 0 trace, 1 debug, 2 info, 3 warn, 4 error.
// @ts-ignore: decorator
@external("nx", "host_log_v2")
export declare function host_log_v2(level: u32, msgPtr: usize, msgLen: usize): void;


// --- HTTP requests (docs/serving.md) ----------------------------------------------------------

// @ts-ignore: decorator
@external("nx", "req_method")
export declare function req_method(outPtr: usize, outCap: usize): i32;
// @ts-ignore: decorator
@external("nx", "req_path")
export declare function req_path(outPtr: usize, outCap: usize): i32;
// @ts-ignore: decorator
@external("nx", "req_query")
export declare function req_query(outPtr: usize, outCap: usize): i32;
// @ts-ignore: decorator
@external("nx", "req_param")
export declare function req_param(namePtr: usize, nameLen: usize, outPtr: usize, outCap: usize): i32;
// @ts-ignore: decorator
@external("nx", "req_header")
export declare function req_header(namePtr: usize, nameLen: usize, outPtr: usize, outCap: usize): i32;
// @ts-ignore: decorator
@external("nx", "req_body")
export declare function req_body(outPtr: usize, outCap: usize): i32;
// @ts-ignore: decorator
@external("nx", "resp_status")
export declare function resp_status(status: u32): i32;
// @ts-ignore: decorator
@external("nx", "resp_header")
export declare function resp_header(namePtr: usize, nameLen: usize, valuePtr: usize, valueLen: usize): i32;
// @ts-ignore: decorator
@external("nx", "resp_write")
export declare function resp_write(ptr: usize, len: usize): i32;
// @ts-ignore: decorator
@external("nx", "sse_start")
export declare function sse_start(): i32;
// @ts-ignore: decorator
@external("nx", "sse_send")
export declare function sse_send(namePtr: usize, nameLen: usize, dataPtr: usize, dataLen: usize): i32;
// @ts-ignore: decorator
@external("nx", "sse_forward")
export declare function sse_forward(patternPtr: usize, patternLen: usize): i32;

@external("nx", "ws_send")
export declare function ws_send(dataPtr: usize, dataLen: usize, binary: i32): i32;

@external("nx", "ws_forward")
export declare function ws_forward(patternPtr: usize, patternLen: usize): i32;
// @ts-ignore: decorator
@external("nx", "http_fetch")
export declare function http_fetch(methodPtr: usize, methodLen: usize, urlPtr: usize, urlLen: usize, headersPtr: usize, headersLen: usize, bodyPtr: usize, bodyLen: usize): i32;
// @ts-ignore: decorator
@external("nx", "http_response_headers")
export declare function http_response_headers(outPtr: usize, outCap: usize): i32;
// @ts-ignore: decorator
@external("nx", "http_response_body")
export declare function http_response_body(outPtr: usize, outCap: usize): i32;
// @ts-ignore: decorator
@external("nx", "route_add")
export declare function route_add(methodPtr: usize, methodLen: usize, pathPtr: usize, pathLen: usize, handlerPtr: usize, handlerLen: usize): i32;
