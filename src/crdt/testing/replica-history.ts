import fc from "fast-check";
import type { NodeId } from "../../identity/node-id.ts";
import type { Crdt } from "../crdt.ts";
import { type CellOf, type CrdtOf, familyDefinition } from "../crdt-families.ts";
import type { GCounter } from "../g-counter.ts";
import { HybridClock } from "../hybrid-clock.ts";
import { type CrdtFamily, makeOp, type Op, type OpKind } from "../op.ts";
import { makeOpId } from "../op-id.ts";
import type { OrSet } from "../or-set.ts";
import type { PNCounter } from "../pn-counter.ts";
import type { Rga } from "../rga.ts";
import { U64_MAX } from "../saturating-u64.ts";

/** One step of a simulated history: which replica acts, what it does, with which numbers. */
export type HistoryAction = readonly [kind: number, replica: number, a: number, b: number];

export const historyActions = (maxLength = 40): fc.Arbitrary<HistoryAction[]> =>
  fc.array(fc.tuple(fc.nat(99), fc.nat(7), fc.nat(1_000_000), fc.nat(1_000_000)), { maxLength });

export const REPLICA_IDS: readonly NodeId[] = [
  "11111111111111111111111111111111",
  "22222222222222222222222222222222",
  "33333333333333333333333333333333",
] as NodeId[];

interface SimReplica<F extends CrdtFamily> {
  readonly nodeId: NodeId;
  seq: number;
  timeMs: number;
  readonly clock: HybridClock;
  readonly crdt: CrdtOf<F> & Crdt<CellOf<F>>;
  /** Ops this replica has applied, in the order it applied them (a causal order). */
  readonly log: Op[];
  readonly seen: Set<string>;
}

export interface History<F extends CrdtFamily> {
  /** Every op made, in creation order. */
  readonly ops: Op[];
  /** Each replica's final state (they differ: delivery is partial). */
  readonly states: CellOf<F>[][];
}

/**
 * Plays `actions` on three replicas of one `family`: local ops derived from each replica's own
 * state (so removes observe tags, inserts name known parents, HLC stamps are causal), deliveries
 * of one replica's log to another, and clock moves (coarse, so equal timestamps happen).
 */
export function playHistory<F extends CrdtFamily>(family: F, actions: readonly HistoryAction[]): History<F> {
  const definition = familyDefinition(family);
  const replicas: SimReplica<F>[] = REPLICA_IDS.map((nodeId) => {
    const replica = {
      nodeId,
      seq: 0,
      timeMs: 1_000,
      log: [],
      seen: new Set<string>(),
    } as unknown as SimReplica<F>;
    Object.assign(replica, {
      clock: new HybridClock({ nowMs: () => replica.timeMs, maxDriftMs: Number.MAX_SAFE_INTEGER }),
      crdt: definition.create(),
    });
    return replica;
  });
  const ops: Op[] = [];
  const receive = (replica: SimReplica<F>, op: Op): void => {
    const name = `${op.origin}:${op.id.seq}`;
    if (replica.seen.has(name)) return;
    replica.seen.add(name);
    replica.clock.receive(op.timestamp);
    replica.crdt.applyOp(op);
    replica.log.push(op);
  };
  for (const [kind, who, a, b] of actions) {
    const replica = replicas[who % replicas.length];
    if (kind < 60) {
      const opKind = localKind(family, replica.crdt, replica.nodeId, a, b);
      if (opKind === undefined) continue;
      replica.seq++;
      const op = makeOp(makeOpId(replica.nodeId, replica.seq), replica.clock.now(), "k", opKind);
      ops.push(op);
      receive(replica, op);
    } else if (kind < 90) {
      const source = replicas[a % replicas.length];
      for (const op of source.log) receive(replica, op);
    } else {
      replica.timeMs += a % 3;
    }
  }
  return { ops, states: replicas.map((r) => r.crdt.cells()) };
}

const FIELDS = [new Uint8Array([1]), new Uint8Array([2]), new Uint8Array([3, 4])];

function localKind(
  family: CrdtFamily,
  crdt: unknown,
  self: NodeId,
  a: number,
  b: number,
): OpKind | undefined {
  const value = new Uint8Array([a & 0xff, b & 0xff]);
  const delta = a % 17 === 0 ? U64_MAX - BigInt(b) : BigInt(b % 100);
  switch (family) {
    case "gcounter":
      return { type: "gcounter_inc", slot: (crdt as GCounter).incrementedSlot(self, delta) };
    case "pncounter": {
      const counter = crdt as PNCounter;
      return b % 2 === 0
        ? { type: "pncounter_inc", slot: counter.incrementedSlot(self, delta) }
        : { type: "pncounter_dec", slot: counter.decrementedSlot(self, delta) };
    }
    case "lww_register":
      return { type: "lww_set", value };
    case "lww_map": {
      const field = FIELDS[a % FIELDS.length];
      return b % 3 === 0 ? { type: "lww_map_remove", field } : { type: "lww_map_set", field, value };
    }
    case "orset": {
      const element = FIELDS[a % FIELDS.length];
      if (b % 3 !== 0) return { type: "orset_add", element };
      const tags = (crdt as OrSet).observedTags(element);
      return tags.length === 0 ? undefined : { type: "orset_remove", element, tags };
    }
    case "rga": {
      const elements = (crdt as Rga).cells().filter((c) => c.type === "element");
      if (b % 4 === 0 && elements.length > 0) {
        const target = elements[a % elements.length];
        return target.type === "element" ? { type: "rga_delete", target: target.id } : undefined;
      }
      const parentCell = elements.length === 0 || a % 5 === 0 ? undefined : elements[a % elements.length];
      return {
        type: "rga_insert",
        parent: parentCell?.type === "element" ? parentCell.id : undefined,
        value,
      };
    }
  }
}

/** A fresh CRDT of `family` holding `cells`. */
export function fromCells<F extends CrdtFamily>(
  family: F,
  ...states: readonly CellOf<F>[][]
): CrdtOf<F> & Crdt<CellOf<F>> {
  const crdt = familyDefinition(family).create();
  for (const cells of states) for (const cell of cells) crdt.mergeCell(cell);
  return crdt;
}

/** A delivery schedule: every op at least once, some twice, in a shuffled order. */
export const deliveryOrder = (count: number): fc.Arbitrary<number[]> =>
  fc
    .tuple(
      fc.shuffledSubarray(
        Array.from({ length: count }, (_, i) => i),
        { minLength: count, maxLength: count },
      ),
      fc.array(fc.nat(Math.max(0, count - 1)), { maxLength: count === 0 ? 0 : 10 }),
      fc.nat(),
    )
    .map(([order, duplicates, seed]) => {
      const all = [...order];
      for (const [i, d] of duplicates.entries()) all.splice((seed + i * 7) % (all.length + 1), 0, d);
      return all;
    });
