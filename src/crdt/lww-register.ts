import type { NodeId } from "../identity/node-id.ts";
import { compareBytes } from "./byte-order.ts";
import { type Crdt, wrongFamily } from "./crdt.ts";
import type { HlcTimestamp } from "./hybrid-clock.ts";
import type { Op } from "./op.ts";

/** A timestamped write; `value` undefined is a removal (used by LWW-Map tombstones). */
export interface LwwWrite {
  readonly timestamp: HlcTimestamp;
  readonly origin: NodeId;
  readonly value: Uint8Array | undefined;
}

/**
 * The last-writer-wins order: later timestamp wins; on equal timestamps the greater NodeId wins.
 * Equal (timestamp, origin) cannot come from two honest ops (a node's stamps strictly increase);
 * the value order after it only keeps the join total, so even a misbehaving peer cannot split
 * replicas (a removal orders before any value).
 */
export function compareLwwWrites(a: LwwWrite, b: LwwWrite): number {
  if (a.timestamp !== b.timestamp) return a.timestamp - b.timestamp;
  if (a.origin !== b.origin) return a.origin < b.origin ? -1 : 1;
  if (a.value === undefined || b.value === undefined) {
    return (a.value === undefined ? 0 : 1) - (b.value === undefined ? 0 : 1);
  }
  return compareBytes(a.value, b.value);
}

export interface LwwRegisterCell extends LwwWrite {
  readonly value: Uint8Array;
}

/** Last-writer-wins register: the write with the greatest (timestamp, origin) is the value. */
export class LwwRegister implements Crdt<LwwRegisterCell> {
  #current: LwwRegisterCell | undefined;

  /** undefined when never written. */
  value(): Uint8Array | undefined {
    return this.#current?.value;
  }

  applyOp(op: Op): LwwRegisterCell | undefined {
    if (op.kind.type !== "lww_set") return wrongFamily("lww_register", op);
    return this.mergeCell({ timestamp: op.timestamp, origin: op.origin, value: op.kind.value });
  }

  mergeCell(cell: LwwRegisterCell): LwwRegisterCell | undefined {
    if (this.#current !== undefined && compareLwwWrites(cell, this.#current) <= 0) return undefined;
    this.#current = cell;
    return cell;
  }

  merge(other: LwwRegister): void {
    for (const cell of other.cells()) this.mergeCell(cell);
  }

  cells(): LwwRegisterCell[] {
    return this.#current === undefined ? [] : [this.#current];
  }
}
