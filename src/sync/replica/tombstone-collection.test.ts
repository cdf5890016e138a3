import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import type { Crdt } from "../../crdt/crdt.ts";
import { familyDefinition } from "../../crdt/crdt-families.ts";
import { type HlcTimestamp, HybridClock } from "../../crdt/hybrid-clock.ts";
import { type CrdtFamily, makeOp, type Op, type OpKind } from "../../crdt/op.ts";
import { makeOpId, type OpId } from "../../crdt/op-id.ts";
import type { OrSet } from "../../crdt/or-set.ts";
import type { Rga, RgaCell } from "../../crdt/rga.ts";
import { observableValue } from "../../crdt/testing/observable-value.ts";
import { propertyRuns } from "../../crdt/testing/property-runs.ts";
import { REPLICA_IDS } from "../../crdt/testing/replica-history.ts";
import type { NodeId } from "../../identity/node-id.ts";
import { type MemberReport, TombstoneStability } from "./tombstone-stability.ts";

const TOMBSTONE_FAMILIES = ["orset", "lww_map", "rga"] as const satisfies readonly CrdtFamily[];
/**
 * The workloads: each family's random edits, and the RGA "queue" (append at the end, delete the
 * first element; a chat log, a job queue) mixed with random edits, whose tombstones are not leaves.
 */
const WORKLOADS = [
  ...TOMBSTONE_FAMILIES.map((family) => ({ name: family, family, queue: false })),
  { name: "rga queue", family: "rga", queue: true },
] as const;
const ELEMENTS = [new Uint8Array([1]), new Uint8Array([2]), new Uint8Array([3, 4])];

/** One simulated replica: its CRDT, what it applied, its clock, and the collection pipeline. */
interface Sim {
  readonly nodeId: NodeId;
  seq: number;
  timeMs: number;
  readonly clock: HybridClock;
  readonly stability: TombstoneStability;
  crdt: Crdt<unknown>;
  readonly log: Op[];
  readonly seen: Set<string>;
  readonly contiguous: Map<NodeId, number>;
  readonly maxApplied: Map<NodeId, number>;
  readonly reports: Map<NodeId, MemberReport>;
}

function makeSim(family: CrdtFamily, nodeId: NodeId): Sim {
  const stability = new TombstoneStability({ horizonMs: Number.MAX_SAFE_INTEGER, startedAtMs: 0 });
  const sim = {
    nodeId,
    seq: 0,
    timeMs: 1_000,
    stability,
    crdt: familyDefinition(family).create(stability.epoch) as Crdt<unknown>,
    log: [],
    seen: new Set<string>(),
    contiguous: new Map(),
    maxApplied: new Map(),
    reports: new Map(),
  } as unknown as Sim;
  Object.assign(sim, {
    clock: new HybridClock({ nowMs: () => sim.timeMs, maxDriftMs: Number.MAX_SAFE_INTEGER }),
  });
  return sim;
}

/** Applies `op` unless already seen (the replica's de-duplication); returns whether it was new. */
function receive(sim: Sim, op: Op): boolean {
  const name = `${op.origin}:${op.id.seq}`;
  if (sim.seen.has(name)) return false;
  sim.seen.add(name);
  let next = sim.contiguous.get(op.origin) ?? 0;
  while (sim.seen.has(`${op.origin}:${next + 1}`)) next++;
  sim.contiguous.set(op.origin, next);
  sim.maxApplied.set(op.origin, Math.max(op.id.seq, sim.maxApplied.get(op.origin) ?? 0));
  sim.clock.receive(op.timestamp);
  sim.crdt.applyOp(op);
  sim.log.push(op);
  return true;
}

/** A local op as the replica makes it (an RGA insert is anchored at a visible element). */
function localKind(
  family: (typeof TOMBSTONE_FAMILIES)[number],
  queue: boolean,
  crdt: unknown,
  a: number,
  b: number,
) {
  const element = ELEMENTS[a % ELEMENTS.length];
  const value = new Uint8Array([a & 0xff, b & 0xff]);
  switch (family) {
    case "lww_map":
      return b % 3 === 0
        ? ({ type: "lww_map_remove", field: element } as const)
        : ({ type: "lww_map_set", field: element, value } as const);
    case "orset": {
      if (b % 3 !== 0) return { type: "orset_add", element } as const;
      const tags = (crdt as OrSet).observedTags(element);
      return tags.length === 0 ? undefined : ({ type: "orset_remove", element, tags } as const);
    }
    case "rga": {
      const rga = crdt as Rga;
      if (queue && b % 4 !== 0) {
        // Pop the first element, or push after the last one.
        if (b % 4 === 1 && rga.length > 0) return { type: "rga_delete", target: rga.idAt(0)! } as const;
        return { type: "rga_insert", parent: rga.idAt(rga.length - 1), value } as const;
      }
      const elements = rga.cells().flatMap((c) => (c.type === "delete" ? [] : [c.id]));
      if (b % 3 === 0 && elements.length > 0) {
        const target = elements[a % elements.length];
        return rga.isDeleted(target) ? undefined : ({ type: "rga_delete", target } as const);
      }
      const named = elements.length === 0 || a % 5 === 0 ? undefined : elements[a % elements.length];
      const anchor = named === undefined ? { parent: undefined } : rga.visibleAnchor(named);
      if (anchor === undefined) return undefined;
      return { type: "rga_insert", parent: anchor.parent, value } as const;
    }
  }
}

/**
 * A restart: the CRDT rebuilt from its cells merged in another order than the store's (reversed,
 * then rotated by `turn`), so children may come before what they are placed under.
 */
function restart(family: CrdtFamily, sim: Sim, turn: number): void {
  const before = observableValue(family, sim.crdt);
  const cells = sim.crdt.cells().reverse();
  const rotated = [
    ...cells.slice(turn % Math.max(1, cells.length)),
    ...cells.slice(0, turn % Math.max(1, cells.length)),
  ];
  sim.crdt = familyDefinition(family).create(sim.stability.epoch) as Crdt<unknown>;
  for (const cell of rotated) sim.crdt.mergeCell(cell);
  assert.equal(observableValue(family, sim.crdt), before, "a restart changed the value");
}

/** Ghosts made by the passes of a property (runs of collected RGA elements with elements under them). */
let ghostsMade = 0;

/** Runs one compaction pass on `sim`; asserts the value did not change. Returns the cells collected. */
function compact(family: CrdtFamily, sim: Sim): number {
  const before = observableValue(family, sim.crdt);
  const stable = sim.stability.pass({
    nowMs: 0,
    ownVector: sim.contiguous,
    maxApplied: sim.maxApplied,
    members: REPLICA_IDS.filter((id) => id !== sim.nodeId),
    reports: sim.reports,
  });
  if (stable === undefined) return 0;
  const covered = (id: OpId): boolean => (sim.contiguous.get(id.origin) ?? 0) >= id.seq;
  const collected = sim.crdt.collectTombstones!(stable.epoch, covered);
  assert.equal(observableValue(family, sim.crdt), before, "collection changed the value");
  for (const cell of collected.rewritten) if ((cell as RgaCell).type === "ghost") ghostsMade++;
  return collected.rewritten.length + collected.dropped.length;
}

/**
 * Actions: [kind, replica, a, b]: a local op, a delivery of ops or of state (each carries the
 * puller's report), a pass, a restart, a clock move. Histories of every length up to the bound.
 */
const actions = fc.array(fc.tuple(fc.nat(99), fc.nat(2), fc.nat(1_000_000), fc.nat(1_000_000)), {
  maxLength: 200,
  size: "max",
});

for (const { name, family, queue } of WORKLOADS) {
  describe(`${name} tombstone collection`, () => {
    test("collection never changes the value, and replicas still converge to the never-collected value", () => {
      let collectedAtAll = 0;
      ghostsMade = 0;
      fc.assert(
        fc.property(actions, (steps) => {
          const sims = REPLICA_IDS.map((id) => makeSim(family, id));
          const all: Op[] = [];
          // A pull: `from` reports its vector, `to` answers with its ops, all of them or (`skip` > 0)
          // all but every skip-th one, so ops also arrive out of order and with gaps.
          const deliver = (from: Sim, to: Sim, skip = 0): void => {
            to.reports.set(from.nodeId, { vector: new Map(from.contiguous), atMs: 0 });
            for (const [i, op] of [...to.log].entries()) if (skip === 0 || i % skip !== 0) receive(from, op);
          };
          // A pull answered with state (a peer behind the op-log's floor): `from` merges `to`'s cells
          // but those of what it collected itself, and then holds every op `to`'s vector covers.
          const snapshot = (from: Sim, to: Sim): void => {
            to.reports.set(from.nodeId, { vector: new Map(from.contiguous), atMs: 0 });
            const covered = (id: OpId): boolean => (from.contiguous.get(id.origin) ?? 0) >= id.seq;
            for (const cell of to.crdt.cells()) {
              if (from.crdt.isCollected?.(cell, covered) === true) continue;
              from.crdt.mergeCell(cell);
              const stamp = (cell as { timestamp?: HlcTimestamp }).timestamp;
              if (stamp !== undefined) from.clock.advancePast(stamp);
            }
            for (const [origin, seq] of to.contiguous) {
              for (let s = 1; s <= seq; s++) from.seen.add(`${origin}:${s}`);
              let next = from.contiguous.get(origin) ?? 0;
              while (from.seen.has(`${origin}:${next + 1}`)) next++;
              from.contiguous.set(origin, next);
            }
            for (const [origin, seq] of to.maxApplied)
              from.maxApplied.set(origin, Math.max(seq, from.maxApplied.get(origin) ?? 0));
          };
          for (const [kind, who, a, b] of steps) {
            const sim = sims[who];
            const other = sims[(who + 1 + (a % 2)) % sims.length];
            if (kind < 50) {
              const opKind = localKind(family, queue, sim.crdt, a, b) as OpKind | undefined;
              if (opKind === undefined) continue;
              sim.seq++;
              const op = makeOp(makeOpId(sim.nodeId, sim.seq), sim.clock.now(), "k", opKind);
              all.push(op);
              receive(sim, op);
            } else if (kind < 68) {
              deliver(sim, other, b % 4);
            } else if (kind < 73) {
              snapshot(sim, other);
            } else if (kind < 92) {
              collectedAtAll += compact(family, sim);
            } else if (kind < 95) {
              restart(family, sim, a);
            } else sim.timeMs += a % 3;
          }
          // Heal: everyone pulls from everyone, with passes in between, until nothing moves.
          for (let round = 0; round < 4; round++) {
            for (const to of sims) for (const from of sims) if (from !== to) deliver(to, from);
            for (const sim of sims) collectedAtAll += compact(family, sim);
          }
          const reference = familyDefinition(family).create();
          for (const op of all) reference.applyOp(op);
          const expected = observableValue(family, reference);
          for (const sim of sims) assert.equal(observableValue(family, sim.crdt), expected);
        }),
        // RGA: a run that takes in an element not placed under it is found at run 261 of 3000.
        propertyRuns(family === "rga" ? 1000 : 150),
      );
      assert.ok(collectedAtAll > 0, "the runs collected tombstones at all");
      if (queue) assert.ok(ghostsMade > 0, "the runs made ghosts");
    });
  });
}

describe("TombstoneStability", () => {
  const a = REPLICA_IDS[0];
  const b = REPLICA_IDS[1];
  const vector = (entries: [NodeId, number][]) => new Map(entries);

  test("a lone node collects each epoch at the pass that closes it", () => {
    const stability = new TombstoneStability({ horizonMs: 1000, startedAtMs: 0 });
    const view = {
      nowMs: 0,
      ownVector: vector([[a, 3]]),
      maxApplied: vector([[a, 3]]),
      members: [],
      reports: new Map(),
    };
    assert.equal(stability.pass(view)?.epoch, 0);
    assert.equal(stability.epoch.current, 2, "and opened epoch 1, then closed it pending the next pass");
    assert.equal(stability.pass(view)?.epoch, 1);
  });

  test("waits for every member to report the removes, then for the member's own concurrent ops", () => {
    const stability = new TombstoneStability({ horizonMs: 1000, startedAtMs: 0 });
    const own = vector([[a, 5]]);
    const reports = new Map<NodeId, MemberReport>();
    const view = () => ({ nowMs: 10, ownVector: own, maxApplied: vector([[a, 5]]), members: [b], reports });
    assert.equal(stability.pass(view()), undefined, "epoch 0 closed; b has not reported");
    reports.set(b, {
      vector: vector([
        [a, 4],
        [b, 9],
      ]),
      atMs: 10,
    });
    assert.equal(stability.pass(view()), undefined, "b lacks a:5");
    reports.set(b, {
      vector: vector([
        [a, 5],
        [b, 9],
      ]),
      atMs: 10,
    });
    assert.equal(
      stability.pass(view()),
      undefined,
      "b has the removes; its ops up to b:9 are not applied here",
    );
    own.set(b, 9);
    assert.equal(stability.pass(view())?.epoch, 0);
  });

  test("a peer that reported counts as a member even when no source names it", () => {
    const stability = new TombstoneStability({ horizonMs: 1000, startedAtMs: 0 });
    const reports = new Map<NodeId, MemberReport>([[b, { vector: vector([]), atMs: 0 }]]);
    const view = (nowMs: number) => ({
      nowMs,
      ownVector: vector([[a, 1]]),
      maxApplied: vector([[a, 1]]),
      members: [],
      reports,
    });
    assert.equal(stability.pass(view(500)), undefined, "b's report lacks a:1");
    assert.equal(stability.pass(view(1500))?.epoch, 0, "b is past the horizon");
  });

  test("a member silent for longer than the horizon stops holding collection back", () => {
    const stability = new TombstoneStability({ horizonMs: 1000, startedAtMs: 0 });
    const reports = new Map<NodeId, MemberReport>([[b, { vector: vector([]), atMs: 0 }]]);
    const view = (nowMs: number) => ({
      nowMs,
      ownVector: vector([[a, 1]]),
      maxApplied: vector([[a, 1]]),
      members: [b],
      reports,
    });
    assert.equal(stability.pass(view(500)), undefined);
    assert.equal(stability.pass(view(900)), undefined, "b's report lacks a:1 and is within the horizon");
    assert.equal(stability.pass(view(1500))?.epoch, 0, "b is past the horizon");
  });
});
