import { duplicateField } from "./entry-fields.ts";
import {
  CrdtCodecError,
  type JsonValue,
  listCodec,
  optionalCodec,
  type RecordCodec,
  recordCodec,
  timestampCodec,
  type ValueCodec,
} from "./field-codec.ts";
import type { HlcTimestamp } from "./hybrid-clock.ts";
import type { LwwMapEntryWrite, OpKind } from "./op.ts";

/**
 * Entries one `lww_map_batch` op may carry as far as a decoder is concerned. A node makes ops of
 * several entries within what the smallest message a peer may accept carries (MAP_BATCH_BYTES_MAX
 * in src/sync/replica/map-write-batch.ts: 4096 bytes, fewer than 1024 entries of at least 4 bytes),
 * so 4096 refuses no op any build makes for every peer, and bounds what one op from a hostile peer
 * costs: an op is applied in one event-loop turn (remote writes are sliced between ops, not within
 * one), about 2 µs an entry, ~8 ms here where the message size alone (16 MiB, about a million
 * entries) would allow seconds.
 */
export const MAX_MAP_BATCH_ENTRIES = 4096;

/**
 * The entries of an `lww_map_batch` op: `[[field, value | nil, timestamp], ...]` in msgpack,
 * `[{ field, value | null, timestamp }, ...]` in JSON. At least one entry, fields distinct: a
 * duplicate field would make the op's meaning depend on the order its entries are applied in.
 */
export function lwwMapEntriesCodec(bytes: ValueCodec<Uint8Array>): ValueCodec<readonly LwwMapEntryWrite[]> {
  const entry = recordCodec<LwwMapEntryWrite>("map entry", {
    field: bytes,
    value: optionalCodec(bytes),
    timestamp: timestampCodec,
  });
  const list = listCodec(entry, MAX_MAP_BATCH_ENTRIES);
  return {
    expected: `a non-empty ${list.expected}`,
    toMsgpack: list.toMsgpack,
    fromMsgpack(raw, path) {
      if (!Array.isArray(raw) || raw.length > MAX_MAP_BATCH_ENTRIES) return list.fromMsgpack(raw, path);
      const entries = new Array<LwwMapEntryWrite>(raw.length);
      for (let i = 0; i < raw.length; i++) entries[i] = entryFromMsgpack(entry, bytes, raw[i], path, i);
      return checkedEntries(entries, path);
    },
    toJson: list.toJson as (value: readonly LwwMapEntryWrite[]) => JsonValue,
    fromJson: (raw, path) => checkedEntries(list.fromJson(raw, path), path),
  };
}

/** Read under one path for every entry (no path string per entry); only a bad entry is read again under its own. */
const ANY_ENTRY_PATH = "entries[]";
const ANY_FIELD_PATH = `${ANY_ENTRY_PATH}.field`;
const ANY_VALUE_PATH = `${ANY_ENTRY_PATH}.value`;
const ANY_TIMESTAMP_PATH = `${ANY_ENTRY_PATH}.timestamp`;

/**
 * One `[field, value | nil, timestamp]` entry, read as `entry` reads it, by hand: an object of one
 * fixed shape, where the record codec sets each field by name on an empty object (an entry is read
 * per write of a peer's batch, docs/design/sync.md "Distinct keys"). Anything `entry` would refuse
 * is read again by `entry`, for its message.
 */
function entryFromMsgpack(
  entry: RecordCodec<LwwMapEntryWrite>,
  bytes: ValueCodec<Uint8Array>,
  raw: unknown,
  path: string,
  index: number,
): LwwMapEntryWrite {
  try {
    if (!Array.isArray(raw) || raw.length !== 3) return entry.fromMsgpack(raw, ANY_ENTRY_PATH);
    const value = raw[1];
    return {
      field: bytes.fromMsgpack(raw[0], ANY_FIELD_PATH),
      value: value === null || value === undefined ? undefined : bytes.fromMsgpack(value, ANY_VALUE_PATH),
      timestamp: timestampCodec.fromMsgpack(raw[2], ANY_TIMESTAMP_PATH),
    };
  } catch (error) {
    if (!(error instanceof CrdtCodecError)) throw error;
    return entry.fromMsgpack(raw, `${path}[${index}]`);
  }
}

function checkedEntries(entries: readonly LwwMapEntryWrite[], path: string): readonly LwwMapEntryWrite[] {
  if (entries.length === 0) throw new CrdtCodecError(`${path}: expected at least one entry, got none`);
  const [at, first] = duplicateField(entries);
  if (at !== -1) throw new CrdtCodecError(`${path}[${at}].field: the same field as ${path}[${first}].field`);
  return entries;
}

/**
 * An `lww_map_batch` op is stamped at least as late as each of its entries: a receiver's clock
 * passes every entry stamp with the one `receive` (and drift check) each op gets. Throws
 * CrdtCodecError naming the first entry stamped after the op.
 */
export function assertBatchStamped(kind: OpKind, timestamp: HlcTimestamp, kindPath: string): void {
  if (kind.type !== "lww_map_batch") return;
  const entries = kind.entries;
  for (let i = 0; i < entries.length; i++) {
    if (entries[i]!.timestamp > timestamp) {
      throw new CrdtCodecError(
        `${kindPath}.entries[${i}].timestamp: expected at most the op's timestamp ${timestamp}, got ${entries[i]!.timestamp}`,
      );
    }
  }
}
