/** Values skipped while looking for a key before `msgpackArrayLengthAt` gives up. */
const PEEK_VALUES_MAX = 64;

const TEXT = new TextEncoder();
/** Keys looked up so far, encoded once: the codec asks for the same key on every frame. */
const encodedKeys = new Map<string, Uint8Array>();

/**
 * The length of the array stored under `key` in the top-level MessagePack map `bytes`, read from
 * headers alone: nothing is decoded or allocated, so a receiver can refuse an oversized message
 * before paying for decoding it. Undefined when `bytes` is not such a map, the key is absent, its
 * value is not an array, or finding it would mean skipping more than PEEK_VALUES_MAX values (the
 * full decode then decides).
 *
 * Written here because msgpackr, our codec, only decodes whole values: it has no way to read a
 * map's headers without building every value before the one asked for.
 *
 * @example
 * msgpackArrayLengthAt(packr.pack({ type: "PushOps", batchId: 1, ops: [a, b] }), "ops"); // 2
 */
export function msgpackArrayLengthAt(bytes: Uint8Array, key: string): number | undefined {
  let wanted = encodedKeys.get(key);
  if (wanted === undefined) {
    wanted = TEXT.encode(key);
    encodedKeys.set(key, wanted);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const map = readHeader(bytes, view, 0);
  if (map === undefined || map.kind !== "map") return undefined;
  let offset = map.next;
  const budget = { left: PEEK_VALUES_MAX };
  for (let entry = 0; entry < map.count; entry++) {
    const name = readHeader(bytes, view, offset);
    if (name === undefined) return undefined;
    if (name.kind === "str" && sameBytes(bytes, name.next - name.payload, name.payload, wanted)) {
      const value = readHeader(bytes, view, name.next);
      return value?.kind === "array" ? value.count : undefined;
    }
    offset = skipValue(bytes, view, name.next, budget);
    if (offset < 0) return undefined;
  }
  return undefined;
}

interface Header {
  readonly kind: "map" | "array" | "str" | "scalar";
  /** Child values (twice the entries for a map). */
  readonly count: number;
  /** Payload bytes after the header (strings, binaries, extensions, numbers). */
  readonly payload: number;
  /** Offset after the header and its payload (children not included). */
  readonly next: number;
}

/** Skips one whole value at `offset`, spending a header of `budget` per value inside; -1 when it runs out. */
function skipValue(bytes: Uint8Array, view: DataView, offset: number, budget: { left: number }): number {
  let remaining = 1;
  while (remaining > 0) {
    if (budget.left-- <= 0) return -1;
    const header = readHeader(bytes, view, offset);
    if (header === undefined) return -1;
    remaining += header.count - 1;
    offset = header.next;
  }
  return offset;
}

function readHeader(bytes: Uint8Array, view: DataView, offset: number): Header | undefined {
  if (offset >= bytes.byteLength) return undefined;
  const b = bytes[offset];
  const header = (kind: Header["kind"], size: number, count: number, payload: number): Header | undefined =>
    offset + size + payload > bytes.byteLength
      ? undefined
      : { kind, count, payload, next: offset + size + payload };
  const length = (size: 1 | 2 | 4): number | undefined => {
    if (offset + 1 + size > bytes.byteLength) return undefined;
    if (size === 1) return view.getUint8(offset + 1);
    return size === 2 ? view.getUint16(offset + 1) : view.getUint32(offset + 1);
  };
  if (b <= 0x7f || b >= 0xe0) return header("scalar", 1, 0, 0);
  if (b <= 0x8f) return header("map", 1, (b & 0x0f) * 2, 0);
  if (b <= 0x9f) return header("array", 1, b & 0x0f, 0);
  if (b <= 0xbf) return header("str", 1, 0, b & 0x1f);
  const sized = (
    kind: Header["kind"],
    size: 1 | 2 | 4,
    extra: number,
    perItem: number,
  ): Header | undefined => {
    const n = length(size);
    if (n === undefined) return undefined;
    return perItem === 0 ? header(kind, 1 + size + extra, 0, n) : header(kind, 1 + size, n * perItem, 0);
  };
  switch (b) {
    case 0xc0:
    case 0xc2:
    case 0xc3:
      return header("scalar", 1, 0, 0);
    case 0xc4:
      return sized("scalar", 1, 0, 0);
    case 0xc5:
      return sized("scalar", 2, 0, 0);
    case 0xc6:
      return sized("scalar", 4, 0, 0);
    case 0xc7:
      return sized("scalar", 1, 1, 0);
    case 0xc8:
      return sized("scalar", 2, 1, 0);
    case 0xc9:
      return sized("scalar", 4, 1, 0);
    case 0xca:
      return header("scalar", 1, 0, 4);
    case 0xcb:
      return header("scalar", 1, 0, 8);
    case 0xcc:
    case 0xd0:
      return header("scalar", 1, 0, 1);
    case 0xcd:
    case 0xd1:
      return header("scalar", 1, 0, 2);
    case 0xce:
    case 0xd2:
      return header("scalar", 1, 0, 4);
    case 0xcf:
    case 0xd3:
      return header("scalar", 1, 0, 8);
    case 0xd4:
      return header("scalar", 1, 0, 2);
    case 0xd5:
      return header("scalar", 1, 0, 3);
    case 0xd6:
      return header("scalar", 1, 0, 5);
    case 0xd7:
      return header("scalar", 1, 0, 9);
    case 0xd8:
      return header("scalar", 1, 0, 17);
    case 0xd9:
      return sized("str", 1, 0, 0);
    case 0xda:
      return sized("str", 2, 0, 0);
    case 0xdb:
      return sized("str", 4, 0, 0);
    case 0xdc:
      return sized("array", 2, 0, 1);
    case 0xdd:
      return sized("array", 4, 0, 1);
    case 0xde:
      return sized("map", 2, 0, 2);
    case 0xdf:
      return sized("map", 4, 0, 2);
    default:
      return undefined; // 0xc1 is never used
  }
}

function sameBytes(bytes: Uint8Array, start: number, length: number, wanted: Uint8Array): boolean {
  if (length !== wanted.byteLength) return false;
  for (let i = 0; i < length; i++) if (bytes[start + i] !== wanted[i]) return false;
  return true;
}
