import type { NodeId } from "../identity/node-id.ts";
import { type Crdt, wrongFamily } from "./crdt.ts";
import { GCounter } from "./g-counter.ts";
import type { Op } from "./op.ts";

/** One node's two slots: its increments and its decrements. */
export interface PNCounterCell {
  readonly origin: NodeId;
  readonly positive: bigint;
  readonly negative: bigint;
}

/**
 * Counter that goes both ways: two GCounters, value = increments − decrements. Each side
 * saturates at 2^64-1, so the value lies in [−(2^64−1), 2^64−1] (the ABI clamps it to i64).
 */
export class PNCounter implements Crdt<PNCounterCell> {
  readonly #positive = new GCounter();
  readonly #negative = new GCounter();

  /**
   * Its increments, a G-Counter of their own: a local increment amending an open op moves its
   * slot with `GCounter.addToSlot`, as a G-Counter's increment does (the same path, one for both).
   */
  get increments(): GCounter {
    return this.#positive;
  }

  /** Its decrements, a G-Counter of their own (see `increments`). */
  get decrements(): GCounter {
    return this.#negative;
  }

  /** The positive slot `origin` reaches by incrementing `delta`: what its inc op carries. */
  incrementedSlot(origin: NodeId, delta: bigint): bigint {
    return this.#positive.incrementedSlot(origin, delta);
  }

  /** The negative slot `origin` reaches by decrementing `delta`: what its dec op carries. */
  decrementedSlot(origin: NodeId, delta: bigint): bigint {
    return this.#negative.incrementedSlot(origin, delta);
  }

  value(): bigint {
    return this.#positive.value() - this.#negative.value();
  }

  applyOp(op: Op): PNCounterCell | undefined {
    const kind = op.kind;
    if (kind.type === "pncounter_inc")
      return this.mergeCell({ origin: op.origin, positive: kind.slot, negative: 0n });
    if (kind.type === "pncounter_dec")
      return this.mergeCell({ origin: op.origin, positive: 0n, negative: kind.slot });
    return wrongFamily("pncounter", op);
  }

  mergeCell(cell: PNCounterCell): PNCounterCell | undefined {
    const grewPositive = this.#positive.mergeCell({ origin: cell.origin, slot: cell.positive }) !== undefined;
    const grewNegative = this.#negative.mergeCell({ origin: cell.origin, slot: cell.negative }) !== undefined;
    if (!grewPositive && !grewNegative) return undefined;
    return this.cellOf(cell.origin);
  }

  merge(other: PNCounter): void {
    for (const cell of other.cells()) this.mergeCell(cell);
  }

  cells(): PNCounterCell[] {
    const origins = new Set<NodeId>();
    for (const c of this.#positive.cells()) origins.add(c.origin);
    for (const c of this.#negative.cells()) origins.add(c.origin);
    return [...origins].sort().map((origin) => this.cellOf(origin));
  }

  /** `origin`'s cell as it stands: what a staged op amended through `increments` or `decrements` writes. */
  cellOf(origin: NodeId): PNCounterCell {
    return { origin, positive: this.#positive.slot(origin), negative: this.#negative.slot(origin) };
  }
}
