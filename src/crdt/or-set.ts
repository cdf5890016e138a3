import { bytesKey } from "../bytes/bytes-key.ts";
import { compareBytes } from "./byte-order.ts";
import { type CollectedCells, type Crdt, EPOCH_ZERO, type TombstoneEpoch, wrongFamily } from "./crdt.ts";
import type { Op } from "./op.ts";
import { compareOpIds, formatOpId, type OpId } from "./op-id.ts";

/** One element: its live add-tags and the tags removals have covered (tombstones). */
export interface OrSetCell {
  readonly element: Uint8Array;
  readonly tags: readonly OpId[];
  readonly removed: readonly OpId[];
}

interface ElementState {
  readonly element: Uint8Array;
  readonly live: Map<string, OpId>;
  /** Removed tags and the tombstone epoch each was removed in. */
  readonly removed: Map<string, { readonly tag: OpId; readonly epoch: number }>;
}

/**
 * Observed-remove set, add-wins. Every add creates a unique tag (its OpId); a remove covers only
 * the tags its origin had observed, so an add concurrent with a remove survives it. Removed tags
 * are kept as tombstones, so a remove that arrives before the add it covers still wins over it
 * (delivery needs no causal order). A tombstone is dropped by `collectTombstones` once its
 * remove is causally stable and this replica has applied the add it covers: that add is then
 * refused by the replica's de-duplication, so the tombstone has nothing left to stop.
 */
export class OrSet implements Crdt<OrSetCell> {
  readonly #elements = new Map<string, ElementState>();
  readonly #epoch: TombstoneEpoch;
  #liveSorted: Uint8Array[] | undefined;

  constructor(epoch: TombstoneEpoch = EPOCH_ZERO) {
    this.#epoch = epoch;
  }

  has(element: Uint8Array): boolean {
    const state = this.#elements.get(bytesKey(element));
    return state !== undefined && state.live.size > 0;
  }

  /** The live tags of `element`: what a local remove covers. */
  observedTags(element: Uint8Array): OpId[] {
    const state = this.#elements.get(bytesKey(element));
    return state === undefined ? [] : [...state.live.values()].sort(compareOpIds);
  }

  /** Live elements, sorted bytewise. The array is shared until the next change. */
  elements(): readonly Uint8Array[] {
    if (this.#liveSorted === undefined) {
      const live: Uint8Array[] = [];
      for (const state of this.#elements.values()) if (state.live.size > 0) live.push(state.element);
      this.#liveSorted = live.sort(compareBytes);
    }
    return this.#liveSorted;
  }

  applyOp(op: Op): OrSetCell | undefined {
    const kind = op.kind;
    if (kind.type === "orset_add")
      return this.mergeCell({ element: kind.element, tags: [op.id], removed: [] });
    if (kind.type === "orset_remove")
      return this.mergeCell({ element: kind.element, tags: [], removed: kind.tags });
    return wrongFamily("orset", op);
  }

  mergeCell(cell: OrSetCell): OrSetCell | undefined {
    const key = bytesKey(cell.element);
    let state = this.#elements.get(key);
    if (state === undefined) {
      state = { element: cell.element, live: new Map(), removed: new Map() };
      this.#elements.set(key, state);
    }
    const wasLive = state.live.size > 0;
    let changed = false;
    for (const tag of cell.removed) {
      const name = formatOpId(tag);
      if (state.removed.has(name)) continue;
      state.removed.set(name, { tag, epoch: this.#epoch.current });
      state.live.delete(name);
      changed = true;
    }
    for (const tag of cell.tags) {
      const name = formatOpId(tag);
      if (state.removed.has(name) || state.live.has(name)) continue;
      state.live.set(name, tag);
      changed = true;
    }
    if (!changed) {
      if (state.live.size === 0 && state.removed.size === 0) this.#elements.delete(key);
      return undefined;
    }
    if (wasLive !== state.live.size > 0) this.#liveSorted = undefined;
    return cellOf(state);
  }

  collectTombstones(epoch: number, covered: (id: OpId) => boolean): CollectedCells<OrSetCell> {
    const rewritten: OrSetCell[] = [];
    const dropped: OrSetCell[] = [];
    for (const [key, state] of this.#elements) {
      let changed = false;
      for (const [name, removed] of state.removed) {
        if (removed.epoch > epoch || !covered(removed.tag)) continue;
        state.removed.delete(name);
        changed = true;
      }
      if (!changed) continue;
      if (state.live.size === 0 && state.removed.size === 0) {
        this.#elements.delete(key);
        dropped.push({ element: state.element, tags: [], removed: [] });
      } else rewritten.push(cellOf(state));
    }
    return { rewritten, dropped };
  }

  merge(other: OrSet): void {
    for (const cell of other.cells()) this.mergeCell(cell);
  }

  cells(): OrSetCell[] {
    return [...this.#elements.values()].map(cellOf).sort((a, b) => compareBytes(a.element, b.element));
  }
}

function cellOf(state: ElementState): OrSetCell {
  return {
    element: state.element,
    tags: [...state.live.values()].sort(compareOpIds),
    removed: [...state.removed.values()].map((r) => r.tag).sort(compareOpIds),
  };
}
