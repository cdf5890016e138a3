/**
 * Return codes of every `nx` host function (HOST-ABI.md). Values `>= 0` are success: read-style
 * functions return the number of bytes written, commands return {@link OK}.
 */
export const OK = 0;
/** Key, value or resource absent. */
export const ERR_NOT_FOUND = -1;
/** `out_cap` too small; when `out_cap >= 4` the host wrote the required size as u32 LE at `out_ptr`. */
export const ERR_BUFFER_TOO_SMALL = -2;
/** Runtime error, invalid pointer or length, limit exceeded, capability missing. */
export const ERR_INTERNAL = -3;
/** Key or prefix in the runtime's namespace (`__nx/`). */
export const ERR_RESERVED_KEY = -4;
/** A sync-only function was called on a node without sync. */
export const ERR_SYNC_DISABLED = -5;
/** `http_fetch`: the URL's host is not in the module's `http_fetch_hosts`; no connection was made. */
export const ERR_FETCH_DENIED = -6;
/** `http_fetch`: the request failed (connection refused, DNS, TLS) or passed its time limit. */
export const ERR_FETCH_FAILED = -7;
/** `http_fetch`: the response body is larger than the response size limit. */
export const ERR_FETCH_TOO_LARGE = -8;
/**
 * A rate quota of the module (`ops_per_sec`, `bytes_written_per_sec`) would make this call wait
 * longer than QUOTA_WAIT_MS_MAX: it did nothing; the guest may retry later. Shorter waits are
 * waited, and the call then answers as usual.
 */
export const ERR_RATE_LIMITED = -9;
/**
 * `crdt_*` writes: the op this call would make is larger than one sync message carries (the
 * node's `max_message_size`, docs/design/op-size.md): nothing was written, and retrying the same
 * write answers the same. The host logs one line naming the key and the sizes.
 */
export const ERR_OP_TOO_LARGE = -10;
