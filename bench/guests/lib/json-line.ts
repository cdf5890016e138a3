// Writes one JSON object per line to stdout, prefixed with "@gate " (or another tag) so the runner
// can tell the guest's reports from anything else on the stream. Built in a reused byte buffer: a report
// costs no allocation, which matters under the stub runtime (it never frees memory).

import { writeStdout } from "./wasi";

export class JsonLine {
  private buffer: ArrayBuffer = new ArrayBuffer(1 << 16);
  private length: usize = 0;
  private fields: i32 = 0;

  /** `tag` starts every line: "@gate" for the gates' load guests, "@bench" for bench/events.ts's. */
  constructor(private tag: string = "@gate") {}

  begin(type: string): JsonLine {
    this.length = 0;
    this.fields = 0;
    this.ascii(this.tag);
    this.ascii(" {");
    return this.text("type", type);
  }

  u64(name: string, value: u64): JsonLine {
    this.name(name);
    this.digits(value);
    return this;
  }

  i64(name: string, value: i64): JsonLine {
    this.name(name);
    if (value < 0) {
      this.byte(0x2d);
      this.digits(<u64>-value);
    } else this.digits(<u64>value);
    return this;
  }

  bool(name: string, value: bool): JsonLine {
    this.name(name);
    this.ascii(value ? "true" : "false");
    return this;
  }

  /** `value` must need no JSON escaping (the guests only write identifiers and ASCII words). */
  text(name: string, value: string): JsonLine {
    this.name(name);
    this.byte(0x22);
    this.ascii(value);
    this.byte(0x22);
    return this;
  }

  /** Starts an array of [u64, u64] pairs; add them with `pair`, close with `endArray`. */
  beginPairs(name: string): JsonLine {
    this.name(name);
    this.byte(0x5b);
    this.fields = 0;
    return this;
  }

  pair(a: u64, b: u64): JsonLine {
    if (this.fields++ > 0) this.byte(0x2c);
    this.byte(0x5b);
    this.digits(a);
    this.byte(0x2c);
    this.digits(b);
    this.byte(0x5d);
    return this;
  }

  endArray(): JsonLine {
    this.byte(0x5d);
    this.fields = 1;
    return this;
  }

  emit(): void {
    this.byte(0x7d);
    this.byte(0x0a);
    writeStdout(changetype<usize>(this.buffer), this.length);
  }

  private name(name: string): void {
    if (this.fields++ > 0) this.byte(0x2c);
    this.byte(0x22);
    this.ascii(name);
    this.byte(0x22);
    this.byte(0x3a);
  }

  private digits(value: u64): void {
    this.reserve(20);
    let digits: usize = 1;
    for (let rest = value / 10; rest > 0; rest /= 10) digits++;
    let at = changetype<usize>(this.buffer) + this.length + digits;
    let rest = value;
    do {
      store<u8>(--at, <u8>(0x30 + <u32>(rest % 10)));
      rest /= 10;
    } while (rest > 0);
    this.length += digits;
  }

  private ascii(text: string): void {
    const n = <usize>text.length;
    this.reserve(n);
    const base = changetype<usize>(this.buffer) + this.length;
    for (let i: usize = 0; i < n; i++) store<u8>(base + i, <u8>text.charCodeAt(<i32>i));
    this.length += n;
  }

  private byte(value: u8): void {
    this.reserve(1);
    store<u8>(changetype<usize>(this.buffer) + this.length, value);
    this.length++;
  }

  private reserve(extra: usize): void {
    const needed = this.length + extra;
    if (needed <= <usize>this.buffer.byteLength) return;
    let capacity = <usize>this.buffer.byteLength << 1;
    while (capacity < needed) capacity <<= 1;
    const grown = new ArrayBuffer(<i32>capacity);
    memory.copy(changetype<usize>(grown), changetype<usize>(this.buffer), this.length);
    this.buffer = grown;
  }
}
