import type { Op } from "./op.ts";

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
}

/** An op routed to the wrong family is a broken invariant of the caller, not bad input. */
export function wrongFamily(family: string, op: Op): never {
  throw new TypeError(`${family} cannot apply an op of type ${op.kind.type}`);
}
