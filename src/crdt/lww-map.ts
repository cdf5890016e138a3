import { bytesKey, bytesOfKey } from "../bytes/bytes-key.ts";
import { type CollectedCells, type Crdt, EPOCH_ZERO, type TombstoneEpoch, wrongFamily } from "./crdt.ts";
import { compareLwwWrites, type LwwWrite } from "./lww-register.ts";
import type { Op, OpKindOf } from "./op.ts";

/** One field's last write; `value` undefined is a tombstone (the field was removed). */
export interface LwwMapCell extends LwwWrite {
  readonly field: Uint8Array;
}

/** `bytesKey` order is the fields' bytewise order: a key's chars are its bytes (0-255). */
function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Map of last-writer-wins registers, one per field. A removal is kept as a timestamped
 * tombstone, so a write older than the removal that arrives late cannot bring the field back;
 * a newer write does (remove then re-set works). A tombstone is dropped by `collectTombstones`
 * once its remove is causally stable: every write concurrent with it has been applied here
 * already, and any later write is stamped after it, so it would win anyway.
 *
 * A field's bytes are kept once, as its `bytesKey`: a stored write has no `field` of its own,
 * and the cells handed out (`cells`, `entries`, `collectTombstones`) are made from the key when
 * asked. A node applying distinct-key writes keeps hundreds of thousands of fields, and each
 * one's own field array was about a third of its heap (src/crdt/lww-map-heap.test.ts).
 */
export class LwwMap implements Crdt<LwwMapCell> {
  /** Each field's last write under the field's `bytesKey`. */
  readonly #fields = new Map<string, LwwWrite>();
  /** Fields holding a tombstone, with the tombstone epoch it was written in. */
  readonly #tombstoneEpochs = new Map<string, number>();
  readonly #epoch: TombstoneEpoch;
  /**
   * The last `entries()`, held weakly: its field arrays are made from the keys, so held strongly
   * a read of a big map would keep every field's bytes twice again until the next change.
   */
  #liveSorted: WeakRef<(readonly [Uint8Array, Uint8Array])[]> | undefined;

  constructor(epoch: TombstoneEpoch = EPOCH_ZERO) {
    this.#epoch = epoch;
  }

  get(field: Uint8Array): Uint8Array | undefined {
    return this.#fields.get(bytesKey(field))?.value;
  }

  has(field: Uint8Array): boolean {
    return this.get(field) !== undefined;
  }

  /**
   * Live entries in field order (bytewise). The array may be shared until the next change (a
   * later call gets the same one unless a garbage collection took it).
   */
  entries(): readonly (readonly [field: Uint8Array, value: Uint8Array])[] {
    let live = this.#liveSorted?.deref();
    if (live === undefined) {
      const liveKeys: string[] = [];
      for (const [key, write] of this.#fields) if (write.value !== undefined) liveKeys.push(key);
      live = liveKeys
        .sort(compareKeys)
        .map((key) => [bytesOfKey(key), this.#fields.get(key)!.value!] as const);
      this.#liveSorted = new WeakRef(live);
    }
    return live;
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
   * remove ops would be; hands each write that is now a field's (to persist) to `changed`, with
   * its field's `bytesKey` (the cell's id), in entry order. The write is the one kept: no cell
   * is made per entry (`CellStoreWrites.lwwMapCell` takes the field from the key).
   */
  applyEntries(
    op: Op<OpKindOf<"lww_map_batch">>,
    changed: (fieldKey: string, write: LwwWrite) => void,
  ): void {
    const origin = op.origin;
    for (const entry of op.kind.entries) {
      const key = bytesKey(entry.field);
      const write: LwwWrite = { timestamp: entry.timestamp, origin, value: entry.value };
      if (this.#mergeWrite(key, write)) changed(key, write);
    }
  }

  mergeCell(cell: LwwMapCell): LwwMapCell | undefined {
    const { timestamp, origin, value } = cell;
    return this.#mergeWrite(bytesKey(cell.field), { timestamp, origin, value }) ? cell : undefined;
  }

  /**
   * `mergeCell` with the field's `bytesKey` already made, keeping `cell` itself, its field too:
   * a node's own write shares its cell with its batch op until the flush, and a copy made both
   * survive young collections (`npm run bench -- map-write` cost 9-19 % more with one).
   */
  mergeCellAt(key: string, cell: LwwMapCell): LwwMapCell | undefined {
    return this.#mergeWrite(key, cell) ? cell : undefined;
  }

  /** Keeps `write` as the field's under `key` if it wins over what is kept; true if it did. */
  #mergeWrite(key: string, write: LwwWrite): boolean {
    const current = this.#fields.get(key);
    if (current !== undefined && compareLwwWrites(write, current) <= 0) return false;
    this.#fields.set(key, write);
    if (write.value === undefined) this.#tombstoneEpochs.set(key, this.#epoch.current);
    else if (this.#tombstoneEpochs.size > 0) this.#tombstoneEpochs.delete(key);
    this.#liveSorted = undefined;
    return true;
  }

  /** The cell of the write kept under `key`. */
  #cellAt(key: string, write: LwwWrite): LwwMapCell {
    return { field: bytesOfKey(key), timestamp: write.timestamp, origin: write.origin, value: write.value };
  }

  collectTombstones(epoch: number): CollectedCells<LwwMapCell> {
    const dropped: LwwMapCell[] = [];
    for (const [key, made] of this.#tombstoneEpochs) {
      if (made > epoch) continue;
      dropped.push(this.#cellAt(key, this.#fields.get(key)!));
      this.#fields.delete(key);
      this.#tombstoneEpochs.delete(key);
    }
    return { rewritten: [], dropped };
  }

  merge(other: LwwMap): void {
    for (const cell of other.cells()) this.mergeCell(cell);
  }

  cells(): LwwMapCell[] {
    return [...this.#fields.keys()].sort(compareKeys).map((key) => this.#cellAt(key, this.#fields.get(key)!));
  }
}
