// Reads the structured outputs of HOST-ABI.md: little-endian u32 counts and lengths followed
// by bytes. The host is trusted to write well-formed output, but a reader never steps past the
// bytes it was given: a malformed record ends the guest with a clear message instead of
// reading garbage.

import { abortWith } from "./error";

export class OutputReader {
  private position: usize;
  private readonly end: usize;

  constructor(start: usize, length: i32) {
    this.position = start;
    this.end = start + <usize>length;
  }

  u32(): u32 {
    this.need(4);
    const value = load<u32>(this.position);
    this.position += 4;
    return value;
  }

  bytes(length: u32): Uint8Array {
    this.need(<usize>length);
    const bytes = new Uint8Array(<i32>length);
    memory.copy(bytes.dataStart, this.position, <usize>length);
    this.position += <usize>length;
    return bytes;
  }

  text(length: u32): string {
    this.need(<usize>length);
    const text = String.UTF8.decodeUnsafe(this.position, <usize>length);
    this.position += <usize>length;
    return text;
  }

  private need(length: usize): void {
    if (this.end - this.position < length) {
      abortWith("nx SDK: the host returned a truncated record (report this as a runtime bug)");
    }
  }
}

/** `u32 count`, then per item `u32 len, bytes`: ORSet elements, RGA values, db keys. */
export function readByteList(start: usize, length: i32): Uint8Array[] {
  const reader = new OutputReader(start, length);
  const count = reader.u32();
  const items = new Array<Uint8Array>(0);
  for (let i: u32 = 0; i < count; i++) items.push(reader.bytes(reader.u32()));
  return items;
}

/** The same layout as `readByteList`, each item decoded as UTF-8. */
export function readTextList(start: usize, length: i32): string[] {
  const reader = new OutputReader(start, length);
  const count = reader.u32();
  const items = new Array<string>(0);
  for (let i: u32 = 0; i < count; i++) items.push(reader.text(reader.u32()));
  return items;
}
