import type { LwwMapEntryWrite } from "./op.ts";

// Finding the same field among a batch's entries without a string or a Set entry per field (as
// `bytesKey` and a Set did: 4.5 % of a gate node's CPU): an open-addressed table of entry indices
// by field hash, reused by every call (they run on one thread, never reentrantly).

let slots = new Int32Array(2048);

/** The shared table, cleared, with room for `count` entries (at most half full). */
function tableFor(count: number): Int32Array {
  let size = 64;
  while (size < count * 2) size *= 2;
  if (size > slots.length) slots = new Int32Array(size);
  slots.fill(0, 0, size);
  return size === slots.length ? slots : slots.subarray(0, size);
}

/**
 * Looks `entries[index]`'s field up in `table` (entry indices + 1) and adds it when absent:
 * returns the index of the entry that had it already, or -1.
 */
function seenBefore(table: Int32Array, entries: readonly LwwMapEntryWrite[], index: number): number {
  const mask = table.length - 1;
  const field = entries[index]!.field;
  let slot = fieldHash(field) & mask;
  for (let taken = table[slot]!; taken !== 0; taken = table[slot]!) {
    if (sameBytes(entries[taken - 1]!.field, field)) return taken - 1;
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
    if (earlier !== -1) return [i, earlier];
  }
  return [-1, -1];
}

/**
 * `entries` with every entry a later one of the same field supersedes left out, in order: the
 * array itself when no field repeats.
 */
export function lastWritePerField<E extends LwwMapEntryWrite>(entries: readonly E[]): readonly E[] {
  if (duplicateField(entries)[0] === -1) return entries;
  const table = tableFor(entries.length);
  const kept: E[] = [];
  for (let i = entries.length - 1; i >= 0; i--)
    if (seenBefore(table, entries, i) === -1) kept.push(entries[i]!);
  return kept.reverse();
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
