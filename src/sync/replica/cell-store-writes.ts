import { bytesOfKey } from "../../bytes/bytes-key.ts";
import { FAMILY_DEFINITIONS } from "../../crdt/crdt-families.ts";
import { nodeIdCodec } from "../../crdt/field-codec.ts";
import type { LwwWrite } from "../../crdt/lww-register.ts";
import { binBytes, type MsgpackChunks, numberBytes } from "./msgpack-chunks.ts";
import {
  CELL_KEY_INLINE_MAX,
  cellStorageKey,
  packedRecord,
  RECORD_FORMAT_VERSION,
} from "./replica-layout.ts";

const MSGPACK_FIXARRAY_4 = 0x94;

/**
 * Store writes of CRDT cells, written straight into `chunks`: every cell's storage key (exactly
 * `cellStorageKey`, without an allocation of its own), and the record of an LWW-Map cell by hand,
 * exactly `packedRecord(cellCodec.toMsgpack(cell))` (the version byte, then msgpackr's
 * `[field, timestamp, origin, value | nil]`) without msgpackr's per-call set-up or the
 * intermediate array. The field is written from its `bytesKey` (the cell's id): the map keeps
 * no field array (src/crdt/lww-map.ts). A node applying distinct-key writes stores one LWW-Map cell per field
 * written, and packing them was most of its store cost (`npm run bench -- replica-apply`,
 * docs/design/sync.md "Distinct keys"). Every other family's records stay with msgpackr.
 */
export class CellStoreWrites {
  readonly #chunks: MsgpackChunks;

  constructor(chunks: MsgpackChunks) {
    this.#chunks = chunks;
  }

  /**
   * The storage key and record of the LWW-Map cell of field `fieldKey` (its `bytesKey`) holding
   * `write`, among the cells under `objectPrefix`.
   */
  lwwMapCell(
    objectPrefix: Uint8Array,
    fieldKey: string,
    write: LwwWrite,
  ): [key: Uint8Array, record: Uint8Array] {
    return [this.#keyOfField(objectPrefix, fieldKey), this.#record(fieldKey, write)];
  }

  /** `cellStorageKey(objectPrefix, cellKey)`, an inline key written into a chunk. */
  key(objectPrefix: Uint8Array, cellKey: Uint8Array): Uint8Array {
    if (cellKey.length > CELL_KEY_INLINE_MAX) return cellStorageKey(objectPrefix, cellKey);
    const at = this.#keyHead(objectPrefix, cellKey.length);
    this.#chunks.raw(at, cellKey);
    return this.#keyAt(objectPrefix, at, cellKey.length);
  }

  /** `key` of the field `fieldKey` names, written from the key's chars. */
  #keyOfField(objectPrefix: Uint8Array, fieldKey: string): Uint8Array {
    if (fieldKey.length > CELL_KEY_INLINE_MAX) return cellStorageKey(objectPrefix, bytesOfKey(fieldKey));
    const at = this.#keyHead(objectPrefix, fieldKey.length);
    this.#chunks.rawOfKey(at, fieldKey);
    return this.#keyAt(objectPrefix, at, fieldKey.length);
  }

  /** Reserves an inline key of a `cellKeyLength`-byte cell key, writes its prefix and 0; returns where the cell key goes. */
  #keyHead(objectPrefix: Uint8Array, cellKeyLength: number): number {
    const chunks = this.#chunks;
    return chunks.byte(chunks.raw(chunks.reserve(objectPrefix.length + 1 + cellKeyLength), objectPrefix), 0);
  }

  /** The inline key whose cell key is at `at`, once written. */
  #keyAt(objectPrefix: Uint8Array, at: number, cellKeyLength: number): Uint8Array {
    return this.#chunks.view(at - objectPrefix.length - 1, objectPrefix.length + 1 + cellKeyLength);
  }

  #record(fieldKey: string, write: LwwWrite): Uint8Array {
    const { timestamp, value } = write;
    // Never so for a cell of a valid op (timestamps are unsigned); msgpackr has other forms for them.
    if (timestamp < 0)
      return packedRecord(
        FAMILY_DEFINITIONS.lww_map.cellCodec.toMsgpack({ ...write, field: bytesOfKey(fieldKey) }),
      );
    const origin = nodeIdCodec.toMsgpack(write.origin) as Uint8Array;
    const length =
      2 +
      binBytes(fieldKey.length) +
      numberBytes(timestamp) +
      binBytes(origin.length) +
      (value === undefined ? 1 : binBytes(value.length));
    const chunks = this.#chunks;
    const start = chunks.reserve(length);
    let at = chunks.byte(chunks.byte(start, RECORD_FORMAT_VERSION), MSGPACK_FIXARRAY_4);
    at = chunks.bin(chunks.number(chunks.binOfKey(at, fieldKey), timestamp), origin);
    if (value === undefined) chunks.nil(at);
    else chunks.bin(at, value);
    return chunks.view(start, length);
  }
}
