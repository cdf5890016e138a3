import { bytesKey } from "../bytes/bytes-key.ts";
import { compareBytes } from "./byte-order.ts";
import { type CollectedCells, type Crdt, EPOCH_ZERO, type TombstoneEpoch, wrongFamily } from "./crdt.ts";
import { compareLwwWrites, type LwwWrite } from "./lww-register.ts";
import type { Op, OpKindOf } from "./op.ts";

/** One field's last write; `value` undefined is a tombstone (the field was removed). */
export interface LwwMapCell extends LwwWrite {
  readonly field: Uint8Array;
}

/**
 * Map of last-writer-wins registers, one per field. A removal is kept as a timestamped
 * tombstone, so a write older than the removal that arrives late cannot bring the field back;
 * a newer write does (remove then re-set works). A tombstone is dropped by `collectTombstones`
 * once its remove is causally stable: every write concurrent with it has been applied here
 * already, and any later write is stamped after it, so it would win anyway.
 */
export class LwwMap implements Crdt<LwwMapCell> {
  readonly #fields = new Map<string, LwwMapCell>();
  /** Fields holding a tombstone, with the tombstone epoch it was written in. */
  readonly #tombstoneEpochs = new Map<string, number>();
  readonly #epoch: TombstoneEpoch;
  #liveSorted: (readonly [Uint8Array, Uint8Array])[] | undefined;

  constructor(epoch: TombstoneEpoch = EPOCH_ZERO) {
    this.#epoch = epoch;
  }

  get(field: Uint8Array): Uint8Array | undefined {
    return this.#fields.get(bytesKey(field))?.value;
  }

  has(field: Uint8Array): boolean {
    return this.get(field) !== undefined;
  }

  /** Live entries in field order (bytewise). The array is shared until the next change. */
  entries(): readonly (readonly [field: Uint8Array, value: Uint8Array])[] {
    if (this.#liveSorted === undefined) {
      const live: (readonly [Uint8Array, Uint8Array])[] = [];
      for (const cell of this.#fields.values())
        if (cell.value !== undefined) live.push([cell.field, cell.value]);
      this.#liveSorted = live.sort((a, b) => compareBytes(a[0], b[0]));
    }
    return this.#liveSorted;
  }

  applyOp(op: Op): LwwMapCell | undefined {
    const kind = op.kind;
    if (kind.type === "lww_map_set") {
      return this.mergeCell({
        field: kind.field,
        timestamp: op.timestamp,
        origin: op.origin,
        value: kind.value,
      });
    }
    if (kind.type === "lww_map_remove") {
      return this.mergeCell({
        field: kind.field,
        timestamp: op.timestamp,
        origin: op.origin,
        value: undefined,
      });
    }
    if (kind.type === "lww_map_batch") {
      throw new TypeError("an lww_map_batch op changes several fields: apply it with applyEntries");
    }
    return wrongFamily("lww_map", op);
  }

  /**
   * Joins every entry of a batch op in, each by its own stamp, exactly as the separate set and
   * remove ops would be; hands each cell that changed (to persist) to `changed`, with its field's
   * `bytesKey` (the cell's id), in entry order.
   */
  applyEntries(
    op: Op<OpKindOf<"lww_map_batch">>,
    changed: (fieldKey: string, cell: LwwMapCell) => void,
  ): void {
    for (const entry of op.kind.entries) {
      const key = bytesKey(entry.field);
      const cell = this.mergeCellAt(key, {
        field: entry.field,
        timestamp: entry.timestamp,
        origin: op.origin,
        value: entry.value,
      });
      if (cell !== undefined) changed(key, cell);
    }
  }

  /** The field's cell (its last write or tombstone) under its `bytesKey`, if any. */
  cellAt(fieldKey: string): LwwMapCell | undefined {
    return this.#fields.get(fieldKey);
  }

  mergeCell(cell: LwwMapCell): LwwMapCell | undefined {
    return this.mergeCellAt(bytesKey(cell.field), cell);
  }

  /** `mergeCell` with the field's `bytesKey` already made. */
  mergeCellAt(key: string, cell: LwwMapCell): LwwMapCell | undefined {
    const current = this.#fields.get(key);
    if (current !== undefined && compareLwwWrites(cell, current) <= 0) return undefined;
    this.#fields.set(key, cell);
    if (cell.value === undefined) this.#tombstoneEpochs.set(key, this.#epoch.current);
    else if (this.#tombstoneEpochs.size > 0) this.#tombstoneEpochs.delete(key);
    this.#liveSorted = undefined;
    return cell;
  }

  collectTombstones(epoch: number): CollectedCells<LwwMapCell> {
    const dropped: LwwMapCell[] = [];
    for (const [key, made] of this.#tombstoneEpochs) {
      if (made > epoch) continue;
      dropped.push(this.#fields.get(key)!);
      this.#fields.delete(key);
      this.#tombstoneEpochs.delete(key);
    }
    return { rewritten: [], dropped };
  }

  merge(other: LwwMap): void {
    for (const cell of other.cells()) this.mergeCell(cell);
  }

  cells(): LwwMapCell[] {
    return [...this.#fields.values()].sort((a, b) => compareBytes(a.field, b.field));
  }
}
