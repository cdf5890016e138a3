import { crdtPackr } from "../../crdt/msgpack.ts";
import type { Op } from "../../crdt/op.ts";
import { LWW_MAP_BATCH_CODE, opHeadToMsgpackValue, opToMsgpackValue } from "../../crdt/op-codec.ts";
import { arrayHeaderBytes, binBytes, type MsgpackChunks, numberBytes } from "./msgpack-chunks.ts";
import { packedRecord, RECORD_FORMAT_VERSION } from "./replica-layout.ts";

/** msgpack fixarray headers: an op's head and kind code, and one `[field, value | nil, timestamp]` entry. */
const MSGPACK_FIXARRAY_7 = 0x97;
const MSGPACK_FIXARRAY_3 = 0x93;

/**
 * The record of an op-log page holding `ops`: exactly `packedRecord(ops.map(opToMsgpackValue))`,
 * with the entries of `lww_map_batch` ops (a distinct-key write each, `npm run bench --
 * replica-apply`) written by hand into `chunks` rather than built as an array of arrays for
 * msgpackr. Each op's head (version, origin, seq, timestamp, key, kind code), and any other op,
 * stays with msgpackr; a page without a batch op, or with an entry stamped below zero (no valid
 * op has one), is packed by msgpackr whole.
 */
export function opLogPageRecord(chunks: MsgpackChunks, ops: readonly Op[]): Uint8Array {
  let batchEntries = 0;
  for (const op of ops) if (op.kind.type === "lww_map_batch") batchEntries += op.kind.entries.length;
  if (batchEntries === 0) return packedRecord(ops.map(opToMsgpackValue));
  const parts: Uint8Array[] = [];
  let length = 1 + arrayHeaderBytes(ops.length);
  for (const op of ops) {
    if (op.kind.type !== "lww_map_batch") {
      const packed = crdtPackr.pack(opToMsgpackValue(op));
      parts.push(packed);
      length += packed.length;
      continue;
    }
    const head = opHeadToMsgpackValue(op);
    head.push(LWW_MAP_BATCH_CODE);
    // The head's items as msgpackr packs them, after its array header (of 6; the op has 7 items).
    const packed = crdtPackr.pack(head).subarray(1);
    parts.push(packed);
    length += 1 + packed.length + arrayHeaderBytes(op.kind.entries.length);
    // Indexed, not for-of: once per op, often before V8 optimizes this, and an unoptimized
    // for-of allocates an iterator result per entry.
    const entries = op.kind.entries;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      if (entry.timestamp < 0) return packedRecord(ops.map(opToMsgpackValue));
      length +=
        1 +
        binBytes(entry.field.length) +
        (entry.value === undefined ? 1 : binBytes(entry.value.length)) +
        numberBytes(entry.timestamp);
    }
  }
  const start = chunks.reserve(length);
  let at = chunks.arrayHeader(chunks.byte(start, RECORD_FORMAT_VERSION), ops.length);
  let part = 0;
  for (const op of ops) {
    if (op.kind.type !== "lww_map_batch") {
      at = chunks.raw(at, parts[part++]!);
      continue;
    }
    at = chunks.arrayHeader(
      chunks.raw(chunks.byte(at, MSGPACK_FIXARRAY_7), parts[part++]!),
      op.kind.entries.length,
    );
    const entries = op.kind.entries;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      at = chunks.bin(chunks.byte(at, MSGPACK_FIXARRAY_3), entry.field);
      at = entry.value === undefined ? chunks.nil(at) : chunks.bin(at, entry.value);
      at = chunks.number(at, entry.timestamp);
    }
  }
  return chunks.view(start, length);
}
