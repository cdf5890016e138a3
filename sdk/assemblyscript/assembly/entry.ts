// A key (or map field) with its value, as listed by db.scan and lwwMap.entries.

export class Entry {
  constructor(
    public key: Uint8Array,
    public value: Uint8Array,
  ) {}

  /** The key decoded as UTF-8. */
  keyString(): string {
    return String.UTF8.decodeUnsafe(this.key.dataStart, <usize>this.key.byteLength);
  }

  /** The value decoded as UTF-8. */
  valueString(): string {
    return String.UTF8.decodeUnsafe(this.value.dataStart, <usize>this.value.byteLength);
  }
}
