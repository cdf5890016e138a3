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

function decodeUtf8Strict(bytes: Uint8Array, decoder = strictUtf8): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new GuestInputError("key is not valid UTF-8");
  }
}

const strictUtf8KeepingBom = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * A text key's bytes as {@link inputKeyText} reads them: the decoder drops a leading byte order
 * mark, so a key mapped as bytes (a namespace's) drops it too, then is decoded with
 * {@link keyTextOf}: the same key as decoding first and mapping the text.
 */
export function withoutByteOrderMark(bytes: Uint8Array): Uint8Array {
  return bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf
    ? bytes.subarray(3)
    : bytes;
}

/** The text of a key's UTF-8 bytes, every character kept (a leading byte order mark too). */
export function keyTextOf(bytes: Uint8Array): string {
  return decodeUtf8Strict(bytes, strictUtf8KeepingBom);
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
