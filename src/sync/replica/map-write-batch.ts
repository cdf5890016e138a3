import { lastWritePerField } from "../../crdt/entry-fields.ts";
import type { LwwMapCell } from "../../crdt/lww-map.ts";
import { makeOp, type Op, type OpKind } from "../../crdt/op.ts";
import type { OpId } from "../../crdt/op-id.ts";
import { MAX_MESSAGE_SIZE_MIN_BYTES } from "../../net/frame.ts";
import { mapEntryWireBytesMax, opWireBytesMax } from "../crdt-op-codec.ts";
import { opBytesMaxOf } from "../op-wire-budget.ts";

/**
 * Wire bytes an op of two or more entries takes at most, whatever this node's own
 * `max_message_size`: what the smallest limit any peer may announce (MAX_MESSAGE_SIZE_MIN_BYTES)
 * carries, 3968 bytes, so at most 62 entries (MAP_ENTRY_WIRE_BYTES_MAX each beside their bytes):
 * a peer applies one op in one turn of its event loop, and this bounds that turn too. Ops of
 * about 45 entries (the gates' 8-byte fields and values) cost the apply path what ops of 1000 did
 * (`npm run bench -- replica-apply` with either, alternated: 11.4-13.7 against 13.4-15.9 µs per
 * write), the per-op costs being that small a share once shared by 45 writes. An op no frame to a peer can hold is left out of that peer's batches, so a batch cut at
 * this node's larger limit would have cost a peer with a smaller one every field in it, where the
 * same writes as ops of their own reached it (test/sync/map-batch-message-size.test.ts). A write
 * too large for it alone is an op of its own, checked against this node's limit as without
 * coalescing.
 */
export const MAP_BATCH_BYTES_MAX = opBytesMaxOf(MAX_MESSAGE_SIZE_MIN_BYTES);

/**
 * The local writes to one LWW-Map within one batch interval, made into one op
 * (`coalesceMapWrites`): the first write opens it, later ones amend it, a field written again
 * keeps only its newest write (the newer stamp). Its entries are the map's own new cells (a cell
 * carries what an entry needs: field, value, stamp), so a write allocates nothing beyond its cell
 * and an array slot; the op itself is made once per batch (`op`), when it is read or flushed,
 * not per write.
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
  /**
   * The writes in order, a field written again appended again: the superseded entries are left
   * out when the op is made (`lastWritePerField`), not looked up per write.
   */
  #cells: LwwMapCell[] = [];
  /** `opWireBytesMax` of an op of every entry in `#cells` (superseded ones too: an upper bound). */
  #wireBytes: number;
  /** `#cells` is held by an op made from it: copied before it changes. */
  #shared = false;

  constructor(id: OpId, staged: number, key: string) {
    this.id = id;
    this.staged = staged;
    this.#key = key;
    this.#wireBytes = opWireBytesMax({ key, kind: { type: "lww_map_batch", entries: [] } });
  }

  /**
   * True when a write of `field` with `value` can join within `bytesMax` (`opWireBytesMax`; a
   * field written again counts again); otherwise the batch is closed
   * and the write opens the next one. A first entry always joins (its plain op's size is checked
   * by the caller).
   */
  admits(field: Uint8Array, value: Uint8Array | undefined, bytesMax: number): boolean {
    if (this.#cells.length === 0) return true;
    const entryBytes = mapEntryWireBytesMax(field, value);
    // Full: superseded writes are dropped first (a field written over and over fills it alone).
    return this.#fits(entryBytes, bytesMax) || (this.#compact() && this.#fits(entryBytes, bytesMax));
  }

  #fits(entryBytes: number, bytesMax: number): boolean {
    return this.#wireBytes + entryBytes <= bytesMax;
  }

  /** Adds the write `cell` made. */
  add(cell: LwwMapCell): void {
    if (this.#shared) {
      this.#cells = this.#cells.slice();
      this.#shared = false;
    }
    this.#cells.push(cell);
    this.#wireBytes += mapEntryWireBytesMax(cell.field, cell.value);
  }

  /** Leaves out the writes later ones supersede; true when there were any. */
  #compact(): boolean {
    const cells = lastWritePerField(this.#cells) as LwwMapCell[];
    if (cells === this.#cells) return false;
    this.#cells = cells;
    this.#shared = false;
    this.#wireBytes = opWireBytesMax({ key: this.#key, kind: { type: "lww_map_batch", entries: cells } });
    return true;
  }

  /** The op of the writes so far, on the map `key`, made by this node. */
  op(): Op {
    this.#compact();
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
