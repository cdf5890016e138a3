import type { LwwMapCell } from "../../crdt/lww-map.ts";
import { makeOp, type Op, type OpKind } from "../../crdt/op.ts";
import type { OpId } from "../../crdt/op-id.ts";
import { mapEntryWireBytesMax, opWireBytesMax } from "../crdt-op-codec.ts";

/**
 * Fields one `lww_map_batch` op made here carries at most: a peer applies one op in one turn of
 * its event loop whatever its size (remote writes applied per turn count entries, but an op is
 * not cut), so this bounds that turn to about a millisecond or two of applying. At 100 000 writes
 * a second to one map, a batch interval (10 ms) makes one op of 1000 entries.
 */
export const LWW_MAP_BATCH_ENTRIES_MAX = 1024;

/**
 * The local writes to one LWW-Map within one batch interval, made into one op
 * (`coalesceMapWrites`): the first write opens it, later ones amend it, a field written again
 * replaces its entry (the newer stamp). Its entries are the map's own new cells (a cell carries
 * what an entry needs: field, value, stamp), so a write allocates nothing beyond its cell, its
 * field's key and an index slot; the op itself is made once per batch (`op`), when it is read or
 * flushed, not per write.
 *
 * An op of one entry is made as the plain `lww_map_set` or `lww_map_remove` it is (the bytes of
 * a build without coalescing): an idle map's single writes cost peers no more than before. The
 * op of several entries is stamped with its newest entry's stamp (its last write's): a receiver's
 * clock then passes every entry stamp with the one `receive` each op gets, so a write it makes
 * after applying the op is stamped after every write the op carries (LWW's causality). The
 * propagation latency a receiver measures is taken from the op's oldest entry (`opOldestStamp`),
 * so a batch's latency covers its first write's wait too, as a counter op's does.
 */
export class MapWriteBatch {
  readonly id: OpId;
  /** Its op's index among the replica's staged ops. */
  readonly staged: number;
  readonly #key: string;
  #cells: LwwMapCell[] = [];
  /** The field (`bytesKey`) of each entry, to its index in `#cells`. */
  readonly #indexOf = new Map<string, number>();
  /** `opWireBytesMax` of the batch op as it stands. */
  #wireBytes: number;
  /** `#cells` is held by an op made from it: copied before it changes. */
  #shared = false;

  constructor(id: OpId, staged: number, key: string) {
    this.id = id;
    this.staged = staged;
    this.#key = key;
    this.#wireBytes = opWireBytesMax({ key, kind: { type: "lww_map_batch", entries: [] } });
  }

  get size(): number {
    return this.#cells.length;
  }

  /**
   * True when the write of `field` (its `bytesKey`) with `value` can join within `bytesMax`
   * (`opWireBytesMax`) and LWW_MAP_BATCH_ENTRIES_MAX; otherwise the batch is closed and the write
   * opens the next one. A first entry always joins (its plain op's size is checked by the caller).
   */
  admits(fieldKey: string, field: Uint8Array, value: Uint8Array | undefined, bytesMax: number): boolean {
    if (this.#cells.length === 0) return true;
    const at = this.#indexOf.get(fieldKey);
    const replaced = at === undefined ? 0 : entryBytes(this.#cells[at]!);
    if (at === undefined && this.#cells.length >= LWW_MAP_BATCH_ENTRIES_MAX) return false;
    return this.#wireBytes - replaced + mapEntryWireBytesMax(field, value) <= bytesMax;
  }

  /** Adds the write `cell` made (of the field named `fieldKey`), replacing that field's entry if it has one. */
  add(fieldKey: string, cell: LwwMapCell): void {
    if (this.#shared) {
      this.#cells = this.#cells.slice();
      this.#shared = false;
    }
    const at = this.#indexOf.get(fieldKey);
    if (at === undefined) {
      this.#indexOf.set(fieldKey, this.#cells.length);
      this.#cells.push(cell);
    } else {
      this.#wireBytes -= entryBytes(this.#cells[at]!);
      this.#cells[at] = cell;
    }
    this.#wireBytes += entryBytes(cell);
  }

  /** The op of the writes so far, on the map `key`, made by this node. */
  op(): Op {
    const cells = this.#cells;
    if (cells.length === 1) {
      const cell = cells[0]!;
      const kind: OpKind =
        cell.value === undefined
          ? { type: "lww_map_remove", field: cell.field }
          : { type: "lww_map_set", field: cell.field, value: cell.value };
      return makeOp(this.id, cell.timestamp, this.#key, kind);
    }
    this.#shared = true;
    let newest = cells[0]!.timestamp;
    for (const cell of cells) if (cell.timestamp > newest) newest = cell.timestamp;
    return makeOp(this.id, newest, this.#key, { type: "lww_map_batch", entries: cells });
  }
}

function entryBytes(cell: LwwMapCell): number {
  return mapEntryWireBytesMax(cell.field, cell.value);
}
