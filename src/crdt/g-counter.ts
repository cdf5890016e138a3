import type { NodeId } from "../identity/node-id.ts";
import { type Crdt, wrongFamily } from "./crdt.ts";
import type { Op } from "./op.ts";
import { saturatingAddU64, U64_MAX } from "./saturating-u64.ts";

/** One node's slot: the sum of that node's increments (saturating u64). */
export interface GCounterCell {
  readonly origin: NodeId;
  readonly slot: bigint;
}

/**
 * Grow-only counter: one slot per node, only its owner increments it, the value is the sum.
 * Join = per-slot max. The value saturates at 2^64-1 like every slot.
 */
export class GCounter implements Crdt<GCounterCell> {
  readonly #slots = new Map<NodeId, bigint>();
  #sum = 0n;

  value(): bigint {
    // biome-ignore lint/complexity/useMathMinMax: bigint, which Math.min does not take
    return this.#sum > U64_MAX ? U64_MAX : this.#sum;
  }

  slot(origin: NodeId): bigint {
    return this.#slots.get(origin) ?? 0n;
  }

  /** The slot total `origin` reaches by adding `delta`: what its increment op carries. */
  incrementedSlot(origin: NodeId, delta: bigint): bigint {
    return saturatingAddU64(this.slot(origin), delta);
  }

  applyOp(op: Op): GCounterCell | undefined {
    if (op.kind.type !== "gcounter_inc") return wrongFamily("gcounter", op);
    return this.mergeCell({ origin: op.origin, slot: op.kind.slot });
  }

  mergeCell(cell: GCounterCell): GCounterCell | undefined {
    const current = this.#slots.get(cell.origin) ?? 0n;
    if (cell.slot <= current) return undefined;
    this.#slots.set(cell.origin, cell.slot);
    this.#sum += cell.slot - current;
    return cell;
  }

  merge(other: GCounter): void {
    for (const cell of other.cells()) this.mergeCell(cell);
  }

  cells(): GCounterCell[] {
    return [...this.#slots]
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([origin, slot]) => ({ origin, slot }));
  }
}
