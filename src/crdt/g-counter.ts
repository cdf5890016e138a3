import type { NodeId } from "../identity/node-id.ts";
import { type Crdt, wrongFamily } from "./crdt.ts";
import type { Op } from "./op.ts";
import { saturatingAddU64, U64_MAX } from "./saturating-u64.ts";

/** One node's slot: the sum of that node's increments (saturating u64). */
export interface GCounterCell {
  readonly origin: NodeId;
  readonly slot: bigint;
}

/** The largest delta `addToSlot` keeps as a number (larger ones are added at once). */
const PENDING_DELTA_MAX = 1n << 32n;
/** Pending increments are folded in past this, so the number stays exact (< 2^53 with one more delta). */
const PENDING_MAX = 2 ** 52;

/**
 * Grow-only counter: one slot per node, only its owner increments it, the value is the sum.
 * Join = per-slot max. The value saturates at 2^64-1 like every slot.
 */
export class GCounter implements Crdt<GCounterCell> {
  readonly #slots = new Map<NodeId, bigint>();
  #sum = 0n;
  /**
   * Increments `addToSlot` took for `#pendingOrigin` and not yet added to its slot and the sum,
   * as a number: adding each as BigInts made three BigInts per increment (a million a second at
   * the gates' rates). Every read folds them in first (`#settle`).
   */
  #pending = 0;
  #pendingOrigin: NodeId | undefined;

  value(): bigint {
    this.#settle();
    // biome-ignore lint/complexity/useMathMinMax: bigint, which Math.min does not take
    return this.#sum > U64_MAX ? U64_MAX : this.#sum;
  }

  slot(origin: NodeId): bigint {
    this.#settle();
    return this.#slots.get(origin) ?? 0n;
  }

  /** `origin`'s cell as it stands: what a staged op amended by `addToSlot` writes. */
  cellOf(origin: NodeId): GCounterCell {
    return { origin, slot: this.slot(origin) };
  }

  /** The slot total `origin` reaches by adding `delta`: what its increment op carries. */
  incrementedSlot(origin: NodeId, delta: bigint): bigint {
    return saturatingAddU64(this.slot(origin), delta);
  }

  /**
   * Adds `delta` to `origin`'s slot (saturating), making no cell: a local increment amending an
   * op still open, whose op and cell are made from the slot once per store batch. Returns
   * whether the slot moved (true also for a slot that saturated since the last read: the op
   * made from it is then the one already made).
   */
  addToSlot(origin: NodeId, delta: bigint): boolean {
    // A slot only grows: the replica passes a u64 (BigInt.asUintN), never a negative delta.
    if (delta < 0n) throw new RangeError(`a G-Counter increment is never negative, got ${delta}`);
    if (delta === 0n || this.#slots.get(origin) === U64_MAX) return false;
    if (origin !== this.#pendingOrigin) {
      this.#settle();
      this.#pendingOrigin = origin;
    }
    if (delta > PENDING_DELTA_MAX) {
      this.#settle();
      this.#add(origin, delta);
      return true;
    }
    this.#pending += Number(delta);
    if (this.#pending > PENDING_MAX) this.#settle();
    return true;
  }

  applyOp(op: Op): GCounterCell | undefined {
    if (op.kind.type !== "gcounter_inc") return wrongFamily("gcounter", op);
    return this.mergeCell({ origin: op.origin, slot: op.kind.slot });
  }

  mergeCell(cell: GCounterCell): GCounterCell | undefined {
    this.#settle();
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
    this.#settle();
    return [...this.#slots]
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([origin, slot]) => ({ origin, slot }));
  }

  #settle(): void {
    if (this.#pending === 0) return;
    const pending = this.#pending;
    this.#pending = 0;
    this.#add(this.#pendingOrigin!, BigInt(pending));
  }

  #add(origin: NodeId, delta: bigint): void {
    const current = this.#slots.get(origin) ?? 0n;
    const slot = saturatingAddU64(current, delta);
    this.#slots.set(origin, slot);
    this.#sum += slot - current;
  }
}
