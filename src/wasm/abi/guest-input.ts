import { NumaxError } from "../../errors/numax-error.ts";
import { KEY_BYTES_MAX } from "./abi-limits.ts";
import { validOutput } from "./guest-output.ts";

/**
 * A guest passed an invalid pointer, length or encoding. Never leaves the ABI layer: host
 * functions answer -3 (WASI: EFAULT / EINVAL) for it, without a log line, since it is the
 * guest's own mistake and a loop of them must not flood the node's log.
 */
export class GuestInputError extends NumaxError {
  constructor(message: string) {
    super("GUEST_INPUT_INVALID", message);
  }
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A view of `[ptr, ptr + len)` after `>>> 0` on both, checked against memory and `maxBytes`.
 * The view is only valid during the current host call.
 */
export function inputView(memory: Uint8Array, ptr: number, len: number, maxBytes: number): Uint8Array {
  ptr >>>= 0;
  len >>>= 0;
  if (len > maxBytes) throw new GuestInputError(`input of ${len} bytes exceeds the limit of ${maxBytes}`);
  if (ptr + len > memory.length)
    throw new GuestInputError(`input range ${ptr}+${len} is outside guest memory`);
  return memory.subarray(ptr, ptr + len);
}

/** Like {@link inputView}, but a copy the host may keep. */
export function inputCopy(memory: Uint8Array, ptr: number, len: number, maxBytes: number): Uint8Array {
  return inputView(memory, ptr, len, maxBytes).slice();
}

/** A UTF-8 text key of 1..1024 bytes (CRDT keys, environment names). */
export function inputKeyText(memory: Uint8Array, ptr: number, len: number): string {
  const bytes = inputView(memory, ptr, len, KEY_BYTES_MAX);
  if (bytes.length === 0) throw new GuestInputError("empty key");
  return decodeUtf8Strict(bytes);
}

function decodeUtf8Strict(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new GuestInputError("key is not valid UTF-8");
  }
}

/** The unsigned output pointer after checking `[outPtr, outPtr + outCap)` (see `validOutput`). */
export function outputPointer(memory: Uint8Array, outPtr: number, outCap: number): number {
  outPtr >>>= 0;
  if (!validOutput(outPtr, outCap >>> 0, memory.length)) {
    throw new GuestInputError(
      `output range ${outPtr}+${outCap >>> 0} is outside guest memory or above the limit`,
    );
  }
  return outPtr;
}
