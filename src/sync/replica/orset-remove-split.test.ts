import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { createVirtualClock } from "../../clock/virtual-clock.ts";
import { makeOp, type Op } from "../../crdt/op.ts";
import { makeOpId, type OpId } from "../../crdt/op-id.ts";
import { decodeText, NODE_A, NODE_B, NODE_C, text } from "../../crdt/testing/test-ops.ts";
import type { NodeId } from "../../identity/node-id.ts";
import type { ExtendedKvBackend } from "../../store/extended-kv-backend.ts";
import { createMemoryBackend } from "../../store/memory-backend.ts";
import { opWireBytesMax } from "../crdt-op-codec.ts";
import { OPS_PER_BATCH_MAX, openReplicatedState, type ReplicatedState } from "./replicated-state.ts";

const KEY = "set";
const ELEMENT = text("e");
const OTHER = text("o");
const NODE_D = "dddddddddddddddddddddddddddddddd" as NodeId;

/**
 * A replica whose clock never moves: its staged batch waits for an explicit flush(), so ops
 * applied after the last flush are what a crash loses.
 */
function open(nodeId: NodeId, backend: ExtendedKvBackend = createMemoryBackend(), opBytesMax?: number) {
  const sent: Op[] = [];
  const state = openReplicatedState({
    backend,
    nodeId,
    clock: createVirtualClock(1_000),
    onLocalOps: (ops) => sent.push(...ops),
    ...(opBytesMax === undefined ? {} : { opBytesMax }),
  });
  return { state, sent, backend };
}

function adds(nodeId: NodeId, count: number): Op[] {
  const { state, sent } = open(nodeId);
  for (let i = 0; i < count; i++) {
    state.orsetAdd(KEY, ELEMENT);
    state.flush();
  }
  state.orsetAdd(KEY, OTHER);
  state.flush();
  return sent;
}

const view = (state: ReplicatedState) => ({
  contains: state.orsetContains(KEY, ELEMENT),
  elements: state.orsetElements(KEY).map(decodeText).sort(),
});

/** A seeded Fisher-Yates shuffle (no Math.random in tests). */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let r = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    r = (Math.imul(r, 1664525) + 1013904223) >>> 0;
    const j = r % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

test("an ORSet remove split into parts converges, in any order, duplicated, across a crash, to what one remove makes", () => {
  fc.assert(
    fc.property(
      fc.record({
        ownAdds: fc.integer({ min: 1, max: 12 }),
        observedAdds: fc.integer({ min: 0, max: 8 }),
        concurrentAdds: fc.integer({ min: 0, max: 2 }),
        tagsPerPart: fc.integer({ min: 1, max: 4 }),
        seed: fc.integer(),
        delivered: fc.integer({ min: 0, max: 40 }),
        flushed: fc.integer({ min: 0, max: 40 }),
      }),
      ({ ownAdds, observedAdds, concurrentAdds, tagsPerPart, seed, delivered, flushed }) => {
        // B's adds are seen by the remover before its remove; C's are concurrent with it.
        const observed = adds(NODE_B, observedAdds);
        const concurrent = adds(NODE_C, concurrentAdds);
        const tagsFit = {
          type: "orset_remove" as const,
          element: ELEMENT,
          tags: Array.from({ length: tagsPerPart }, () => makeOpId(NODE_A, 1)),
        };
        const remover = open(NODE_A, undefined, opWireBytesMax({ key: KEY, kind: tagsFit }));
        remover.state.applyRemote(observed);
        for (let i = 0; i < ownAdds; i++) {
          remover.state.orsetAdd(KEY, ELEMENT);
          remover.state.flush();
        }
        const before = remover.sent.length;
        remover.state.orsetRemove(KEY, ELEMENT);
        remover.state.flush();
        const parts = remover.sent.slice(before);
        const ownAddOps = remover.sent.slice(0, before);
        const removedTags = parts.flatMap(
          (op) => (op.kind as { readonly tags?: readonly OpId[] }).tags ?? [],
        );
        assert.equal(removedTags.length, ownAdds + observedAdds);
        assert.equal(parts.length, Math.ceil(removedTags.length / tagsPerPart));
        for (const part of parts) assert.equal(part.kind.type, "orset_remove");

        // One remove of every tag, by another node, is the reference.
        const whole = makeOp(makeOpId(NODE_D, 1), parts.at(-1)!.timestamp, KEY, {
          type: "orset_remove",
          element: ELEMENT,
          tags: removedTags,
        });
        const reference = open(NODE_D);
        reference.state.applyRemote([...observed, ...ownAddOps, ...concurrent, whole]);
        const expected = view(reference.state);
        assert.equal(
          expected.contains,
          concurrentAdds > 0,
          "only adds the remove did not observe survive it",
        );
        remover.state.applyRemote(concurrent);
        assert.deepEqual(view(remover.state), expected, "the remover itself");

        // A receiver gets every op, parts and adds shuffled, some twice; it crashes after
        // `delivered` of them, `flushed` of which were durable, and is then sent everything again.
        const all = [...observed, ...ownAddOps, ...concurrent, ...parts];
        const schedule = shuffled([...all, ...all.filter((_, i) => (seed >>> (i % 31)) & 1)], seed);
        const first = open(NODE_D);
        const cut = Math.min(delivered, schedule.length);
        const durable = Math.min(flushed, cut);
        for (let i = 0; i < cut; i++) {
          first.state.applyRemote([schedule[i]!]);
          if (i + 1 === durable) first.state.flush();
        }
        // The crash: the staged ops after the last flush are lost; the store is reopened.
        const restarted = open(NODE_D, first.backend);
        for (const op of shuffled(schedule, seed ^ 0x5a5a)) restarted.state.applyRemote([op]);
        assert.deepEqual(view(restarted.state), expected, "a receiver that crashed halfway");
        for (const part of parts)
          assert.deepEqual(restarted.state.applyRemote([part]), [], "a part again is nothing new");
        assert.deepEqual(view(restarted.state), expected);
      },
    ),
    { seed: 0x5e1f7, numRuns: 150 },
  );
});

test("a split remove goes to the store in one batch, even where OPS_PER_BATCH_MAX falls among its parts", () => {
  const backend = createMemoryBackend();
  let batches = 0;
  const counted = new Proxy(backend, {
    get(target, name) {
      const value = Reflect.get(target, name, target);
      if (typeof value !== "function") return value;
      if (name !== "writeAll") return value.bind(target);
      return (writes: Parameters<ExtendedKvBackend["writeAll"]>[0]) => {
        batches++;
        return target.writeAll(writes);
      };
    },
  });
  const tagsFit = { type: "orset_remove" as const, element: ELEMENT, tags: [makeOpId(NODE_A, 1)] };
  const { state, sent } = open(NODE_A, counted, opWireBytesMax({ key: KEY, kind: tagsFit }));
  for (let i = 0; i < 3; i++) {
    state.orsetAdd(KEY, ELEMENT);
    state.flush();
  }
  // One op short of a full batch: the remove's first part fills it.
  for (let i = 0; i < OPS_PER_BATCH_MAX - 1; i++) state.lwwSet(`r${i}`, OTHER);
  batches = 0;
  const before = sent.length;
  state.orsetRemove(KEY, ELEMENT);
  state.flush();
  const parts = sent.slice(before).filter((op) => op.kind.type === "orset_remove");
  assert.equal(parts.length, 3, "one tag per part");
  assert.equal(batches, 1, "the parts were cut apart by the batch bound");
});
