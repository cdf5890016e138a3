// Targets for AssemblyScript's three built-in host hooks, so that a guest imports nothing from
// `env`. The build routes them here:
//   --use abort=sdk/assemblyscript/assembly/hooks/abortHook
//   --use trace=sdk/assemblyscript/assembly/hooks/traceHook
//   --use seed=sdk/assemblyscript/assembly/hooks/seedHook
// (paths are relative to the compiler's base directory: the repository root in this repo).
// This file is passed to the compiler as an extra entry, so it exports nothing.

import { abort as hostAbort, host_log_v2, random_bytes } from "./abi";

// abort may run before any global is initialised or because memory ran out, so it composes its
// message in a static buffer with locals only and never allocates.
const ABORT_BYTES: usize = 1024;

function appendByte(buffer: usize, at: usize, byte: u32): usize {
  if (at < ABORT_BYTES) store<u8>(buffer + at, <u8>byte);
  return min(at + 1, ABORT_BYTES);
}

function appendText(buffer: usize, at: usize, text: string): usize {
  const source = changetype<usize>(text);
  for (let i = 0; i < text.length; i++) {
    const c = <u32>load<u16>(source + (<usize>i << 1));
    // Non-ASCII becomes '?': a full UTF-8 encoder is not worth its size on the abort path.
    at = appendByte(buffer, at, c < 0x80 ? c : 0x3f);
  }
  return at;
}

function appendNumber(buffer: usize, at: usize, value: u32): usize {
  let divisor: u32 = 1;
  while (value / divisor >= 10) divisor *= 10;
  for (; divisor > 0; divisor /= 10) at = appendByte(buffer, at, 0x30 + ((value / divisor) % 10));
  return at;
}

// "message at file:line:col", e.g. "index out of range at ~lib/typedarray.ts:120:64".
function abortHook(message: string | null, fileName: string | null, line: u32, column: u32): void {
  const buffer = memory.data(<i32>ABORT_BYTES);
  let at = appendText(buffer, 0, message === null ? "abort" : message);
  if (fileName !== null) {
    at = appendText(buffer, at, " at ");
    at = appendText(buffer, at, fileName);
    at = appendByte(buffer, at, 0x3a);
    at = appendNumber(buffer, at, line);
    at = appendByte(buffer, at, 0x3a);
    at = appendNumber(buffer, at, column);
  }
  hostAbort(buffer, at);
  unreachable();
}

// trace("label", n, a0..a4) becomes a trace-level log line "label a0 a1 ...".
function traceHook(message: string, n: i32 = 0, a0: f64 = 0, a1: f64 = 0, a2: f64 = 0, a3: f64 = 0, a4: f64 = 0): void {
  let line = message;
  if (n > 0) line += ` ${a0}`;
  if (n > 1) line += ` ${a1}`;
  if (n > 2) line += ` ${a2}`;
  if (n > 3) line += ` ${a3}`;
  if (n > 4) line += ` ${a4}`;
  const bytes = String.UTF8.encode(line);
  host_log_v2(0, changetype<usize>(bytes), <usize>bytes.byteLength);
}

// Math.random's seed, from the host's CSPRNG.
function seedHook(): f64 {
  const slot = memory.data(8);
  random_bytes(slot, 8);
  // 53 random bits as a finite, non-NaN double.
  return <f64>(load<u64>(slot) >> 11);
}
