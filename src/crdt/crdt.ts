import type { Op } from "./op.ts";
import type { OpId } from "./op-id.ts";

/**
 * The shape every family shares. A family's state is a set of cells (a counter slot, a map
 * field, a set element, a sequence element); an op is turned into a delta cell and joined in, so
 * `applyOp` and `mergeCell` are the same join: commutative, associative and idempotent.
 * The replica persists exactly the cells a call returns, and rebuilds state by merging the
 * stored cells back (hydration) — a state snapshot from a peer merges the same way.
 */
export interface Crdt<Cell> {
  /** Joins the op in; returns the cell to persist, or undefined when the state did not change. */
  applyOp(op: Op): Cell | undefined;
  /** Joins a cell in (hydration, snapshots, state merge); same result contract as applyOp. */
  mergeCell(cell: Cell): Cell | undefined;
  /** The whole state as cells, in a canonical order: equal states give equal cell lists. */
  cells(): Cell[];
  /**
   * Families with tombstones (OR-Set, LWW-Map, RGA) drop those made in tombstone epochs up to
   * `epoch` once the caller knows them causally stable (docs/design/compaction.md). `covered`
   * says whether this replica has applied an op (its version vector covers the OpId). The value
   * read from the CRDT does not change.
   */
  collectTombstones?(epoch: number, covered: (id: OpId) => boolean): CollectedCells<Cell>;
  /**
   * True when a peer's state cell is of something this replica collected (RGA: an element its
   * version vector covers and that is gone): merging it would bring a tombstone back.
   */
  isCollected?(cell: Cell, covered: (id: OpId) => boolean): boolean;
}

/** What a collection changed: cells to write again (smaller) and cells to delete from the store. */
export interface CollectedCells<Cell> {
  readonly rewritten: readonly Cell[];
  readonly dropped: readonly Cell[];
}

/**
 * The tombstone epoch the replica is in: every tombstone records the epoch it was made in, and
 * the replica closes an epoch on each compaction pass (src/sync/replica/tombstone-stability.ts).
 * Shared by every CRDT of one replica; a CRDT made without one puts every tombstone in epoch 0.
 */
export interface TombstoneEpoch {
  readonly current: number;
}

export const EPOCH_ZERO: TombstoneEpoch = { current: 0 };

/** An op routed to the wrong family is a broken invariant of the caller, not bad input. */
export function wrongFamily(family: string, op: Op): never {
  throw new TypeError(`${family} cannot apply an op of type ${op.kind.type}`);
}
