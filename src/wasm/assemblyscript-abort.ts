import { GuestAbortError } from "./abi/guest-errors.ts";
import type { GuestLinearMemory, GuestMemoryRef } from "./abi/guest-memory.ts";

/**
 * `env.abort(message, fileName, line, column)`, which AssemblyScript imports unless the build
 * routes aborts elsewhere. Its strings are AssemblyScript objects: a pointer to UTF-16LE code
 * units, whose byte length is the u32 `rtSize` field 4 bytes before the pointer (0 = null).
 * Ends the guest with a {@link GuestAbortError} carrying "message (at file:line:column)".
 */
export const ASSEMBLYSCRIPT_ABORT_MODULE = "env";
export const ASSEMBLYSCRIPT_ABORT_NAME = "abort";

/** Longest string read from an abort, in UTF-16 code units; the rest is cut with "…". */
const ABORT_STRING_UNITS_MAX = 4096;

/** An AssemblyScript string at `pointer`, or undefined for null or anything out of bounds. */
export function readAssemblyScriptString(
  memory: GuestLinearMemory | undefined,
  pointer: number,
): string | undefined {
  if (memory === undefined) return undefined;
  const ptr = pointer >>> 0;
  const buffer = memory.buffer;
  if (ptr < 4 || ptr > buffer.byteLength) return undefined;
  const data = new DataView(buffer);
  const byteLength = data.getUint32(ptr - 4, true);
  if (byteLength % 2 !== 0 || ptr + byteLength > buffer.byteLength) return undefined;
  const units = Math.min(byteLength / 2, ABORT_STRING_UNITS_MAX);
  const text = new TextDecoder("utf-16le").decode(new Uint8Array(buffer, ptr, units * 2));
  return units < byteLength / 2 ? `${text}…` : text;
}

export function createAssemblyScriptAbort(
  memory: GuestMemoryRef,
): (message: number, fileName: number, line: number, column: number) => never {
  return (message, fileName, line, column) => {
    const text = readAssemblyScriptString(memory.memory, message) ?? "abort";
    const file = readAssemblyScriptString(memory.memory, fileName);
    const where = file === undefined ? "" : ` (at ${file}:${line >>> 0}:${column >>> 0})`;
    throw new GuestAbortError(`${text}${where}`);
  };
}
