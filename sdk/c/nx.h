/*
 * nx.h: the Numax guest ABI for C, C++ and Zig guests compiled to wasm32.
 *
 * Every host function of the `nx` import module (docs/host-api.md, HOST-ABI.md), its return
 * codes and limits, and a few inline helpers. No libc is needed:
 *
 *   clang --target=wasm32 -O2 -nostdlib -ffreestanding -I sdk/c -Wl,--no-entry -o hello.wasm hello.c
 *
 *   #include "nx.h"
 *   NX_EXPORT(run) void run(void) { nx_log(NX_LOG_INFO, "hello from C"); }
 *
 * A reactive module exports callbacks (init, on_tick, ...) instead of, or besides, `run`.
 *
 * Conventions: byte strings are (pointer, length) pairs; read-style functions write into
 * (out, out_cap) and return the number of bytes written, or a negative NX_ERR_* code. On
 * NX_ERR_BUFFER_TOO_SMALL retry with a larger buffer. Structured outputs use little-endian u32
 * fields (read them with nx_u32le).
 *
 * The C names carry an `nx_` prefix (the import names do not), so `nx_abort` never clashes
 * with libc's abort. Zig: `const nx = @cImport(@cInclude("nx.h"));`.
 */
#ifndef NX_H
#define NX_H

#if !defined(__wasm32__)
#error "nx.h declares WebAssembly imports: compile with --target=wasm32"
#endif

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- return codes ---------------------------------------------------------------------- */

#define NX_OK 0
/** key / value / resource absent */
#define NX_ERR_NOT_FOUND (-1)
/** out_cap too small: retry with a larger buffer */
#define NX_ERR_BUFFER_TOO_SMALL (-2)
/** runtime error, invalid pointer or length, limit exceeded */
#define NX_ERR_INTERNAL (-3)
/** key or prefix in the runtime's namespace (`__nx/`) */
#define NX_ERR_RESERVED_KEY (-4)
/** a sync-only function on a node without sync */
#define NX_ERR_SYNC_DISABLED (-5)
/** http_fetch: the URL's host is not in the module's http_fetch_hosts; nothing was sent */
#define NX_ERR_FETCH_DENIED (-6)
/** http_fetch: connection refused, DNS or TLS failure, or a time limit (10 s to headers, 30 s in all) */
#define NX_ERR_FETCH_FAILED (-7)
/** http_fetch: the response body is over NX_HTTP_FETCH_RESPONSE_BYTES_MAX */
#define NX_ERR_FETCH_TOO_LARGE (-8)
/** a rate quota (ops_per_sec, bytes_written_per_sec) would make the call wait too long: it did nothing; retry later */
#define NX_ERR_RATE_LIMITED (-9)
/** crdt_* writes: the op would not fit one sync message (max_message_size); nothing was written */
#define NX_ERR_OP_TOO_LARGE (-10)

/* ---- limits (bytes) -------------------------------------------------------------------- */

#define NX_KEY_BYTES_MAX 1024u
#define NX_VALUE_BYTES_MAX (1024u * 1024u)
#define NX_OUTPUT_BYTES_MAX (10u * 1024u * 1024u)
#define NX_RANDOM_BYTES_MAX (1024u * 1024u)
#define NX_LOG_BYTES_MAX (8u * 1024u)
/** Largest response body http_fetch hands over. */
#define NX_HTTP_FETCH_RESPONSE_BYTES_MAX (8u * 1024u * 1024u)
/** Length of a SHA-256 or BLAKE3 digest. */
#define NX_DIGEST_BYTES 32u

/* ---- log levels ------------------------------------------------------------------------ */

#define NX_LOG_TRACE 0u
#define NX_LOG_DEBUG 1u
#define NX_LOG_INFO 2u
#define NX_LOG_WARN 3u
#define NX_LOG_ERROR 4u

#define NX_IMPORT(name) __attribute__((import_module("nx"), import_name(#name)))

/* ---- local store (never replicated by itself) ------------------------------------------ */

/** Value of `key` into `out`: its length, NX_ERR_NOT_FOUND or NX_ERR_BUFFER_TOO_SMALL. */
NX_IMPORT(db_get) int32_t nx_db_get(const void *key, uint32_t key_len, void *out, uint32_t out_cap);
NX_IMPORT(db_set) int32_t nx_db_set(const void *key, uint32_t key_len, const void *val, uint32_t val_len);
/** NX_OK, also when the key was absent. */
NX_IMPORT(db_delete) int32_t nx_db_delete(const void *key, uint32_t key_len);
/** 1 present, 0 absent. */
NX_IMPORT(db_exists) int32_t nx_db_exists(const void *key, uint32_t key_len);
/**
 * Rows whose key starts with `prefix`, in key order, skipping `cursor` rows, at most `limit`.
 * Output: u32 count, then per row u32 key_len, u32 value_len, key bytes, value bytes.
 */
NX_IMPORT(db_scan)
int32_t nx_db_scan(const void *prefix, uint32_t prefix_len, uint64_t cursor, uint32_t limit, void *out,
                   uint32_t out_cap);
/** As nx_db_scan, rows with key > `after` (after_len 0: from the first). */
NX_IMPORT(db_scan_after)
int32_t nx_db_scan_after(const void *prefix, uint32_t prefix_len, const void *after, uint32_t after_len,
                         uint32_t limit, void *out, uint32_t out_cap);
/** Keys only. Output: u32 count, then per key u32 key_len, key bytes. */
NX_IMPORT(db_keys)
int32_t nx_db_keys(const void *prefix, uint32_t prefix_len, uint64_t cursor, uint32_t limit, void *out,
                   uint32_t out_cap);
NX_IMPORT(db_keys_after)
int32_t nx_db_keys_after(const void *prefix, uint32_t prefix_len, const void *after, uint32_t after_len,
                         uint32_t limit, void *out, uint32_t out_cap);

/* ---- replicated CRDTs (NX_ERR_SYNC_DISABLED on a node without sync) --------------------- */

/** Saturating add. */
NX_IMPORT(crdt_gcounter_inc) int32_t nx_crdt_gcounter_inc(const void *key, uint32_t key_len, uint64_t delta);
/** Writes the value as u64 little-endian; returns 8. */
NX_IMPORT(crdt_gcounter_value)
int32_t nx_crdt_gcounter_value(const void *key, uint32_t key_len, void *out, uint32_t out_cap);
NX_IMPORT(crdt_pncounter_inc) int32_t nx_crdt_pncounter_inc(const void *key, uint32_t key_len, uint64_t delta);
NX_IMPORT(crdt_pncounter_dec) int32_t nx_crdt_pncounter_dec(const void *key, uint32_t key_len, uint64_t delta);
/** Writes the value as i64 little-endian; returns 8. */
NX_IMPORT(crdt_pncounter_value)
int32_t nx_crdt_pncounter_value(const void *key, uint32_t key_len, void *out, uint32_t out_cap);
/** The host stamps time and NodeId; this node's own writes stay ordered. */
NX_IMPORT(crdt_lww_set) int32_t nx_crdt_lww_set(const void *key, uint32_t key_len, const void *val, uint32_t val_len);
/** Bytes, or NX_ERR_NOT_FOUND when never set. */
NX_IMPORT(crdt_lww_get) int32_t nx_crdt_lww_get(const void *key, uint32_t key_len, void *out, uint32_t out_cap);
NX_IMPORT(crdt_lww_map_set)
int32_t nx_crdt_lww_map_set(const void *key, uint32_t key_len, const void *field, uint32_t field_len, const void *val,
                            uint32_t val_len);
/** Tombstone: older concurrent writes do not bring the field back. */
NX_IMPORT(crdt_lww_map_remove)
int32_t nx_crdt_lww_map_remove(const void *key, uint32_t key_len, const void *field, uint32_t field_len);
/** NX_ERR_NOT_FOUND when absent or removed. */
NX_IMPORT(crdt_lww_map_get)
int32_t nx_crdt_lww_map_get(const void *key, uint32_t key_len, const void *field, uint32_t field_len, void *out,
                            uint32_t out_cap);
/** 1 / 0. */
NX_IMPORT(crdt_lww_map_contains)
int32_t nx_crdt_lww_map_contains(const void *key, uint32_t key_len, const void *field, uint32_t field_len);
/** Output: u32 count, then per entry u32 field_len, field, u32 value_len, value; field order. */
NX_IMPORT(crdt_lww_map_entries)
int32_t nx_crdt_lww_map_entries(const void *key, uint32_t key_len, void *out, uint32_t out_cap);
NX_IMPORT(crdt_orset_add)
int32_t nx_crdt_orset_add(const void *key, uint32_t key_len, const void *elem, uint32_t elem_len);
/** Removes the tags this node has observed: a concurrent add survives. */
NX_IMPORT(crdt_orset_remove)
int32_t nx_crdt_orset_remove(const void *key, uint32_t key_len, const void *elem, uint32_t elem_len);
/** 1 / 0. */
NX_IMPORT(crdt_orset_contains)
int32_t nx_crdt_orset_contains(const void *key, uint32_t key_len, const void *elem, uint32_t elem_len);
/** Output: u32 count, then per element u32 len, bytes; sorted. */
NX_IMPORT(crdt_orset_elements)
int32_t nx_crdt_orset_elements(const void *key, uint32_t key_len, void *out, uint32_t out_cap);
/** Inserts after `parent` (parent_len 0: at the head); writes the new element id, returns its length. */
NX_IMPORT(crdt_rga_insert)
int32_t nx_crdt_rga_insert(const void *key, uint32_t key_len, const void *parent, uint32_t parent_len,
                           const void *val, uint32_t val_len, void *out_id, uint32_t out_id_cap);
/** Tombstone; elements inserted after it stay visible. */
NX_IMPORT(crdt_rga_delete)
int32_t nx_crdt_rga_delete(const void *key, uint32_t key_len, const void *id, uint32_t id_len);
/** Output: u32 count, then per value u32 len, bytes; sequence order. */
NX_IMPORT(crdt_rga_values) int32_t nx_crdt_rga_values(const void *key, uint32_t key_len, void *out, uint32_t out_cap);

/* ---- time, crypto ---------------------------------------------------------------------- */

/** Unix time in milliseconds. */
NX_IMPORT(time_now) uint64_t nx_time_now(void);
/** Milliseconds since the runtime started; never decreases. */
NX_IMPORT(time_monotonic) uint64_t nx_time_monotonic(void);
/** Fills `out` from the CSPRNG (at most NX_RANDOM_BYTES_MAX per call); returns out_len. */
NX_IMPORT(random_bytes) int32_t nx_random_bytes(void *out, uint32_t out_len);
/** Writes the 32-byte digest; returns 32. */
NX_IMPORT(hash_sha256) int32_t nx_hash_sha256(const void *in, uint32_t in_len, void *out, uint32_t out_cap);
NX_IMPORT(hash_blake3) int32_t nx_hash_blake3(const void *in, uint32_t in_len, void *out, uint32_t out_cap);

/* ---- system ---------------------------------------------------------------------------- */

/** Only names starting NX_ or NUMAX_ are visible; others answer NX_ERR_NOT_FOUND. */
NX_IMPORT(env_get) int32_t nx_env_get(const void *name, uint32_t name_len, void *out, uint32_t out_cap);
NX_IMPORT(module_id) int32_t nx_module_id(void *out, uint32_t out_cap);
/** Capability names joined by '\n'. */
NX_IMPORT(host_capabilities) int32_t nx_host_capabilities(void *out, uint32_t out_cap);
/** name: non-empty ASCII letters, digits and `_ - . :`. */
NX_IMPORT(event_emit)
int32_t nx_event_emit(const void *name, uint32_t name_len, const void *payload, uint32_t payload_len);
/** Ends the guest with `msg` as a trap; does not return. */
NX_IMPORT(abort) __attribute__((noreturn)) void nx_abort(const void *msg, uint32_t msg_len);

/* ---- network (NX_ERR_SYNC_DISABLED on a node without sync) ------------------------------ */

NX_IMPORT(net_node_id) int32_t nx_net_node_id(void *out, uint32_t out_cap);
/** Output: u32 count, then per peer u32 addr_len, u32 node_id_len, addr, node_id. */
NX_IMPORT(net_peers) int32_t nx_net_peers(void *out, uint32_t out_cap);

/* ---- log ------------------------------------------------------------------------------- */

/** Levels NX_LOG_TRACE .. NX_LOG_ERROR; the host shows at most NX_LOG_BYTES_MAX bytes. */
NX_IMPORT(host_log_v2) void nx_host_log_v2(uint32_t level, const void *msg, uint32_t msg_len);

/* ---- processes (docs/host-api.md "Processes"; -3 when the guest is not run as a process) -- */

/** Message kinds of the receive header. */
#define NX_MSG_DATA 0u
#define NX_MSG_DOWN 1u
#define NX_MSG_EXIT 2u
#define NX_MSG_VALUE 3u
/** Receive output: u32 kind, u32 from, u32 payload_len, then the payload. */
#define NX_MSG_HEADER_BYTES 12u
/** proc_spawn flags: link the child to the caller, monitor it (atomically with the spawn). */
#define NX_SPAWN_LINK 1u
#define NX_SPAWN_MONITOR 2u
/** timeout_ms for waiting without limit. */
#define NX_WAIT_FOREVER (-1)

/** This process's pid (> 0). */
NX_IMPORT(proc_self) int32_t nx_proc_self(void);
/**
 * Spawns `entry` (len 0: "run") of module `module` (len 0: this guest's own) with capability
 * `profile` (len 0: "sandboxed"; never above the caller's); `arg` (len 0: none) is the child's
 * first message. The child's pid, NX_ERR_NOT_FOUND (module or entry unknown) or NX_ERR_INTERNAL.
 */
NX_IMPORT(proc_spawn)
int32_t nx_proc_spawn(const void *module, uint32_t module_len, const void *entry, uint32_t entry_len,
                      const void *profile, uint32_t profile_len, const void *arg, uint32_t arg_len,
                      uint32_t flags);
/** Sends a copy of the bytes: NX_OK, or NX_ERR_NOT_FOUND when `pid` is not alive. */
NX_IMPORT(proc_send) int32_t nx_proc_send(int32_t pid, const void *msg, uint32_t msg_len);
/**
 * The oldest message into `out` (header + payload): bytes written, NX_ERR_NOT_FOUND after
 * `timeout_ms` (0: poll, NX_WAIT_FOREVER: no limit), NX_ERR_BUFFER_TOO_SMALL (the size needed is
 * at `out` as a u32; the message stays first). Blocks this guest only.
 */
NX_IMPORT(proc_receive) int32_t nx_proc_receive(void *out, uint32_t out_cap, int32_t timeout_ms);
/**
 * Selective receive: the oldest message whose kind bit is in `kinds` (0: any), sent by `from`
 * (0: any), whose payload starts with `prefix` (len 0: any). Others stay queued, in order.
 */
NX_IMPORT(proc_receive_match)
int32_t nx_proc_receive_match(uint32_t kinds, int32_t from, const void *prefix, uint32_t prefix_len,
                              void *out, uint32_t out_cap, int32_t timeout_ms);
/** NX_OK, or NX_ERR_NOT_FOUND when `pid` is not alive. */
NX_IMPORT(proc_link) int32_t nx_proc_link(int32_t pid);
NX_IMPORT(proc_unlink) int32_t nx_proc_unlink(int32_t pid);
/** NX_OK; an NX_MSG_DOWN message follows `pid`'s end (at once, reason "noproc", if it is gone). */
NX_IMPORT(proc_monitor) int32_t nx_proc_monitor(int32_t pid);
/** 1 when a monitor of `pid` was active, else 0; a queued DOWN from `pid` is dropped. */
NX_IMPORT(proc_demonitor) int32_t nx_proc_demonitor(int32_t pid);
/** Linked exits become NX_MSG_EXIT messages while enabled; returns the previous setting. */
NX_IMPORT(proc_trap_exit) int32_t nx_proc_trap_exit(uint32_t enabled);
/** Registers this process under `name` (1..255 bytes; names starting "__nx" answer NX_ERR_RESERVED_KEY). */
NX_IMPORT(proc_register) int32_t nx_proc_register(const void *name, uint32_t name_len);
/** Releases `name` if this process holds it, else NX_ERR_NOT_FOUND. */
NX_IMPORT(proc_unregister) int32_t nx_proc_unregister(const void *name, uint32_t name_len);
/** The pid registered as `name`, or NX_ERR_NOT_FOUND. */
NX_IMPORT(proc_whereis) int32_t nx_proc_whereis(const void *name, uint32_t name_len);
/** Ends this process with `reason` (len 0: "normal"); returns only on a bad range. */
NX_IMPORT(proc_exit) int32_t nx_proc_exit(const void *reason, uint32_t reason_len);

/* ---- reactive modules (docs/design/event-model.md) -------------------------------------- */

/**
 * A module that exports any of these callbacks is reactive: the node calls `init` once (and
 * after every restart), then the callbacks one at a time as events arrive, and `shutdown` at
 * graceful shutdown; memory persists between calls. Signatures are exact:
 *
 *   NX_EXPORT(init) void init(void);
 *   NX_EXPORT(shutdown) void shutdown(void);
 *   NX_EXPORT(on_tick) void on_tick(void);
 *   NX_EXPORT(on_remote_op) void on_remote_op(int32_t key_len, int32_t family);
 *   NX_EXPORT(on_peer_connected) void on_peer_connected(int32_t node_id_len);
 *   NX_EXPORT(on_peer_disconnected) void on_peer_disconnected(int32_t node_id_len);
 *   NX_EXPORT(on_message) void on_message(int32_t topic_len, int32_t payload_len);
 *
 * The lengths say how large a buffer nx_event_subject / nx_event_payload need.
 */

/** CRDT families of on_remote_op (nx_family_name gives the --print-* spelling). */
#define NX_FAMILY_GCOUNTER 1
#define NX_FAMILY_PNCOUNTER 2
#define NX_FAMILY_LWW_REGISTER 3
#define NX_FAMILY_LWW_MAP 4
#define NX_FAMILY_ORSET 5
#define NX_FAMILY_RGA 6

/** Shortest tick period nx_tick_every accepts, in milliseconds. */
#define NX_TICK_INTERVAL_MIN_MS 10u
/** Most subscription patterns one module holds. */
#define NX_SUBSCRIPTIONS_PER_MODULE_MAX 64u
/** Longest topic or pattern: ASCII letters, digits and `_ - . : /` (a pattern may end with `*`). */
#define NX_TOPIC_MAX_BYTES 256u
/** Largest message payload. */
#define NX_MESSAGE_PAYLOAD_MAX_BYTES (64u * 1024u)

/**
 * The key (on_remote_op), the peer's NodeId as 32 hex characters (on_peer_*) or the topic
 * (on_message): bytes written, NX_ERR_NOT_FOUND outside such a callback, NX_ERR_BUFFER_TOO_SMALL.
 */
NX_IMPORT(event_subject) int32_t nx_event_subject(void *out, uint32_t out_cap);
/** The message payload in on_message (0 bytes for an empty one), else NX_ERR_NOT_FOUND. */
NX_IMPORT(event_payload) int32_t nx_event_payload(void *out, uint32_t out_cap);
/** The NodeId the event came from (op origin, peer, publisher); NX_ERR_NOT_FOUND when none. */
NX_IMPORT(event_origin) int32_t nx_event_origin(void *out, uint32_t out_cap);
/**
 * Calls on_tick every `ms` from now on (0 stops); NX_ERR_INTERNAL below NX_TICK_INTERVAL_MIN_MS,
 * NX_ERR_NOT_FOUND when the module exports no on_tick.
 */
NX_IMPORT(tick_every) int32_t nx_tick_every(uint32_t ms);
/**
 * Delivers messages on topics `pattern` matches (a topic, or a prefix and a trailing `*`) to
 * on_message. NX_OK (also when already subscribed); NX_ERR_INTERNAL for an invalid pattern or
 * past NX_SUBSCRIPTIONS_PER_MODULE_MAX; NX_ERR_NOT_FOUND when the module exports no on_message.
 */
NX_IMPORT(msg_subscribe) int32_t nx_msg_subscribe(const void *pattern, uint32_t pattern_len);
/** NX_OK, or NX_ERR_NOT_FOUND when not subscribed to exactly `pattern`. */
NX_IMPORT(msg_unsubscribe) int32_t nx_msg_unsubscribe(const void *pattern, uint32_t pattern_len);
/**
 * Publishes to every subscribed module on this node and on the connected peers (at most once,
 * in order from this node). NX_OK; NX_ERR_INTERNAL for an invalid topic or a payload over
 * NX_MESSAGE_PAYLOAD_MAX_BYTES.
 */
NX_IMPORT(msg_publish)
int32_t nx_msg_publish(const void *topic, uint32_t topic_len, const void *payload, uint32_t payload_len);

/* ---- HTTP handlers (docs/serving.md) ----------------------------------------------------
 * A handler is an exported function `() -> ()` named by a route; each request runs it in a
 * fresh instance. Outside a request every req_* / resp_* call answers NX_ERR_NOT_FOUND. Readers
 * answer the byte count, or NX_ERR_BUFFER_TOO_SMALL with the size needed at `out` (retry). */

/** Declares a default route `METHOD path` to the exported `handler`; only inside `routes()`. */
NX_IMPORT(route_add)
int32_t nx_route_add(const char *method, uint32_t method_len, const char *path, uint32_t path_len,
                     const char *handler, uint32_t handler_len);
NX_IMPORT(req_method) int32_t nx_req_method(void *out, uint32_t out_cap);
/** The path without the query, percent-decoded. */
NX_IMPORT(req_path) int32_t nx_req_path(void *out, uint32_t out_cap);
/** The raw query string without `?` (0 bytes when none). */
NX_IMPORT(req_query) int32_t nx_req_query(void *out, uint32_t out_cap);
/** Route parameter `name` (`*` names the wildcard's tail), percent-decoded; NX_ERR_NOT_FOUND when absent. */
NX_IMPORT(req_param)
int32_t nx_req_param(const char *name, uint32_t name_len, void *out, uint32_t out_cap);
/** Header value (name case-insensitive; repeated headers joined with ", "); NX_ERR_NOT_FOUND when absent. */
NX_IMPORT(req_header)
int32_t nx_req_header(const char *name, uint32_t name_len, void *out, uint32_t out_cap);
/** The whole request body (bounded by the listener's max_body). */
NX_IMPORT(req_body) int32_t nx_req_body(void *out, uint32_t out_cap);
/** NX_OK; NX_ERR_INTERNAL outside 200..599. */
NX_IMPORT(resp_status) int32_t nx_resp_status(uint32_t status);
/** NX_OK; NX_ERR_INTERNAL for an invalid name or value (CR, LF, NUL) or a framing header. */
NX_IMPORT(resp_header)
int32_t nx_resp_header(const char *name, uint32_t name_len, const char *value, uint32_t value_len);
/** NX_OK; appends to the body; NX_ERR_INTERNAL past 16 MiB in all (or 1 MiB in one call). */
NX_IMPORT(resp_write) int32_t nx_resp_write(const void *bytes, uint32_t len);
/**
 * NX_OK: the response becomes a server-sent event stream (text/event-stream), its head sent now;
 * NX_ERR_INTERNAL once started or past the listener's max_sse_streams (return: the client gets 503).
 */
NX_IMPORT(sse_start) int32_t nx_sse_start(void);
/**
 * NX_OK: writes one event (`name_len` 0: the default event; each line of `data` a `data:` line);
 * NX_ERR_NOT_FOUND before nx_sse_start; NX_ERR_INTERNAL for a name with CR/LF or a closed stream.
 */
NX_IMPORT(sse_send)
int32_t nx_sse_send(const char *name, uint32_t name_len, const void *data, uint32_t data_len);
/**
 * NX_OK: module messages on topics `pattern` matches (a prefix ending in an asterisk) become events named by their
 * topic until the stream ends; NX_ERR_NOT_FOUND before nx_sse_start; NX_ERR_INTERNAL for an
 * invalid pattern or more than 16 per stream.
 */
NX_IMPORT(sse_forward) int32_t nx_sse_forward(const char *pattern, uint32_t pattern_len);

/* WebSockets (docs/serving.md "WebSockets"): a handler of a WS route (nx_route_add("WS", 2, ...))
 * is reached by an upgrade only, and lives as long as its connection. Each frame the client sends arrives as a data message from pid 0 (nx_proc_receive)
 * whose payload is one byte, NX_WS_TEXT or NX_WS_BINARY, then the frame's bytes. */
#define NX_WS_TEXT 0u
#define NX_WS_BINARY 1u
/**
 * NX_OK: sends one frame (`binary` 0: text, else binary); NX_ERR_NOT_FOUND when the request is
 * not a WebSocket; NX_ERR_INTERNAL over 1 MiB or once the connection is closed.
 */
NX_IMPORT(ws_send) int32_t nx_ws_send(const void *data, uint32_t len, int32_t binary);
/**
 * NX_OK: module messages on topics `pattern` matches become text frames
 * {"topic":"..","data":".."} until the connection closes; NX_ERR_NOT_FOUND when the request is
 * not a WebSocket; NX_ERR_INTERNAL for an invalid pattern or more than 16 per connection.
 */
NX_IMPORT(ws_forward) int32_t nx_ws_forward(const char *pattern, uint32_t pattern_len);

/* ---- outbound HTTP (docs/host-api.md, "Outbound HTTP") --------------------------------
 * http_fetch suspends the guest until the response is in (the node serves others meanwhile).
 * `headers` is `Name: value` lines separated by "\n" (headers_len 0: none); body_len 0: no body.
 * Only hosts in the module's http_fetch_hosts (numax.toml) are reached. */

/** The response status (100..599), or NX_ERR_FETCH_DENIED / _FAILED / _TOO_LARGE, NX_ERR_INTERNAL. */
NX_IMPORT(http_fetch)
int32_t nx_http_fetch(const char *method, uint32_t method_len, const char *url, uint32_t url_len,
                      const char *headers, uint32_t headers_len, const void *body, uint32_t body_len);
/** The latest response's headers, `name: value\n` lines (names lowercase); NX_ERR_NOT_FOUND when none. */
NX_IMPORT(http_response_headers) int32_t nx_http_response_headers(void *out, uint32_t out_cap);
/** The latest response's body; NX_ERR_NOT_FOUND when none. Readable until the next http_fetch. */
NX_IMPORT(http_response_body) int32_t nx_http_response_body(void *out, uint32_t out_cap);

#undef NX_IMPORT

/** Exports a function under `name`: `NX_EXPORT(on_tick) void on_tick(void) { ... }`. */
#define NX_EXPORT(name) __attribute__((export_name(#name)))

/* ---- inline helpers -------------------------------------------------------------------- */

/** Length of a NUL-terminated string (no libc needed). */
static inline uint32_t nx_strlen(const char *text) {
  uint32_t length = 0;
  while (text[length] != '\0') length++;
  return length;
}

/** Logs a NUL-terminated message at `level`. */
static inline void nx_log(uint32_t level, const char *message) {
  nx_host_log_v2(level, message, nx_strlen(message));
}

/** Ends the guest with a NUL-terminated message. */
__attribute__((noreturn)) static inline void nx_fail(const char *message) {
  nx_abort(message, nx_strlen(message));
}

/** A little-endian u32 field of a structured output. */
static inline uint32_t nx_u32le(const void *at) {
  const uint8_t *b = (const uint8_t *)at;
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/** A little-endian u64 (counter values). */
static inline uint64_t nx_u64le(const void *at) {
  const uint8_t *b = (const uint8_t *)at;
  return (uint64_t)nx_u32le(b) | (uint64_t)nx_u32le(b + 4) << 32;
}

/** nx_db_get / nx_db_set with NUL-terminated keys and values. */
static inline int32_t nx_db_get_str(const char *key, void *out, uint32_t out_cap) {
  return nx_db_get(key, nx_strlen(key), out, out_cap);
}

static inline int32_t nx_db_set_str(const char *key, const char *value) {
  return nx_db_set(key, nx_strlen(key), value, nx_strlen(value));
}

/** nx_proc_send of a NUL-terminated string (without the NUL). */
static inline int32_t nx_proc_send_str(int32_t pid, const char *text) {
  return nx_proc_send(pid, text, nx_strlen(text));
}

/** Writes the lowercase hex form of `bytes` (2 * len characters, then NUL) into `out`. */
static inline void nx_hex(const void *bytes, uint32_t len, char *out) {
  static const char digits[] = "0123456789abcdef";
  const uint8_t *b = (const uint8_t *)bytes;
  for (uint32_t i = 0; i < len; i++) {
    out[2 * i] = digits[b[i] >> 4];
    out[2 * i + 1] = digits[b[i] & 15];
  }
  out[2 * len] = '\0';
}

/** The family's name as the --print-* flags spell it ("gcounter" ... "rga"), or "unknown". */
static inline const char *nx_family_name(int32_t family) {
  switch (family) {
  case NX_FAMILY_GCOUNTER: return "gcounter";
  case NX_FAMILY_PNCOUNTER: return "pncounter";
  case NX_FAMILY_LWW_REGISTER: return "lww-register";
  case NX_FAMILY_LWW_MAP: return "lww-map";
  case NX_FAMILY_ORSET: return "orset";
  case NX_FAMILY_RGA: return "rga";
  default: return "unknown";
  }
}

#ifdef __cplusplus
}
#endif

#endif /* NX_H */
