// Lines on the node's standard output, through WASI's `fd_write` (every Numax node provides
// WASI preview 1), for guests whose output is read by people or tools rather than logged:
//
//   stdout.writeLine(`remote gcounter visits`);
//
// The node keeps each write whole, so the lines of several modules never interleave mid-line.

import { ArgSpan } from "./arg-span";

// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "fd_write")
declare function fd_write(fd: u32, iovs: usize, iovsLen: usize, nwrittenPtr: usize): u16;

const STDOUT: u32 = 1;
const NEWLINE = memory.data<u8>([0x0a]);
const lineArg = new ArgSpan();

/** Writes `text` and a newline (UTF-8) in one write; false when stdout is closed. */
export function writeLine(text: string): bool {
  lineArg.of(text);
  // Two iovecs {ptr, len} (the text from the span's scratch, the newline), then the count written.
  const iovs = memory.data(20);
  store<u32>(iovs, <u32>lineArg.ptr);
  store<u32>(iovs, <u32>lineArg.len, 4);
  store<u32>(iovs, <u32>NEWLINE, 8);
  store<u32>(iovs, 1, 12);
  return fd_write(STDOUT, iovs, 2, iovs + 16) == 0;
}
