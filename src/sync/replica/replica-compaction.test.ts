import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { createVirtualClock } from "../../clock/virtual-clock.ts";
import type { Op } from "../../crdt/op.ts";
import { decodeText, NODE_A, NODE_B, NODE_C, text } from "../../crdt/testing/test-ops.ts";
import type { NodeId } from "../../identity/node-id.ts";
import { openLmdbBackend } from "../../store/lmdb-backend.ts";
import { createMemoryBackend } from "../../store/memory-backend.ts";
import { replicaForSync } from "../replica-sync-adapter.ts";
import { CRDT_PREFIX } from "./replica-layout.ts";
import { openReplicatedState, type ReplicatedState, type ReportedVector } from "./replicated-state.ts";

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const NOW = 1_700_000_000_000;
const alone = { members: [], reports: new Map<NodeId, ReportedVector>() };

function cellCount(backend: { range(o: { prefix: Uint8Array }): Iterable<unknown> }): number {
  let n = 0;
  for (const _ of backend.range({ prefix: CRDT_PREFIX })) n++;
  return n;
}

/** Removes, deletes and map removes on every tombstone family: the live value is "kept" in each. */
function churn(state: ReplicatedState, cycles: number): void {
  for (let i = 0; i < cycles; i++) {
    const name = text(`gone-${i}`);
    state.orsetAdd("set", name);
    state.orsetRemove("set", name);
    state.lwwMapSet("map", name, text("v"));
    state.lwwMapRemove("map", name);
    const id = state.rgaInsert("seq", undefined, text(`x${i}`))!;
    state.rgaDelete("seq", id);
  }
}

describe("tombstone collection in the replica", () => {
  test("a lone node drops every tombstone from memory and the store; the values and a restart agree", async () => {
    const path = await mkdtemp(join(tmpdir(), "nx-compact-"));
    dirs.push(path);
    let backend = await openLmdbBackend({ path });
    let state = openReplicatedState({ backend, nodeId: NODE_A, nowMs: () => NOW });
    state.orsetAdd("set", text("kept"));
    state.lwwMapSet("map", text("kept"), text("1"));
    state.rgaInsert("seq", undefined, text("kept"));
    churn(state, 50);
    await state.flushed();
    const before = cellCount(backend);
    assert.equal(before, 3 + 50 * 3, "one cell per tombstone");
    const collected = state.compact(alone);
    assert.equal(collected, 150);
    await state.flushed();
    assert.equal(cellCount(backend), 3, "only the live cells remain");
    assert.equal(state.stats().tombstonesCollected, 150);
    const values = (s: ReplicatedState) => [
      s.orsetElements("set").map(decodeText),
      s.lwwMapEntries("map").map(([f, v]) => `${decodeText(f)}=${decodeText(v)}`),
      s.rgaValues("seq").map(decodeText),
    ];
    const expected = [["kept"], ["kept=1"], ["kept"]];
    assert.deepEqual(values(state), expected);
    await state.close();
    await backend.close();
    backend = await openLmdbBackend({ path });
    state = openReplicatedState({ backend, nodeId: NODE_A, nowMs: () => NOW });
    assert.deepEqual(values(state), expected, "hydrated from the compacted store");
    await state.close();
    await backend.close();
  });

  test("a re-delivered add or write older than a collected tombstone does not bring it back", () => {
    const sent: Op[] = [];
    const origin = openReplicatedState({
      backend: createMemoryBackend(),
      nodeId: NODE_B,
      nowMs: () => NOW,
      onLocalOps: (ops) => sent.push(...ops),
    });
    origin.orsetAdd("set", text("a"));
    origin.lwwMapSet("map", text("f"), text("old"));
    origin.flush();
    origin.orsetRemove("set", text("a"));
    origin.lwwMapRemove("map", text("f"));
    origin.flush();
    const state = openReplicatedState({ backend: createMemoryBackend(), nodeId: NODE_A, nowMs: () => NOW });
    state.applyRemote(sent);
    const reports = new Map<NodeId, ReportedVector>([[NODE_B, { vector: state.versionVector(), ageMs: 0 }]]);
    const view = { members: [NODE_B], reports };
    assert.equal(state.compact(view), 2, "B reported every remove; nothing of B's is missing here");
    assert.equal(state.applyRemote(sent).length, 0, "the replica's de-duplication refuses them");
    assert.deepEqual(state.orsetElements("set"), []);
    assert.deepEqual(state.lwwMapEntries("map"), []);
  });

  test("a writer no peer source names (two hops away) holds collection back while its ops arrive", () => {
    const sent: Op[] = [];
    const writer = openReplicatedState({
      backend: createMemoryBackend(),
      nodeId: NODE_B,
      nowMs: () => NOW,
      onLocalOps: (ops) => sent.push(...ops),
    });
    writer.orsetAdd("set", text("w"));
    writer.flush();
    const clock = createVirtualClock();
    const state = openReplicatedState({
      backend: createMemoryBackend(),
      nodeId: NODE_A,
      nowMs: () => NOW,
      clock,
      tombstoneHorizonMs: 1000,
    });
    state.applyRemote(sent);
    state.orsetRemove("set", text("w"));
    state.flush();
    clock.advance(900);
    assert.equal(state.compact(alone), 0, "B wrote here and has not reported: it may send concurrent writes");
    clock.advance(200);
    assert.equal(state.compact(alone), 1, "no op of B's for longer than the horizon");
  });

  test("a writer whose only report is older than the horizon holds collection back while its ops arrive", () => {
    // B once reported here directly, then went on writing through a peer in between (two hops).
    const sent: Op[] = [];
    const writer = openReplicatedState({
      backend: createMemoryBackend(),
      nodeId: NODE_B,
      nowMs: () => NOW,
      onLocalOps: (ops) => sent.push(...ops),
    });
    writer.orsetAdd("set", text("w"));
    writer.flush();
    const clock = createVirtualClock();
    const state = openReplicatedState({
      backend: createMemoryBackend(),
      nodeId: NODE_A,
      nowMs: () => NOW,
      clock,
      tombstoneHorizonMs: 1000,
    });
    state.applyRemote(sent);
    state.orsetRemove("set", text("w"));
    state.flush();
    const reported = (ageMs: number) =>
      new Map<NodeId, ReportedVector>([[NODE_B, { vector: new Map(), ageMs }]]);
    clock.advance(900);
    assert.equal(
      state.compact({ members: [NODE_B], reports: reported(5900) }),
      0,
      "B's ops arrived within the horizon: its old report does not make it silent",
    );
    clock.advance(200);
    assert.equal(
      state.compact({ members: [NODE_B], reports: reported(6100) }),
      1,
      "silent for longer than the horizon",
    );
  });

  test("a member that has not reported the removes holds collection back", () => {
    const state = openReplicatedState({ backend: createMemoryBackend(), nodeId: NODE_A, nowMs: () => NOW });
    churn(state, 3);
    state.flush();
    const reports = new Map<NodeId, ReportedVector>([[NODE_B, { vector: new Map(), ageMs: 0 }]]);
    assert.equal(state.compact({ members: [NODE_B], reports }), 0);
    reports.set(NODE_B, { vector: state.versionVector(), ageMs: 0 });
    assert.equal(state.compact({ members: [NODE_B], reports }), 9);
  });

  test("the highest sequence applied out of order is known, across a forgotten seen entry and a restart", async () => {
    const sent: Op[] = [];
    const origin = openReplicatedState({
      backend: createMemoryBackend(),
      nodeId: NODE_B,
      nowMs: () => NOW,
      onLocalOps: (ops) => sent.push(...ops),
    });
    for (let i = 0; i < 3; i++) {
      origin.orsetAdd("set", text(`e${i}`));
      origin.flush();
    }
    const path = await mkdtemp(join(tmpdir(), "nx-compact-"));
    dirs.push(path);
    const open = async () => {
      const backend = await openLmdbBackend({ path });
      return {
        backend,
        state: openReplicatedState({ backend, nodeId: NODE_A, nowMs: () => NOW, seenOpsLimit: 1 }),
      };
    };
    let { backend, state } = await open();
    state.applyRemote([sent[2], sent[1]]); // the seen set keeps one of them: B:2 is forgotten
    assert.equal(state.snapshot().applied?.get(NODE_B), 3);
    await state.close();
    await backend.close();
    ({ backend, state } = await open());
    assert.equal(state.snapshot().applied?.get(NODE_B), 3, "the highest applied sequence was persisted");
    assert.equal(state.versionVector().get(NODE_B) ?? 0, 0, "B:1 is still missing");
    state.applyRemote(sent);
    assert.equal(state.versionVector().get(NODE_B), 3, "the gap closed");
    await state.close();
    await backend.close();
  });

  test("a peer behind the collected removes is stale, after a restart too; a replacing snapshot makes it hold the sender's state", async () => {
    const path = await mkdtemp(join(tmpdir(), "nx-compact-"));
    dirs.push(path);
    const sent: Op[] = [];
    let backend = await openLmdbBackend({ path });
    let a = openReplicatedState({
      backend,
      nodeId: NODE_A,
      nowMs: () => NOW,
      onLocalOps: (ops) => sent.push(...ops),
    });
    a.orsetAdd("set", text("gone"));
    a.orsetAdd("set", text("kept"));
    a.flush();
    // Z took the adds, then went away before the remove.
    const z = openReplicatedState({ backend: createMemoryBackend(), nodeId: NODE_C, nowMs: () => NOW });
    z.applyRemote(sent);
    z.orsetAdd("set", text("z's own, never sent"));
    z.flush();
    a.orsetRemove("set", text("gone"));
    a.flush();
    assert.equal(a.isStale(z.versionVector(), NODE_C), false, "nothing collected yet");
    assert.equal(a.compact(alone), 1);
    assert.equal(a.isStale(z.versionVector(), NODE_C), true);
    assert.equal(a.isStale(a.versionVector(), NODE_A), false);
    await a.close();
    await backend.close();
    backend = await openLmdbBackend({ path });
    a = openReplicatedState({ backend, nodeId: NODE_A, nowMs: () => NOW });
    assert.equal(a.isStale(z.versionVector(), NODE_C), true, "the collection point was persisted");
    const zSeq = z.versionVector().get(NODE_C);
    const snapshot = a.snapshot();
    const changed = z.applySnapshot(snapshot, { replace: true, final: true });
    assert.ok(changed.some((c) => c.key === "set"));
    assert.deepEqual(z.orsetElements("set").map(decodeText), ["kept"], "what the remove removed is gone");
    assert.equal(z.versionVector().get(NODE_C), zSeq, "its own sequence is kept: never reused");
    assert.deepEqual(
      z.compactedFor(new Map([[NODE_A, 3]])),
      [NODE_C],
      "a peer lacking its discarded ops gets a snapshot",
    );
    assert.equal(a.isStale(z.versionVector(), NODE_C), false);
    await a.close();
    await backend.close();
  });

  test("a node new to the cluster, with only its own writes, is not stale: it merges and keeps them", () => {
    const sent: Op[] = [];
    const a = openReplicatedState({
      backend: createMemoryBackend(),
      nodeId: NODE_A,
      nowMs: () => NOW,
      onLocalOps: (ops) => sent.push(...ops),
    });
    a.orsetAdd("set", text("gone"));
    a.orsetRemove("set", text("gone"));
    a.orsetAdd("set", text("kept"));
    a.flush();
    assert.equal(a.compact(alone), 1, "a lone node collects its own tombstone");
    // Z wrote alone (a new device, offline) and now joins A.
    const z = openReplicatedState({ backend: createMemoryBackend(), nodeId: NODE_C, nowMs: () => NOW });
    z.orsetAdd("set", text("z's own"));
    z.flush();
    assert.equal(a.isStale(z.versionVector(), NODE_C), false, "nothing z holds was removed here");
    z.applySnapshot(a.snapshot(), { final: true });
    assert.deepEqual(z.orsetElements("set").map(decodeText).sort(), ["kept", "z's own"]);
    // Once A holds one of Z's ops, Z is no longer new: an old Z behind the collection is stale.
    a.applyRemote(z.opsSince(new Map(), 100));
    assert.equal(a.isStale(new Map([[NODE_C, 0]]), NODE_C), true);
    // A node that holds another origin's ops is not new either.
    assert.equal(a.isStale(new Map([[NODE_B, 1]]), NODE_C), true);
  });

  test("a snapshot from a replica holding ops applied out of order tells the receiver up to where", () => {
    const sent: Op[] = [];
    const origin = openReplicatedState({
      backend: createMemoryBackend(),
      nodeId: NODE_B,
      nowMs: () => NOW,
      onLocalOps: (ops) => sent.push(...ops),
    });
    for (let i = 0; i < 3; i++) {
      origin.orsetAdd("set", text(`e${i}`));
      origin.flush();
    }
    const sender = openReplicatedState({ backend: createMemoryBackend(), nodeId: NODE_A, nowMs: () => NOW });
    sender.applyRemote([sent[2]]);
    const parts = replicaForSync(sender).snapshotParts(false);
    assert.deepEqual(
      parts.map((p) => [p.final, [...p.versionVector]]),
      [
        [false, [[NODE_B, 3]]],
        [true, []],
      ],
      "a first, empty part carries the bound; the final part the vector",
    );
    const receiver = openReplicatedState({
      backend: createMemoryBackend(),
      nodeId: NODE_C,
      nowMs: () => NOW,
    });
    for (const part of parts) replicaForSync(receiver).applySnapshotPart(part);
    assert.deepEqual(receiver.orsetElements("set").map(decodeText), ["e2"]);
    assert.equal(receiver.snapshot().applied?.get(NODE_B), 3, "counted as applied for stability");
  });

  test("an RGA insert after a tombstone is anchored at the visible element before it", () => {
    const state = openReplicatedState({ backend: createMemoryBackend(), nodeId: NODE_A, nowMs: () => NOW });
    const a = state.rgaInsert("seq", undefined, text("a"))!;
    const b = state.rgaInsert("seq", a, text("b"))!;
    state.rgaDelete("seq", b);
    state.rgaInsert("seq", b, text("c"));
    assert.deepEqual(state.rgaValues("seq").map(decodeText), ["a", "c"]);
    state.flush();
    // Collection can drop b at once: c names a, not b.
    assert.equal(state.compact(alone), 1);
    assert.deepEqual(state.rgaValues("seq").map(decodeText), ["a", "c"]);
  });

  test("an RGA queue (append at the end, delete the first) shrinks to one ghost and the live elements; a restart agrees", async () => {
    const path = await mkdtemp(join(tmpdir(), "nx-compact-"));
    dirs.push(path);
    let backend = await openLmdbBackend({ path });
    let state = openReplicatedState({ backend, nodeId: NODE_A, nowMs: () => NOW });
    const queue: Uint8Array[] = [];
    const push = (n: number): void => {
      for (let i = 0; i < n; i++) {
        queue.push(state.rgaInsert("queue", queue.at(-1), text(`m${i}`))!);
        if (queue.length > 3) state.rgaDelete("queue", queue.shift()!);
      }
    };
    push(50);
    state.compact(alone);
    push(50);
    // The first pass collects what the pass before closed; the second, the epoch it closes.
    state.compact(alone);
    state.compact(alone);
    await state.flushed();
    assert.equal(cellCount(backend), 1 + 3, "the ghost of 97 deleted elements, then the 3 live ones");
    const expected = ["m47", "m48", "m49"];
    assert.deepEqual(state.rgaValues("queue").map(decodeText), expected);
    await state.close();
    await backend.close();
    backend = await openLmdbBackend({ path });
    state = openReplicatedState({ backend, nodeId: NODE_A, nowMs: () => NOW });
    assert.deepEqual(state.rgaValues("queue").map(decodeText), expected, "hydrated from the compacted store");
    push(1);
    assert.deepEqual(state.rgaValues("queue").map(decodeText), ["m48", "m49", "m0"]);
    await state.close();
    await backend.close();
  });

  test("a peer's state holding RGA tombstones collected here does not bring them back", () => {
    const sent: Op[] = [];
    const a = openReplicatedState({
      backend: createMemoryBackend(),
      nodeId: NODE_A,
      nowMs: () => NOW,
      onLocalOps: (ops) => sent.push(...ops),
    });
    const queue: Uint8Array[] = [];
    for (let i = 0; i < 20; i++) {
      queue.push(a.rgaInsert("queue", queue.at(-1), text(`m${i}`))!);
      if (queue.length > 2) a.rgaDelete("queue", queue.shift()!);
    }
    a.flush();
    // B holds the whole history and has not collected; A has.
    const b = openReplicatedState({ backend: createMemoryBackend(), nodeId: NODE_B, nowMs: () => NOW });
    b.applyRemote(sent);
    assert.ok(a.compact(alone) > 0);
    const cells = (s: ReplicatedState) => s.snapshot().objects.find((o) => o.key === "queue")!.cells.length;
    assert.equal(cells(a), 1 + 2, "a ghost and the two live elements");
    assert.equal(cells(b), 20, "every element, tombstones included");
    a.applySnapshot(b.snapshot(), { final: true });
    assert.equal(cells(a), 3, "the tombstones stay collected");
    // The other way, B merges A's ghost into the tombstones it holds: nothing changes there.
    b.applySnapshot(a.snapshot(), { final: true });
    assert.deepEqual(a.rgaValues("queue").map(decodeText), ["m18", "m19"]);
    assert.deepEqual(b.rgaValues("queue").map(decodeText), ["m18", "m19"]);
  });

  test("a replacing snapshot restarts tombstone stability: the pass waiting on what was discarded does not wait forever", () => {
    const sent: Op[] = [];
    const c = openReplicatedState({
      backend: createMemoryBackend(),
      nodeId: NODE_C,
      nowMs: () => NOW,
      onLocalOps: (ops) => sent.push(...ops),
    });
    c.orsetAdd("set", text("c's, seen only by z"));
    c.flush();
    const z = openReplicatedState({ backend: createMemoryBackend(), nodeId: NODE_B, nowMs: () => NOW });
    z.applyRemote(sent);
    // Z closes an epoch that waits for C to report: its `applied` holds C:1.
    const withC = { members: [NODE_C], reports: new Map<NodeId, ReportedVector>() };
    assert.equal(z.compact(withC), 0);
    // Z is then replaced by A's state, which never held C's op, and is alone from now on.
    const a = openReplicatedState({ backend: createMemoryBackend(), nodeId: NODE_A, nowMs: () => NOW });
    a.orsetAdd("set", text("a's"));
    a.flush();
    z.applySnapshot(a.snapshot(), { replace: true, final: true });
    z.orsetAdd("set", text("gone"));
    z.orsetRemove("set", text("gone"));
    z.flush();
    // A, whose ops Z now holds, reports having applied everything Z has.
    const fromA = {
      members: [],
      reports: new Map<NodeId, ReportedVector>([[NODE_A, { vector: z.versionVector(), ageMs: 0 }]]),
    };
    let collected = 0;
    for (let pass = 0; pass < 3; pass++) collected += z.compact(fromA);
    assert.equal(collected, 1, "the tombstone made after the replacement is collected");
  });
});
