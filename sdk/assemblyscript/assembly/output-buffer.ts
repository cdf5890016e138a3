// The buffer host calls write their output into, grown and retried on ERR_BUFFER_TOO_SMALL.
// The ABI does not say how much room is needed; this runtime writes the required size as a u32
// at the start of the buffer when it answers -2, other hosts may not. So the first word is
// zeroed before each call: a non-zero word after -2 is the host's hint, else the buffer
// doubles. It stays grown for later calls, up to the 10 MiB output limit.

import { ErrorCode } from "./error";
import { OUTPUT_BYTES_MAX } from "./limits";

let buffer = new ArrayBuffer(4096);

/** A host call that writes into (outPtr, outCap) and returns bytes written or an error code. */
export type HostRead = (outPtr: usize, outCap: usize) => i32;

/**
 * Calls `read` until its output fits, growing the buffer on -2. Returns the byte count (the
 * output is at `outputPtr()`) or the host's error code; -2 past the 10 MiB limit.
 * `read` must not capture locals (AssemblyScript has no closures): pass arguments through the
 * spans of arg-span.ts.
 */
export function readOutput(read: HostRead): i32 {
  let result = attempt(read);
  while (result == ErrorCode.BufferTooSmall && <u32>buffer.byteLength < OUTPUT_BYTES_MAX) {
    const hint = load<u32>(changetype<usize>(buffer));
    const doubled = <u32>buffer.byteLength << 1;
    const capacity = hint > <u32>buffer.byteLength ? max(hint, doubled) : doubled;
    buffer = new ArrayBuffer(<i32>min(capacity, OUTPUT_BYTES_MAX));
    result = attempt(read);
  }
  return result;
}

function attempt(read: HostRead): i32 {
  store<u32>(changetype<usize>(buffer), 0);
  return read(changetype<usize>(buffer), <usize>buffer.byteLength);
}

/** Where the last successful `readOutput` left its bytes. */
export function outputPtr(): usize {
  return changetype<usize>(buffer);
}

/** A copy of the first `length` output bytes. */
export function outputBytes(length: i32): Uint8Array {
  const bytes = new Uint8Array(length);
  memory.copy(bytes.dataStart, changetype<usize>(buffer), <usize>length);
  return bytes;
}

/** The first `length` output bytes decoded as UTF-8. */
export function outputText(length: i32): string {
  return String.UTF8.decodeUnsafe(changetype<usize>(buffer), <usize>length);
}
