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
