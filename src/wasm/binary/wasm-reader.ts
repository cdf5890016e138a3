import { NumaxError } from "../../errors/numax-error.ts";

/**
 * The bytes do not follow the WebAssembly binary format where the runtime has to read them.
 * Modules pass `WebAssembly.validate` before the runtime parses them, so in practice this names
 * a construct the runtime's own reader does not know (a proposal V8 accepts and we do not).
 */
export class WasmFormatError extends NumaxError {
  readonly offset: number;

  constructor(message: string, offset: number) {
    super("WASM_FORMAT", `${message} (at byte ${offset})`);
    this.offset = offset;
  }
}

/**
 * A bounded cursor over module bytes: every read checks the end, LEB128 reads are bounded in
 * length, so no input can make it loop or read past `end`.
 */
/**
 * One decoder for every name: a module's layout reads a name per import and export (18 for a
 * hello-world guest on `nx run`'s path), and each new TextDecoder cost about 8 µs.
 */
const lenientUtf8 = new TextDecoder("utf-8");

export class WasmReader {
  readonly bytes: Uint8Array;
  offset: number;
  readonly end: number;

  constructor(bytes: Uint8Array, offset = 0, end = bytes.length) {
    this.bytes = bytes;
    this.offset = offset;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  fail(message: string): never {
    throw new WasmFormatError(message, this.offset);
  }

  byte(): number {
    if (this.offset >= this.end) this.fail("unexpected end of data");
    return this.bytes[this.offset++]!;
  }

  peek(): number {
    if (this.offset >= this.end) this.fail("unexpected end of data");
    return this.bytes[this.offset]!;
  }

  u32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) {
        if (result > 0xffff_ffff) this.fail("u32 LEB128 out of range");
        return result;
      }
    }
    return this.fail("u32 LEB128 too long");
  }

  /** A u64 LEB128 as a bigint (memory64 limits). */
  u64(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
    }
    return this.fail("u64 LEB128 too long");
  }

  /** Skips one LEB128 number of at most `maxBytes` bytes (signed or unsigned alike). */
  skipLeb(maxBytes: number): void {
    for (let i = 0; i < maxBytes; i++) {
      if ((this.byte() & 0x80) === 0) return;
    }
    this.fail("LEB128 too long");
  }

  skip(length: number): void {
    if (length > this.remaining) this.fail("length runs past the end of the data");
    this.offset += length;
  }

  /** A vector length, checked against the bytes left (each element takes at least one byte). */
  count(): number {
    const n = this.u32();
    if (n > this.remaining) this.fail(`vector of ${n} elements runs past the end of the data`);
    return n;
  }

  name(): string {
    const length = this.u32();
    const start = this.offset;
    this.skip(length);
    return lenientUtf8.decode(this.bytes.subarray(start, start + length));
  }
}
