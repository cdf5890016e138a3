import type { LwwMapEntryWrite, Op } from "../crdt/op.ts";
import { opFromJsonValue, opFromMsgpackValue, opToJsonValue, opToMsgpackValue } from "../crdt/op-codec.ts";
import { createMessageCodec, type MessageCodec } from "../net/message-codec.ts";
import type { OpCodec } from "../net/op-codec.ts";
import type { WireValue } from "../net/wire-value.ts";
import { MsgpackChunks } from "./replica/msgpack-chunks.ts";
import { opLogPageRecord } from "./replica/op-log-page-record.ts";

/**
 * CRDT ops inside PushOps, strictly validated on decode: the compact positional form of
 * src/crdt/op-codec.ts in MessagePack frames, its named-field form in JSON frames
 * (`--debug-protocol`), so a captured JSON frame reads as what it means.
 */
export const crdtOpCodec: OpCodec<Op> = {
  encode: (op, format) => (format === "json" ? opToJsonValue(op) : opToMsgpackValue(op)) as WireValue,
  decode: (value, format) => (format === "json" ? opFromJsonValue(value) : opFromMsgpackValue(value)),
  packMsgpack: (op) => opLogPageRecord(wireChunks, [op]).subarray(OP_IN_ONE_OP_PAGE),
};

/**
 * Where an op's bytes start in the op-log page record of that op alone (its version byte, a
 * one-item array's header): the store's msgpackr and the wire's pack an op to the same bytes
 * (their settings differ only in how they write maps, which no op holds, and in how they decode;
 * crdt-op-codec.test.ts compares every op kind), and the page writer writes `lww_map_batch`
 * entries by hand, several times faster than msgpackr packs them (`npm run bench -- map-write`,
 * docs/design/sync.md).
 */
const OP_IN_ONE_OP_PAGE = 2;
/** Chunks of the ops packed for PushOps: views of them are sent, and a chunk is never written twice. */
const wireChunks = new MsgpackChunks();

/** The node's message codec: every sync message, with CRDT ops inside. */
export function createSyncMessageCodec(): MessageCodec<Op> {
  return createMessageCodec(crdtOpCodec);
}

/**
 * What an op's fields other than its bytes, key and tags take at most, in either format: the
 * JSON form's field names, the origin twice in hex, seq, timestamp, a slot as a decimal string, a
 * parent or target OpId.
 */
const OP_FIXED_WIRE_BYTES_MAX = 512;

/** One OpId of an ORSet remove's tags, as JSON (`{"origin":"<32 hex>","seq":<up to 16 digits>}`) and its comma. */
export const TAG_WIRE_BYTES_MAX = 80;

/**
 * One entry of an `lww_map_batch` beyond its field's and value's base64, as JSON
 * (`{"field":"","value":"","timestamp":<16 digits>},`: 53) or MessagePack (20).
 */
export const MAP_ENTRY_WIRE_BYTES_MAX = 64;

/**
 * The bytes a PushOps spends on more than its ops (its type, batch id, the ops array's header)
 * and the frame's header, at most: a batch's ops get `max_message_size` less this.
 */
export const PUSH_OPS_ENVELOPE_BYTES_MAX = 128;

/**
 * At least the bytes `op` encodes to inside a PushOps, in either wire format: its byte fields as
 * base64 (the JSON form; MessagePack takes fewer), its key escaped at up to 6 bytes per UTF-16
 * unit, 80 bytes per tag, MAP_ENTRY_WIRE_BYTES_MAX per map batch entry beside its bytes and
 * OP_FIXED_WIRE_BYTES_MAX for the rest. Counted without encoding, so
 * the sync engine can cut every batch to fit `max_message_size`.
 *
 * @example
 * opWireBytesMax(op); // 512 + 6 * op.key.length + 4 * ceil(value bytes / 3) + ...
 */
export function opWireBytesMax(op: Pick<Op, "key" | "kind">): number {
  const kind = op.kind as {
    readonly value?: Uint8Array;
    readonly field?: Uint8Array;
    readonly element?: Uint8Array;
    readonly tags?: readonly unknown[];
    readonly entries?: readonly LwwMapEntryWrite[];
  };
  let entriesBytes = 0;
  const entries = kind.entries;
  // Indexed, not for-of: counted per op per peer, often before V8 optimizes it, and an unoptimized
  // for-of allocates an iterator result per entry (`npm run bench -- map-write`'s heap profile).
  if (entries !== undefined)
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      entriesBytes += mapEntryWireBytesMax(entry.field, entry.value);
    }
  return (
    OP_FIXED_WIRE_BYTES_MAX +
    6 * op.key.length +
    base64Bytes(kind.value) +
    base64Bytes(kind.field) +
    base64Bytes(kind.element) +
    TAG_WIRE_BYTES_MAX * (kind.tags?.length ?? 0) +
    entriesBytes
  );
}

/** What one `lww_map_batch` entry adds to `opWireBytesMax`. */
export function mapEntryWireBytesMax(field: Uint8Array, value: Uint8Array | undefined): number {
  return MAP_ENTRY_WIRE_BYTES_MAX + base64Bytes(field) + base64Bytes(value);
}

/** `bytes` as base64 (0 when absent); a function of the module, not a closure made per op counted. */
function base64Bytes(bytes: Uint8Array | undefined): number {
  return bytes === undefined ? 0 : 4 * Math.ceil(bytes.length / 3);
}
