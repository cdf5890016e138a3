// The host's limits (HOST-ABI.md). The host enforces them; the SDK uses them to size buffers
// and to split requests that the host would refuse.

/** Longest key, in bytes. */
export const KEY_BYTES_MAX: u32 = 1024;
/** Largest value, in bytes. */
export const VALUE_BYTES_MAX: u32 = 1 << 20;
/** Largest output buffer the host accepts, in bytes. */
export const OUTPUT_BYTES_MAX: u32 = 10 << 20;
/** Largest single `random_bytes` request, in bytes. */
export const RANDOM_BYTES_MAX: u32 = 1 << 20;
/** Longest log message shown, in bytes; the host truncates longer ones. */
export const LOG_BYTES_MAX: u32 = 8 << 10;
/** Shortest tick period `tick_every` accepts, in milliseconds. */
export const TICK_INTERVAL_MIN_MS: u32 = 10;
/** Most subscription patterns one module holds. */
export const SUBSCRIPTIONS_PER_MODULE_MAX: u32 = 64;
/** Longest topic or pattern, in bytes. */
export const TOPIC_MAX_BYTES: u32 = 256;
/** Largest message payload, in bytes. */
export const MESSAGE_PAYLOAD_MAX_BYTES: u32 = 64 << 10;
