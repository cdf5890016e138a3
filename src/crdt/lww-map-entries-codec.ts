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
 * Entries one `lww_map_batch` op may carry as far as a decoder is concerned. The message size
 * binds long before (an entry is at least 4 bytes, a message at most 16 MiB by default); this
 * only bounds what one op can make a decoder allocate. The replica makes far smaller ops
 * (LWW_MAP_BATCH_ENTRIES_MAX in src/sync/replica/map-write-batch.ts), so a later build may make
 * larger ones without older decoders refusing them.
 */
export const MAX_MAP_BATCH_ENTRIES = 1 << 22;

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
      for (let i = 0; i < raw.length; i++) entries[i] = entryFromMsgpack(entry, raw[i], path, i);
      return checkedEntries(entries, path);
    },
    toJson: list.toJson as (value: readonly LwwMapEntryWrite[]) => JsonValue,
    fromJson: (raw, path) => checkedEntries(list.fromJson(raw, path), path),
  };
}

/** Read under one path for every entry (no path string per entry); only a bad entry is read again under its own. */
const ANY_ENTRY_PATH = "entries[]";

function entryFromMsgpack(
  entry: RecordCodec<LwwMapEntryWrite>,
  raw: unknown,
  path: string,
  index: number,
): LwwMapEntryWrite {
  try {
    return entry.fromMsgpack(raw, ANY_ENTRY_PATH);
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
 * Open-addressed table of entry indices + 1 by field hash, reused by every check (a decoder runs
 * on one thread, never reentrantly): finding a duplicate among a batch's thousand fields makes no
 * string and no Set per field (as `bytesKey` and a Set did: 4.5 % of a gate node's CPU).
 */
let slots = new Int32Array(2048);

/** The first entry whose field an earlier entry has, and that earlier entry; [-1, -1] when none. */
function duplicateField(entries: readonly LwwMapEntryWrite[]): [number, number] {
  if (entries.length < 2) return [-1, -1];
  let size = slots.length;
  while (size < entries.length * 2) size *= 2;
  if (size > slots.length) slots = new Int32Array(size);
  const table = slots;
  const mask = size - 1;
  table.fill(0, 0, size);
  for (let i = 0; i < entries.length; i++) {
    const field = entries[i]!.field;
    let slot = fieldHash(field) & mask;
    for (let taken = table[slot]!; taken !== 0; taken = table[slot]!) {
      if (sameBytes(entries[taken - 1]!.field, field)) return [i, taken - 1];
      slot = (slot + 1) & mask;
    }
    table[slot] = i + 1;
  }
  return [-1, -1];
}

/** FNV-1a over the field's bytes. */
function fieldHash(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  return hash >>> 0;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
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
