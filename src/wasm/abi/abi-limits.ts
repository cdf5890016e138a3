/**
 * Size limits the host enforces on guest input and output (HOST-ABI.md); beyond them a call
 * answers `-3`. They bound what one guest call can make the host allocate or copy.
 */
export const KEY_BYTES_MAX = 1024;
export const VALUE_BYTES_MAX = 1024 * 1024;
/** Largest `out_cap` a guest may pass and largest output one call produces. */
export const OUTPUT_BYTES_MAX = 10 * 1024 * 1024;
export const RANDOM_BYTES_MAX = 1024 * 1024;
export const LOG_MESSAGE_BYTES_MAX = 8 * 1024;
