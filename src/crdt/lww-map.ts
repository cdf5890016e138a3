import { bytesKey, compareBytes } from "./byte-order.ts";
import { type Crdt, wrongFamily } from "./crdt.ts";
import { compareLwwWrites, type LwwWrite } from "./lww-register.ts";
import type { Op } from "./op.ts";

/** One field's last write; `value` undefined is a tombstone (the field was removed). */
export interface LwwMapCell extends LwwWrite {
  readonly field: Uint8Array;
}

/**
 * Map of last-writer-wins registers, one per field. A removal is kept as a timestamped
 * tombstone, so a write older than the removal that arrives late cannot bring the field back;
 * a newer write does (remove then re-set works). Tombstones are never dropped.
 */
export class LwwMap implements Crdt<LwwMapCell> {
  readonly #fields = new Map<string, LwwMapCell>();
  #liveSorted: (readonly [Uint8Array, Uint8Array])[] | undefined;

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
    return wrongFamily("lww_map", op);
  }

  mergeCell(cell: LwwMapCell): LwwMapCell | undefined {
    const key = bytesKey(cell.field);
    const current = this.#fields.get(key);
    if (current !== undefined && compareLwwWrites(cell, current) <= 0) return undefined;
    this.#fields.set(key, cell);
    this.#liveSorted = undefined;
    return cell;
  }

  merge(other: LwwMap): void {
    for (const cell of other.cells()) this.mergeCell(cell);
  }

  cells(): LwwMapCell[] {
    return [...this.#fields.values()].sort((a, b) => compareBytes(a.field, b.field));
  }
}
