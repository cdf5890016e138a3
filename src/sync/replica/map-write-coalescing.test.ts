import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { createVirtualClock } from "../../clock/virtual-clock.ts";
import type { LwwMapCell } from "../../crdt/lww-map.ts";
import { type Op, opWriteCount } from "../../crdt/op.ts";
import { decodeOp, encodeOp } from "../../crdt/op-codec.ts";
import { OpTooLargeError } from "../../crdt/op-too-large-error.ts";
import { propertyRuns } from "../../crdt/testing/property-runs.ts";
import { REPLICA_IDS } from "../../crdt/testing/replica-history.ts";
import { decodeText, NODE_A, NODE_B, text } from "../../crdt/testing/test-ops.ts";
import type { NodeId } from "../../identity/node-id.ts";
import { createMemoryBackend } from "../../store/memory-backend.ts";
import { mapEntryWireBytesMax, opWireBytesMax } from "../crdt-op-codec.ts";
import { MAP_BATCH_BYTES_MAX } from "./map-write-batch.ts";
import { OPS_PER_BATCH_MAX, openReplicatedState, type ReplicatedState } from "./replicated-state.ts";

/** A replica on a memory store with a clock the test moves; `sent` collects its flushed local ops. */
function replica(nodeId: NodeId, coalesceMapWrites: boolean, options: { opBytesMax?: number } = {}) {
  const time = { ms: 1_000_000 };
  const sent: Op[] = [];
  const state = openReplicatedState({
    backend: createMemoryBackend(),
    nodeId,
    nowMs: () => time.ms,
    clock: createVirtualClock(1_000),
    onLocalOps: (ops) => sent.push(...ops),
    coalesceMapWrites,
    ...options,
  });
  return { state, sent, time };
}

/** The map's cells, tombstones too, as comparable tuples. */
function cellsOf(state: ReplicatedState, key: string): [string, string | null, number, string][] {
  const object = state.snapshot().objects.find((o) => o.family === "lww_map" && o.key === key);
  return ((object?.cells ?? []) as LwwMapCell[]).map((cell) => [
    decodeText(cell.field),
    cell.value === undefined ? null : decodeText(cell.value),
    cell.timestamp,
    cell.origin,
  ]);
}

/** An op's entries as [field, value], whatever its kind (a lone write is a plain op). */
function writesOf(op: Op): [string, string | null][] {
  const kind = op.kind;
  if (kind.type === "lww_map_batch")
    return kind.entries.map((e) => [decodeText(e.field), e.value === undefined ? null : decodeText(e.value)]);
  if (kind.type === "lww_map_set") return [[decodeText(kind.field), decodeText(kind.value)]];
  if (kind.type === "lww_map_remove") return [[decodeText(kind.field), null]];
  throw new Error(`not a map op: ${kind.type}`);
}

describe("coalesced LWW-Map writes (coalesceMapWrites)", () => {
  test("writes to distinct fields within one batch interval make one op; a write after the flush opens the next", () => {
    const { state, sent } = replica(NODE_A, true);
    for (let i = 0; i < 10; i++) state.lwwMapSet("m", text(`f${i}`), text(`v${i}`));
    state.flush();
    assert.equal(sent.length, 1);
    const [op] = sent;
    assert.equal(op!.kind.type, "lww_map_batch");
    assert.equal(opWriteCount(op!), 10);
    assert.deepEqual(
      writesOf(op!),
      Array.from({ length: 10 }, (_, i) => [`f${i}`, `v${i}`]),
    );
    // Each entry keeps its own stamp; the op carries the newest, so a receiver's clock passes them all.
    const stamps = op!.kind.type === "lww_map_batch" ? op!.kind.entries.map((e) => e.timestamp) : [];
    assert.deepEqual(
      stamps,
      [...stamps].sort((a, b) => a - b),
    );
    assert.equal(new Set(stamps).size, 10);
    assert.equal(op!.timestamp, stamps.at(-1));
    // It is what a peer decodes (the codec's checks hold for it).
    assert.equal(decodeOp(encodeOp(op!)).kind.type, "lww_map_batch");

    state.lwwMapSet("m", text("late"), text("x"));
    state.flush();
    assert.equal(sent.length, 2);
    assert.equal(sent[1]!.id.seq, op!.id.seq + 1);
    assert.equal(sent[1]!.kind.type, "lww_map_set", "a lone write is the plain op");
  });

  test("a field written again in the interval replaces its entry with the newer write", () => {
    const { state, sent } = replica(NODE_A, true);
    state.lwwMapSet("m", text("a"), text("1"));
    state.lwwMapSet("m", text("b"), text("2"));
    state.lwwMapSet("m", text("a"), text("3"));
    state.lwwMapRemove("m", text("b"));
    state.flush();
    assert.equal(sent.length, 1);
    assert.deepEqual(writesOf(sent[0]!), [
      ["a", "3"],
      ["b", null],
    ]);
    assert.deepEqual(
      cellsOf(state, "m").map(([field, value]) => [field, value]),
      [
        ["a", "3"],
        ["b", null],
      ],
    );
  });

  test("a lone write makes the same op, byte for byte, as without coalescing", () => {
    const on = replica(NODE_A, true);
    const off = replica(NODE_A, false);
    for (const { state } of [on, off]) {
      state.lwwMapSet("m", text("f"), text("v"));
      state.lwwMapSet("m", text("f"), text("w"));
      state.flush();
      state.lwwMapRemove("m", text("f"));
      state.flush();
    }
    assert.deepEqual(
      on.sent.map((op) => encodeOp(op)),
      off.sent.map((op) => encodeOp(op)),
    );
  });

  test("an op is closed before the next entry would take it past one message: every op fits", () => {
    const value = text("v".repeat(300));
    // Room for about three entries of 300-byte values (400 bytes of base64 each) beside the op.
    const opBytesMax = 512 + 6 + 3 * (64 + 4 + 400) + 10;
    const { state, sent } = replica(NODE_A, true, { opBytesMax });
    for (let i = 0; i < 10; i++) state.lwwMapSet("m", text(`f${i}`), value);
    state.flush();
    assert.deepEqual(
      sent.map((op) => opWriteCount(op)),
      [3, 3, 3, 1],
    );
    for (const op of sent)
      assert.ok(opWireBytesMax(op) <= opBytesMax, `${opWireBytesMax(op)} > ${opBytesMax}`);
    assert.deepEqual(
      sent.flatMap(writesOf).map(([field]) => field),
      Array.from({ length: 10 }, (_, i) => `f${i}`),
    );
    // A write that fits no op at all is refused as without coalescing, and changes nothing.
    assert.throws(() => state.lwwMapSet("m", text("big"), text("v".repeat(opBytesMax))), OpTooLargeError);
    assert.equal(state.lwwMapGet("m", text("big")), undefined);
  });

  test("an op of several entries stays within MAP_BATCH_BYTES_MAX, whatever this node's own limit", () => {
    const { state, sent } = replica(NODE_A, true);
    const writes = 1000;
    for (let i = 0; i < writes; i++) state.lwwMapSet("m", text(`f${i}`), text("value-8b"));
    state.flush();
    assert.equal(sent.flatMap(writesOf).length, writes);
    for (const op of sent)
      assert.ok(opWireBytesMax(op) <= MAP_BATCH_BYTES_MAX, `${opWireBytesMax(op)} bytes`);
    // Full ops: the next entry would not have fitted (so about 45 writes share each).
    for (const op of sent.slice(0, -1)) {
      const next = mapEntryWireBytesMax(text("f999"), text("value-8b"));
      assert.ok(opWireBytesMax(op) + next > MAP_BATCH_BYTES_MAX);
    }
    assert.ok(sent.length < writes / 30, `${sent.length} ops`);
  });

  test("a field written over and over does not fill an op: its superseded writes are dropped first", () => {
    const { state, sent } = replica(NODE_A, true);
    for (let i = 0; i < 3000; i++) state.lwwMapSet("m", text(`f${i % 2}`), text(`${i}`));
    state.flush();
    assert.deepEqual(sent.map(writesOf), [
      [
        ["f0", "2998"],
        ["f1", "2999"],
      ],
    ]);
  });

  test("each write counts toward OPS_PER_BATCH_MAX: a long run of writes is flushed in store batches of that many", () => {
    const { state, sent } = replica(NODE_A, true);
    for (let i = 0; i < OPS_PER_BATCH_MAX; i++) state.lwwMapSet("m", text(`f${i}`), text("v"));
    assert.equal(
      sent.flatMap(writesOf).length,
      OPS_PER_BATCH_MAX,
      "flushed without waiting for the interval",
    );
  });

  test("an op read while its batch is open (a repair) is not changed by the batch's later writes", () => {
    const { state, sent } = replica(NODE_A, true);
    state.lwwMapSet("m", text("a"), text("1"));
    state.lwwMapSet("m", text("b"), text("2"));
    const early = state.opsSince(new Map(), 10);
    assert.deepEqual(early.flatMap(writesOf), [
      ["a", "1"],
      ["b", "2"],
    ]);
    state.lwwMapSet("m", text("c"), text("3"));
    state.flush();
    assert.deepEqual(early.flatMap(writesOf), [
      ["a", "1"],
      ["b", "2"],
    ]);
    assert.deepEqual(
      sent.flatMap(writesOf).map(([field]) => field),
      ["a", "b", "c"],
    );
    assert.equal(sent[0]!.id.seq, early[0]!.id.seq);
  });

  test("a peer applies every entry by its own stamp: an entry older than a write it holds loses, as its own op would", () => {
    const writer = replica(NODE_A, true);
    const reader = replica(NODE_B, true);
    writer.state.lwwMapSet("m", text("a"), text("old"));
    writer.state.lwwMapSet("m", text("b"), text("from A"));
    writer.state.flush();
    // The reader wrote `a` later than A did (its clock is ahead): its write wins; `b` is taken.
    reader.time.ms += 5_000;
    reader.state.lwwMapSet("m", text("a"), text("new"));
    reader.state.flush();
    assert.deepEqual(reader.state.applyRemote(writer.sent), writer.sent);
    assert.equal(decodeText(reader.state.lwwMapGet("m", text("a"))!), "new");
    assert.equal(decodeText(reader.state.lwwMapGet("m", text("b"))!), "from A");
    // Applied twice, nothing changes and it is counted a duplicate.
    assert.deepEqual(reader.state.applyRemote(writer.sent), []);
    // The reader's clock passed every entry's stamp: its next write is stamped after them.
    const newest = writer.sent[0]!.timestamp;
    reader.time.ms -= 10_000;
    reader.state.lwwMapSet("m", text("b"), text("after"));
    assert.equal(decodeText(reader.state.lwwMapGet("m", text("b"))!), "after");
    assert.ok(cellsOf(reader.state, "m").find(([field]) => field === "b")![2] > newest);
  });

  test("property: coalescing on converges to exactly the state it has off, given the same writes, stamps and deliveries", () => {
    // [action, replica, a, b]: a write, a remove, a flush, a clock move, or a delivery of one
    // replica's flushed ops to another, shuffled and with duplicates.
    const actions = fc.array(fc.tuple(fc.nat(9), fc.nat(2), fc.nat(1_000), fc.nat(1_000)), {
      minLength: 10,
      maxLength: 80,
      size: "max",
    });
    fc.assert(
      fc.property(actions, (script) => {
        const modes = [true, false].map((coalesce) => {
          const time = { ms: 1_000_000 };
          // Each replica's physical clock a little behind the one before: a receiver's stamps
          // then depend on its clock having passed every stamp it received.
          const replicas = REPLICA_IDS.map((nodeId, index) => {
            const sent: Op[] = [];
            const state = openReplicatedState({
              backend: createMemoryBackend(),
              nodeId,
              nowMs: () => time.ms - 2 * index,
              clock: createVirtualClock(1_000),
              onLocalOps: (ops) => sent.push(...ops),
              coalesceMapWrites: coalesce,
            });
            return { state, sent };
          });
          return { time, replicas };
        });
        const deliver = (mode: (typeof modes)[number], to: number, from: number, seed: number): void => {
          const ops = mode.replicas[from]!.sent;
          const doubled = [...ops, ...ops.filter((_, i) => (i + seed) % 3 === 0)];
          const shuffled = doubled
            .map((op, i) => ({ op, order: (i * 7919 + seed * 104729) % 1_000_003 }))
            .sort((x, y) => x.order - y.order)
            .map((x) => x.op);
          mode.replicas[to]!.state.applyRemote(shuffled);
        };
        for (const [action, r, a, b] of script) {
          for (const mode of modes) {
            const { state } = mode.replicas[r]!;
            if (action <= 3) state.lwwMapSet("m", text(`f${a % 6}`), text(`v${b}`));
            else if (action === 4) state.lwwMapRemove("m", text(`f${a % 6}`));
            else if (action <= 6) state.flush();
            else if (action === 7) mode.time.ms += a % 3;
            else deliver(mode, r, (r + 1 + (a % 2)) % 3, b);
          }
          for (let i = 0; i < 3; i++)
            assert.deepEqual(
              cellsOf(modes[0]!.replicas[i]!.state, "m"),
              cellsOf(modes[1]!.replicas[i]!.state, "m"),
            );
        }
        for (const mode of modes) {
          for (const { state } of mode.replicas) state.flush();
          for (let to = 0; to < 3; to++)
            for (let from = 0; from < 3; from++) deliver(mode, to, from, to + from);
        }
        const converged = cellsOf(modes[1]!.replicas[0]!.state, "m");
        for (const mode of modes)
          for (const { state } of mode.replicas) assert.deepEqual(cellsOf(state, "m"), converged);
        // Coalescing made no more ops than one per write.
        const writes = (ops: readonly Op[]): number => ops.reduce((n, op) => n + opWriteCount(op), 0);
        for (let i = 0; i < 3; i++)
          assert.ok(writes(modes[0]!.replicas[i]!.sent) <= writes(modes[1]!.replicas[i]!.sent));
      }),
      propertyRuns(200),
    );
  });
});
