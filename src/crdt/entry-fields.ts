import { compareBytes, equalBytes } from "./byte-order.ts";
import type { LwwMapEntryWrite } from "./op.ts";

// Finding the same field among a batch's entries without a string or a Set entry per field (as
// `bytesKey` and a Set did: 4.5 % of a gate node's CPU): an open-addressed table of entry indices
// by field hash, reused by every call (they run on one thread, never reentrantly).
//
// FNV-1a is unkeyed, and its low bits depend only on the low bits of its input's state: a peer can
// craft fields that all land in one run of slots, and probing turns quadratic (16 384 such
// entries took seconds where distinct ones take a millisecond; a 16 MiB message holds a million).
// Past PROBES_PER_ENTRY_MAX probes per entry the table is taken to be flooded, and the answer is
// found by sorting instead: O(n log n) whatever the fields.

/** Probes per entry a table of distinct, uncrafted fields at most half full stays far below. */
const PROBES_PER_ENTRY_MAX = 8;

let slots = new Int32Array(2048);
/** Probes the current call has left before it is taken to be flooded. */
let probesLeft = 0;

/** The shared table, cleared, with room for `count` entries (at most half full). */
function tableFor(count: number): Int32Array {
  let size = 64;
  while (size < count * 2) size *= 2;
  if (size > slots.length) slots = new Int32Array(size);
  slots.fill(0, 0, size);
  probesLeft = PROBES_PER_ENTRY_MAX * count;
  return size === slots.length ? slots : slots.subarray(0, size);
}

/** What `seenBefore` answers once the call's probes are spent. */
const FLOODED = -2;

/**
 * Looks `entries[index]`'s field up in `table` (entry indices + 1) and adds it when absent:
 * returns the index of the entry that had it already, -1, or FLOODED.
 */
function seenBefore(table: Int32Array, entries: readonly LwwMapEntryWrite[], index: number): number {
  const mask = table.length - 1;
  const field = entries[index]!.field;
  let slot = fieldHash(field) & mask;
  for (let taken = table[slot]!; taken !== 0; taken = table[slot]!) {
    if (--probesLeft < 0) return FLOODED;
    if (equalBytes(entries[taken - 1]!.field, field)) return taken - 1;
    slot = (slot + 1) & mask;
  }
  table[slot] = index + 1;
  return -1;
}

/** The first entry whose field an earlier entry has, and that earlier entry; [-1, -1] when none. */
export function duplicateField(entries: readonly LwwMapEntryWrite[]): [number, number] {
  if (entries.length < 2) return [-1, -1];
  const table = tableFor(entries.length);
  for (let i = 0; i < entries.length; i++) {
    const earlier = seenBefore(table, entries, i);
    if (earlier === FLOODED) return duplicateFieldSorted(entries);
    if (earlier !== -1) return [i, earlier];
  }
  return [-1, -1];
}

/** `duplicateField` by sorting entry indices by field (then index): for a flooded table. */
function duplicateFieldSorted(entries: readonly LwwMapEntryWrite[]): [number, number] {
  const order = sortedByField(entries);
  let found: [number, number] = [-1, -1];
  // In a run of one field, the second index is its first repeat and the first its original.
  for (let i = 1; i < order.length; i++) {
    const [before, at] = [order[i - 1]!, order[i]!];
    const runStart = i === 1 || !equalBytes(entries[order[i - 2]!]!.field, entries[before]!.field);
    if (
      runStart &&
      equalBytes(entries[before]!.field, entries[at]!.field) &&
      (found[0] === -1 || at < found[0])
    )
      found = [at, before];
  }
  return found;
}

/** Entry indices in field order, equal fields by index. */
function sortedByField(entries: readonly LwwMapEntryWrite[]): number[] {
  return Array.from(entries.keys()).sort(
    (a, b) => compareBytes(entries[a]!.field, entries[b]!.field) || a - b,
  );
}

/**
 * `entries` with every entry a later one of the same field supersedes left out, in order: the
 * array itself when no field repeats.
 */
export function lastWritePerField<E extends LwwMapEntryWrite>(entries: readonly E[]): readonly E[] {
  if (duplicateField(entries)[0] === -1) return entries;
  const table = tableFor(entries.length);
  const kept: E[] = [];
  for (let i = entries.length - 1; i >= 0; i--) {
    const earlier = seenBefore(table, entries, i);
    if (earlier === FLOODED) return lastWritePerFieldSorted(entries);
    if (earlier === -1) kept.push(entries[i]!);
  }
  return kept.reverse();
}

/** `lastWritePerField` by sorting: for a flooded table. */
function lastWritePerFieldSorted<E extends LwwMapEntryWrite>(entries: readonly E[]): readonly E[] {
  const order = sortedByField(entries);
  const kept: number[] = [];
  // The last index of each run of one field.
  for (let i = 0; i < order.length; i++) {
    const next = order[i + 1];
    if (next === undefined || !equalBytes(entries[order[i]!]!.field, entries[next]!.field))
      kept.push(order[i]!);
  }
  return kept.sort((a, b) => a - b).map((i) => entries[i]!);
}

/** FNV-1a over the field's bytes. */
function fieldHash(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  return hash >>> 0;
}
