import { bytesKey, compareBytes } from "./byte-order.ts";
import { type Crdt, wrongFamily } from "./crdt.ts";
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
  readonly removed: Map<string, OpId>;
}

/**
 * Observed-remove set, add-wins. Every add creates a unique tag (its OpId); a remove covers only
 * the tags its origin had observed, so an add concurrent with a remove survives it. Removed tags
 * are kept as tombstones, so a remove that arrives before the add it covers still wins over it
 * (delivery needs no causal order). Tombstones grow with the number of removed adds per element.
 */
export class OrSet implements Crdt<OrSetCell> {
  readonly #elements = new Map<string, ElementState>();
  #liveSorted: Uint8Array[] | undefined;

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
      state.removed.set(name, tag);
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
    removed: [...state.removed.values()].sort(compareOpIds),
  };
}
