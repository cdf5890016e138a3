/**
 * The type of the first MessagePack extension in `bytes` (ext 8/16/32 or fixext 1-16) other than
 * `undefined`, or -1 when there is none. `undefined` is a fixext 1 of type 0, which msgpackr writes
 * for an object property whose value is `undefined` (`{a: undefined}` packs to `81 a1 61 d4 00
 * 00`) and decodes, whatever its data byte, to `undefined`: any build, Numax 0.1.0 included, may
 * send one, so it is stepped over; any other form of type 0 is still returned. It walks the
 * headers only: strings, byte strings and numbers are stepped over, nothing is decoded or
 * allocated, and each header costs a few comparisons, so a frame holding an extension is refused
 * before msgpackr decodes any of it (docs/sync.md, "Hostile peers").
 *
 * Written apart from msgpack-peek.ts's header reader, which builds an object per header: this walk
 * runs over every value of every frame. It stops at the end of `bytes` (a truncated or malformed
 * payload is msgpackr's to report), and its cost is bounded by the length of `bytes` whatever
 * counts the headers claim, since every value takes at least one byte.
 */
export function firstRefusedExtensionType(bytes: Uint8Array): number {
  const end = bytes.length;
  let offset = 0;
  let pending = 1; // values still to step over
  while (pending > 0 && offset < end) {
    const b = bytes[offset];
    pending--;
    if (b <= 0x7f || b >= 0xe0) {
      offset += 1;
    } else if (b <= 0x8f) {
      pending += (b & 0x0f) * 2;
      offset += 1;
    } else if (b <= 0x9f) {
      pending += b & 0x0f;
      offset += 1;
    } else if (b <= 0xbf) {
      offset += 1 + (b & 0x1f);
    } else if (b === FIXEXT1 && offset + 1 < end && bytes[offset + 1] === UNDEFINED_EXTENSION_TYPE) {
      offset += 3;
    } else if ((b >= 0xc7 && b <= 0xc9) || (b >= 0xd4 && b <= 0xd8)) {
      // The type byte follows the length (ext 8/16/32) or the header byte itself (fixext).
      const at = offset + (b === 0xc7 ? 2 : b === 0xc8 ? 3 : b === 0xc9 ? 5 : 1);
      return at < end ? bytes[at] : -1;
    } else {
      offset += 1 + fixedTail(b, bytes, offset + 1, end);
      if (b === 0xdc) pending += uint(bytes, offset - 2, 2);
      else if (b === 0xdd) pending += uint(bytes, offset - 4, 4);
      else if (b === 0xde) pending += 2 * uint(bytes, offset - 2, 2);
      else if (b === 0xdf) pending += 2 * uint(bytes, offset - 4, 4);
    }
  }
  return -1;
}

/**
 * Why `bytes` is refused, or undefined when it holds no extension but `undefined`: one detail for
 * every place the wire refuses one.
 */
export function refusedExtensionDetail(bytes: Uint8Array): string | undefined {
  const type = firstRefusedExtensionType(bytes);
  if (type === -1) return undefined;
  return `extension type 0x${type.toString(16).padStart(2, "0")} is not part of the wire protocol`;
}

const FIXEXT1 = 0xd4;
/** msgpackr's (and notepack's) extension for `undefined`: no payload beyond fixext 1's filler byte. */
const UNDEFINED_EXTENSION_TYPE = 0x00;

/** Bytes after the header byte `b` (0xc0-0xdf, extensions excepted) up to its next value. */
function fixedTail(b: number, bytes: Uint8Array, at: number, end: number): number {
  switch (b) {
    case 0xc4:
    case 0xd9:
      return at < end ? 1 + bytes[at] : 1;
    case 0xc5:
    case 0xda:
      return 2 + uint(bytes, at, 2);
    case 0xc6:
    case 0xdb:
      return 4 + uint(bytes, at, 4);
    case 0xcc:
    case 0xd0:
      return 1;
    case 0xcd:
    case 0xd1:
    case 0xdc:
    case 0xde:
      return 2;
    case 0xca:
    case 0xce:
    case 0xd2:
    case 0xdd:
    case 0xdf:
      return 4;
    case 0xcb:
    case 0xcf:
    case 0xd3:
      return 8;
    default:
      return 0; // nil, false, true, and 0xc1 (never used: msgpackr's to refuse)
  }
}

/** A big-endian unsigned integer of `size` bytes at `at`; 0 past the end. */
function uint(bytes: Uint8Array, at: number, size: 2 | 4): number {
  if (at + size > bytes.length) return 0;
  return size === 2
    ? (bytes[at] << 8) | bytes[at + 1]
    : bytes[at] * 0x1000000 + ((bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]);
}
