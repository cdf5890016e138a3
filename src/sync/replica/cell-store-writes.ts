import { FAMILY_DEFINITIONS } from "../../crdt/crdt-families.ts";
import { nodeIdCodec } from "../../crdt/field-codec.ts";
import type { LwwMapCell } from "../../crdt/lww-map.ts";
import {
  CELL_KEY_INLINE_MAX,
  cellStorageKey,
  packedRecord,
  RECORD_FORMAT_VERSION,
} from "./replica-layout.ts";

/** Bytes of a fresh chunk; a record or key longer than that gets a chunk of its own size. */
const CHUNK_BYTES = 64 * 1024;

const MSGPACK_FIXARRAY_4 = 0x94;
const MSGPACK_NIL = 0xc0;
const MSGPACK_BIN8 = 0xc4;
const MSGPACK_BIN16 = 0xc5;
const MSGPACK_BIN32 = 0xc6;
const MSGPACK_UINT8 = 0xcc;
const MSGPACK_UINT16 = 0xcd;
const MSGPACK_UINT32 = 0xce;
const MSGPACK_FLOAT64 = 0xcb;

function binBytes(length: number): number {
  return (length < 0x100 ? 2 : length < 0x10000 ? 3 : 5) + length;
}

/** Bytes of msgpackr's form of a non-negative number (without records, without float32). */
function numberBytes(value: number): number {
  if (value >>> 0 !== value) return 9;
  return value < 0x80 ? 1 : value < 0x100 ? 2 : value < 0x10000 ? 3 : 5;
}

/**
 * Store writes of CRDT cells, written straight into chunks of bytes: every cell's storage key
 * (exactly `cellStorageKey`, without an allocation of its own), and the record of an LWW-Map cell
 * by hand, exactly `packedRecord(cellCodec.toMsgpack(cell))` (the version byte, then msgpackr's
 * `[field, timestamp, origin, value | nil]`) without msgpackr's per-call set-up or the
 * intermediate array. A node applying distinct-key writes stores one LWW-Map cell per field
 * written, and packing them was most of its store cost (`npm run bench -- replica-apply`,
 * docs/design/sync.md "Distinct keys"). Every other family's records stay with msgpackr.
 *
 * Keys and records are views of chunks this never writes again (as msgpackr's output is), so a
 * store may keep them; the stores copy what they are given anyway.
 */
export class CellStoreWrites {
  #chunk = new Uint8Array(0);
  #view = new DataView(this.#chunk.buffer);
  #at = 0;

  /** The storage key and record of LWW-Map cell `cell` among the cells under `objectPrefix`. */
  lwwMapCell(objectPrefix: Uint8Array, cell: LwwMapCell): [key: Uint8Array, record: Uint8Array] {
    return [this.key(objectPrefix, cell.field), this.#record(cell)];
  }

  /** `cellStorageKey(objectPrefix, cellKey)`, inline keys written into the current chunk. */
  key(objectPrefix: Uint8Array, cellKey: Uint8Array): Uint8Array {
    if (cellKey.length > CELL_KEY_INLINE_MAX) return cellStorageKey(objectPrefix, cellKey);
    const start = this.#reserve(objectPrefix.length + 1 + cellKey.length);
    const chunk = this.#chunk;
    chunk.set(objectPrefix, start);
    chunk[start + objectPrefix.length] = 0;
    chunk.set(cellKey, start + objectPrefix.length + 1);
    return new Uint8Array(chunk.buffer, start, this.#at - start);
  }

  #record(cell: LwwMapCell): Uint8Array {
    // Never so for a cell of a valid op (timestamps are unsigned); msgpackr has other forms for them.
    if (cell.timestamp < 0) return packedRecord(FAMILY_DEFINITIONS.lww_map.cellCodec.toMsgpack(cell));
    const origin = nodeIdCodec.toMsgpack(cell.origin) as Uint8Array;
    const { field, timestamp, value } = cell;
    const length =
      2 +
      binBytes(field.length) +
      numberBytes(timestamp) +
      binBytes(origin.length) +
      (value === undefined ? 1 : binBytes(value.length));
    const start = this.#reserve(length);
    const chunk = this.#chunk;
    chunk[start] = RECORD_FORMAT_VERSION;
    chunk[start + 1] = MSGPACK_FIXARRAY_4;
    let at = this.#bin(start + 2, field);
    at = this.#number(at, timestamp);
    at = this.#bin(at, origin);
    if (value === undefined) chunk[at] = MSGPACK_NIL;
    else this.#bin(at, value);
    return new Uint8Array(chunk.buffer, start, length);
  }

  /** Room for `length` bytes at the returned offset of the current chunk. */
  #reserve(length: number): number {
    if (this.#at + length > this.#chunk.length) {
      this.#chunk = new Uint8Array(Math.max(CHUNK_BYTES, length));
      this.#view = new DataView(this.#chunk.buffer);
      this.#at = 0;
    }
    const start = this.#at;
    this.#at += length;
    return start;
  }

  #bin(at: number, bytes: Uint8Array): number {
    const chunk = this.#chunk;
    const length = bytes.length;
    if (length < 0x100) {
      chunk[at++] = MSGPACK_BIN8;
      chunk[at++] = length;
    } else if (length < 0x10000) {
      chunk[at++] = MSGPACK_BIN16;
      chunk[at++] = length >> 8;
      chunk[at++] = length & 0xff;
    } else {
      chunk[at++] = MSGPACK_BIN32;
      this.#view.setUint32(at, length);
      at += 4;
    }
    chunk.set(bytes, at);
    return at + length;
  }

  /** As msgpackr packs a non-negative number: the smallest uint up to 32 bits, else a float64. */
  #number(at: number, value: number): number {
    const chunk = this.#chunk;
    if (value >>> 0 !== value) {
      chunk[at] = MSGPACK_FLOAT64;
      this.#view.setFloat64(at + 1, value);
      return at + 9;
    }
    if (value < 0x80) {
      chunk[at] = value;
      return at + 1;
    }
    if (value < 0x100) {
      chunk[at] = MSGPACK_UINT8;
      chunk[at + 1] = value;
      return at + 2;
    }
    if (value < 0x10000) {
      chunk[at] = MSGPACK_UINT16;
      chunk[at + 1] = value >> 8;
      chunk[at + 2] = value & 0xff;
      return at + 3;
    }
    chunk[at] = MSGPACK_UINT32;
    this.#view.setUint32(at + 1, value);
    return at + 5;
  }
}
