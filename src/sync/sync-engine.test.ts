import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { NodeId } from "../identity/node-id.ts";
import type { PushStateMessage, VersionVector } from "../net/messages.ts";
import {
  bytesEnd,
  FANOUT_CLUSTER_SIZE_MIN,
  type OpBytesBudget,
  type Outgoing,
  REPORTED_VECTORS_MAX,
  SEND_ACK_TIMEOUT_MIN_MS,
  SyncEngine,
  type SyncReplica,
  vectorCovers,
} from "./sync-engine.ts";
import type { ChangedObject } from "./sync-events.ts";

/** The smallest replica with the sync contract: a set of (origin, seq) ops and its version vector. */
interface TestOp {
  origin: NodeId;
  seq: number;
}

class LogReplica implements SyncReplica<TestOp> {
  readonly ops = new Map<string, TestOp>();
  readonly #vector = new Map<NodeId, number>();
  #nextSeq = 1;
  readonly nodeId: NodeId;

  constructor(nodeId: NodeId) {
    this.nodeId = nodeId;
  }

  local(): TestOp {
    const op = { origin: this.nodeId, seq: this.#nextSeq++ };
    this.applyRemote([op]);
    return op;
  }

  versionVector(): VersionVector {
    return new Map(this.#vector);
  }

  heldOrigins(): Set<NodeId> {
    return new Set([...this.ops.values()].map((op) => op.origin));
  }

  /** Ops returned by `opsSince`, over all calls: what was read from the op-log. */
  opsRead = 0;

  opsSince(
    vector: VersionVector,
    limit: number,
    origins?: ReadonlySet<NodeId>,
    bytes?: OpBytesBudget<TestOp>,
  ): TestOp[] {
    const ops = [...this.ops.values()]
      .filter((op) => op.seq > (vector.get(op.origin) ?? 0) && (origins?.has(op.origin) ?? true))
      .sort((a, b) => (a.origin === b.origin ? a.seq - b.seq : a.origin < b.origin ? -1 : 1))
      .slice(0, limit);
    if (bytes !== undefined) ops.length = bytesEnd(ops, 0, ops.length, bytes);
    this.opsRead += ops.length;
    return ops;
  }

  idOf(op: TestOp): TestOp {
    return op;
  }

  localOrigin(): NodeId {
    return this.nodeId;
  }

  /** The highest sequence of this node's own ops compacted out of its log (0: none; set by a test). */
  floor = 0;

  // This replica keeps every op; a test sets `floor` to make peers behind it need a snapshot.
  needsSnapshot(vector: VersionVector): boolean {
    return (vector.get(this.nodeId) ?? 0) < this.floor;
  }

  /** Peers at a vector this predicate holds for are stale (none unless a test says so). */
  stale: (vector: VersionVector) => boolean = () => false;

  isStale(vector: VersionVector): boolean {
    return this.stale(vector);
  }

  /** What `snapshotParts` answers (none unless a test sets some). */
  parts: PushStateMessage[] = [];

  snapshotParts(): PushStateMessage[] {
    return this.parts;
  }

  applySnapshotPart(): readonly ChangedObject[] {
    return [];
  }

  applyRemote(ops: readonly TestOp[]): TestOp[] {
    const fresh: TestOp[] = [];
    for (const op of ops) {
      const key = `${op.origin}:${op.seq}`;
      if (this.ops.has(key)) continue;
      this.ops.set(key, op);
      fresh.push(op);
    }
    // As ReplicatedState's: an origin held only out of order (above a gap) has no entry.
    for (const op of fresh) {
      let seq = this.#vector.get(op.origin) ?? 0;
      while (this.ops.has(`${op.origin}:${seq + 1}`)) seq++;
      if (seq > 0) this.#vector.set(op.origin, seq);
    }
    return fresh;
  }
}

const id = (n: number): NodeId => n.toString(16).padStart(32, "0") as NodeId;

/** Nodes wired directly: every output is delivered synchronously, in order, until quiet. */
function wire(replicas: LogReplica[], engines: SyncEngine<TestOp>[], links: [number, number][]) {
  const byId = new Map(replicas.map((r, i) => [r.nodeId, i]));
  let delivered = 0;
  const deliver = (from: number, outgoing: Outgoing<TestOp>[]): void => {
    const queue = outgoing.map((o) => ({ from, o }));
    while (queue.length > 0) {
      const { from: sender, o } = queue.shift()!;
      const to = byId.get(o.peer)!;
      delivered++;
      for (const next of engines[to].receive(replicas[sender].nodeId, o.message, 0))
        queue.push({ from: to, o: next });
    }
  };
  for (const [a, b] of links) {
    // Both ends finish the handshake before either's first message arrives, as on a real connection.
    const fromA = engines[a].peerConnected(replicas[b].nodeId, 0);
    const fromB = engines[b].peerConnected(replicas[a].nodeId, 0);
    deliver(a, fromA);
    deliver(b, fromB);
  }
  return { deliver, delivered: () => delivered };
}

function cluster(n: number, options: ConstructorParameters<typeof SyncEngine<TestOp>>[1] = {}) {
  const replicas = Array.from({ length: n }, (_, i) => new LogReplica(id(i + 1)));
  const engines = replicas.map((r) => new SyncEngine<TestOp>(r, options));
  return { replicas, engines };
}

describe("SyncEngine", () => {
  test("remembers each peer's latest reported vector (its PullSince), after it disconnects too, bounded", () => {
    const { replicas, engines } = cluster(2);
    wire(replicas, engines, [[0, 1]]);
    const [, b] = replicas;
    assert.deepEqual(engines[0].reportedVectors().get(b.nodeId), { vector: new Map(), atMs: 0 });
    b.local();
    const pull = () => ({ type: "PullSince", versionVector: b.versionVector(), limit: 10 }) as const;
    engines[0].receive(b.nodeId, pull(), 500);
    assert.deepEqual(engines[0].reportedVectors().get(b.nodeId), {
      vector: new Map([[b.nodeId, 1]]),
      atMs: 500,
    });
    engines[0].peerDisconnected(b.nodeId, 600);
    assert.equal(engines[0].reportedVectors().get(b.nodeId)?.atMs, 500);

    const lone = new SyncEngine<TestOp>(new LogReplica(id(999)));
    for (let index = 0; index <= REPORTED_VECTORS_MAX; index++) {
      lone.peerConnected(id(index + 1), 0);
      lone.receive(id(index + 1), pull(), index);
    }
    assert.equal(lone.reportedVectors().size, REPORTED_VECTORS_MAX);
    assert.equal(lone.reportedVectors().has(id(1)), false, "the oldest report is forgotten");
  });

  test("local ops reach a connected peer in PushOps batches", () => {
    const { replicas, engines } = cluster(2);
    const net = wire(replicas, engines, [[0, 1]]);
    const ops = Array.from({ length: 5 }, () => replicas[0].local());
    engines[0].localOps(ops);
    const out = engines[0].flush();
    assert.equal(out.length, 1);
    assert.equal(out[0].message.type, "PushOps");
    net.deliver(0, out);
    assert.equal(replicas[1].ops.size, 5);
    assert.equal(engines[0].inflightBatches(), 0, "the ack came back");
  });

  test("a pull is never answered with this node's own ops before they are durable (handed to localOps)", () => {
    const { replicas, engines } = cluster(2);
    const net = wire(replicas, engines, [[0, 1]]);
    // Made on node 0 and in its op-log, but its commit has not ended: not handed to localOps yet.
    const pending = [replicas[0].local(), replicas[0].local()];
    const pull = { type: "PullSince", versionVector: replicas[1].versionVector(), limit: 100 } as const;
    net.deliver(0, engines[0].receive(replicas[1].nodeId, pull, 0));
    assert.equal(replicas[1].ops.size, 0, "a crash now would reuse their sequence numbers");
    engines[0].localOps(pending);
    net.deliver(0, engines[0].flush());
    assert.equal(replicas[1].ops.size, 2, "once durable they go out");
    // What the replica held when the engine started came from the store: durable, answered.
    const restarted = new SyncEngine<TestOp>(replicas[0]);
    restarted.peerConnected(replicas[1].nodeId, 0);
    const answer = restarted.receive(replicas[1].nodeId, { ...pull, versionVector: new Map() }, 0);
    assert.deepEqual(
      answer.flatMap((o) => (o.message.type === "PushOps" ? o.message.ops : [])),
      pending,
    );
  });

  test("a snapshot answer waits until this node's own ops in it are durable", () => {
    const { replicas, engines } = cluster(2);
    wire(replicas, engines, [[0, 1]]);
    const marker: PushStateMessage = {
      type: "PushState",
      versionVector: new Map(),
      objects: [],
      final: true,
    };
    replicas[0].parts = [marker];
    replicas[0].floor = 5; // node 1 is behind the op-log's floor: it needs a snapshot
    const pending = [replicas[0].local(), replicas[0].local()]; // in the state, not yet durable
    const pull = { type: "PullSince", versionVector: replicas[1].versionVector(), limit: 100 } as const;
    const states = (out: Outgoing<TestOp>[]) => out.filter((o) => o.message.type === "PushState").length;
    assert.equal(
      states(engines[0].receive(replicas[1].nodeId, pull, 0)),
      0,
      "held: the state holds undurable ops",
    );
    assert.equal(states(engines[0].flush()), 0);
    engines[0].localOps(pending);
    assert.equal(states(engines[0].flush()), 1, "sent once they are durable");
    // With nothing undurable, a snapshot answer goes out at once.
    assert.equal(states(engines[0].receive(replicas[1].nodeId, pull, 0)), 1);
  });

  test("a stale puller gets a replacing snapshot and no ops, and its pushes are dropped until it covers the collected removes", () => {
    const { replicas, engines } = cluster(2);
    wire(replicas, engines, [[0, 1]]);
    engines[0].localOps([replicas[0].local(), replicas[0].local()]);
    replicas[0].stale = (vector) => (vector.get(replicas[0].nodeId) ?? 0) < 2;
    replicas[0].parts = [
      { type: "PushState", versionVector: new Map(), objects: [], final: true, replace: true },
    ];
    const peer = replicas[1].nodeId;
    const stalePull = { type: "PullSince", versionVector: new Map(), limit: 100 } as const;
    const out = engines[0].receive(peer, stalePull, 0);
    assert.deepEqual(
      out.map((o) => o.message.type),
      ["PushState"],
      "the whole state, marked replace, and no ops onto a stale state",
    );
    const op = replicas[1].local();
    const ack = engines[0].receive(peer, { type: "PushOps", batchId: 7, ops: [op] }, 0);
    assert.deepEqual(
      ack.map((o) => o.message),
      [{ type: "PushOpsAck", batchId: 7, applied: 0 }],
    );
    assert.equal(replicas[0].ops.has(`${op.origin}:${op.seq}`), false, "a stale peer's op is not taken in");
    const covered = new Map([[replicas[0].nodeId, 2]]);
    engines[0].receive(peer, { type: "PullSince", versionVector: covered, limit: 100 }, 0);
    engines[0].receive(peer, { type: "PushOps", batchId: 8, ops: [op] }, 0);
    assert.equal(replicas[0].ops.has(`${op.origin}:${op.seq}`), true, "taken in once the peer covers them");
  });

  test("ops relay through a hub to nodes that only know the hub, without loops", () => {
    const { replicas, engines } = cluster(4);
    const net = wire(replicas, engines, [
      [0, 1],
      [0, 2],
      [0, 3],
    ]);
    engines[1].localOps([replicas[1].local(), replicas[1].local()]);
    net.deliver(1, engines[1].flush());
    for (const r of replicas) assert.equal(r.ops.size, 2, `${r.nodeId} has both ops`);
    const before = net.delivered();
    for (let i = 0; i < 4; i++) net.deliver(i, engines[i].flush());
    assert.equal(net.delivered(), before, "nothing is relayed back and forth once everyone has the ops");
  });

  test("a peer that connects late pulls exactly what it lacks", () => {
    const { replicas, engines } = cluster(2);
    // Made (and durable) while the nodes were apart.
    engines[0].localOps(Array.from({ length: 30 }, () => replicas[0].local()));
    engines[1].localOps([replicas[1].local()]);
    wire(replicas, engines, [[0, 1]]);
    assert.equal(replicas[1].ops.size, 31);
    assert.equal(replicas[0].ops.size, 31);
  });

  test("a full pull answer is continued by the answerer until the peer is caught up", () => {
    const { replicas, engines } = cluster(2, { pullLimit: 7, batchOpsMax: 3 });
    engines[0].localOps(Array.from({ length: 50 }, () => replicas[0].local()));
    wire(replicas, engines, [[0, 1]]);
    assert.equal(replicas[1].ops.size, 50);
    assert.equal(engines[1].stats.antiEntropyRounds, 1, "one pull: the rest came as a repair");
  });

  test("a continued pull answer carries the ops of an origin the answerer holds only out of order", () => {
    const { replicas, engines } = cluster(2, { pullLimit: 7, batchOpsMax: 3 });
    const other = id(99);
    // a holds other's ops 2..11 but not 1: other has no entry in a's version vector.
    replicas[0].applyRemote(Array.from({ length: 10 }, (_, i) => ({ origin: other, seq: i + 2 })));
    assert.equal(replicas[0].versionVector().has(other), false);
    engines[0].localOps(Array.from({ length: 50 }, () => replicas[0].local()));
    wire(replicas, engines, [[0, 1]]);
    assert.equal(engines[1].stats.antiEntropyRounds, 1, "one pull: the rest came as a repair");
    assert.equal(replicas[1].ops.size, 60, "a's 50 ops and other's 10, without waiting for the next pull");
  });

  /** The seqs of each PushOps in `out` (other messages: none). */
  const pushedSeqs = (out: Outgoing<TestOp>[]) =>
    out.map(({ message }) => (message.type === "PushOps" ? message.ops.map((op) => op.seq) : []));

  test("batches are cut at batchBytes as opBytes counts them, pushed and pulled alike", () => {
    // Ops of seq 3 and 7 count 15 bytes, the others 4: batches of 20 bytes at most.
    const opBytes = (op: TestOp) => (op.seq % 4 === 3 ? 15 : 4);
    const { replicas, engines } = cluster(2, { batchBytes: { bytesMax: 20, opBytes } });
    // Made before the peer connects: its pull on connect asks for them.
    engines[0].localOps(Array.from({ length: 5 }, () => replicas[0].local()));
    const net = wire(replicas, engines, [[0, 1]]);
    engines[0].localOps(Array.from({ length: 5 }, () => replicas[0].local()));
    const pushed = engines[0].flush();
    assert.deepEqual(pushedSeqs(pushed), [
      [6, 7],
      [8, 9, 10],
    ]);
    net.deliver(0, pushed);
    assert.equal(replicas[1].ops.size, 10);
    assert.equal(engines[0].stats.batchesSent, 3 + 2, "the pull answer (1-5) was cut the same way");
  });

  test("an op larger than batchBytes alone is left out, told and counted, pushed and pulled alike; the ops after it go on", () => {
    // Ops of seq 3 and 7 count 25 bytes, over the 20 of a batch: no frame carries them.
    const opBytes = (op: TestOp) => (op.seq % 4 === 3 ? 25 : 4);
    const told: string[] = [];
    const { replicas, engines } = cluster(2, {
      batchBytes: { bytesMax: 20, opBytes },
      onOpTooLarge: (peer, op, bytes, bytesMax) => told.push(`${peer} ${op.seq} ${bytes} ${bytesMax}`),
    });
    engines[0].localOps(Array.from({ length: 5 }, () => replicas[0].local()));
    const net = wire(replicas, engines, [[0, 1]]);
    engines[0].localOps(Array.from({ length: 5 }, () => replicas[0].local()));
    const pushed = engines[0].flush();
    assert.deepEqual(pushedSeqs(pushed), [[6, 8, 9, 10]]);
    net.deliver(0, pushed);
    assert.deepEqual(
      [...replicas[1].ops.keys()].sort(),
      ["1", "10", "2", "4", "5", "6", "8", "9"].map((seq) => `${replicas[0].nodeId}:${seq}`).sort(),
    );
    const peer = replicas[1].nodeId;
    assert.deepEqual(told, [`${peer} 3 25 20`, `${peer} 7 25 20`]);
    assert.equal(engines[0].stats.opsTooLarge, 2);
  });

  test("a peer that announced a smaller max_message_size gets batches cut to it (peerBatchBytesMax)", () => {
    const { replicas, engines } = cluster(2, {
      batchBytes: { bytesMax: 20, opBytes: () => 4 },
      peerBatchBytesMax: (maxMessageSizeBytes) => maxMessageSizeBytes - 2,
    });
    const [a, b] = replicas;
    engines[0].peerConnected(b.nodeId, 0, 10);
    engines[1].peerConnected(a.nodeId, 0, 1000);
    engines[0].localOps(Array.from({ length: 6 }, () => a.local()));
    engines[1].localOps(Array.from({ length: 6 }, () => b.local()));
    const sizes = (out: Outgoing<TestOp>[]) =>
      out.flatMap(({ message }) => (message.type === "PushOps" ? [message.ops.length] : []));
    assert.deepEqual(sizes(engines[0].flush()), [2, 2, 2], "8 bytes a batch: the peer's 10, less 2");
    assert.deepEqual(sizes(engines[1].flush()), [5, 1], "this node's own 20: the peer reads more");
  });

  test("a repair cut by bytes sends no more batches at once than the window has room for, and reads no more than it sends", () => {
    // Every op its own batch (4 bytes against 4): read by ops alone, the repair read 10 a step.
    const { replicas, engines } = cluster(2, {
      queuedOpsLimit: 2,
      inflightBatchesMax: 1,
      batchOpsMax: 10,
      batchBytes: { bytesMax: 4, opBytes: () => 4 },
    });
    wire(replicas, engines, [[0, 1]]);
    const [a, b] = replicas;
    engines[0].localOps(Array.from({ length: 30 }, () => a.local()));
    assert.equal(engines[0].stats.opsShed, 28);
    let out = engines[0].flush();
    for (let step = 0; step < 100 && out.length > 0; step++) {
      const batches = out.filter((o) => o.message.type === "PushOps");
      assert.ok(batches.length <= 1, `step ${step}: ${batches.length} batches at once, the window holds 1`);
      const next: Outgoing<TestOp>[] = [];
      for (const o of out) next.push(...engines[1].receive(a.nodeId, o.message, 0));
      out = next.flatMap((o) => engines[0].receive(b.nodeId, o.message, 0));
    }
    assert.equal(b.ops.size, 30, "every shed op was repaired");
    assert.equal(a.opsRead, 28, "each shed op read from the op-log once");
  });

  test("ops pushed in steady state trigger no pulls (no duplicates re-sent from the op-log)", () => {
    const { replicas, engines } = cluster(2, { pullLimit: 8, batchOpsMax: 4 });
    const net = wire(replicas, engines, [[0, 1]]);
    const pullsAfterConnect = engines[1].stats.antiEntropyRounds;
    for (let burst = 0; burst < 20; burst++) {
      engines[0].localOps(Array.from({ length: 4 }, () => replicas[0].local()));
      net.deliver(0, engines[0].flush());
    }
    assert.equal(replicas[1].ops.size, 80);
    assert.equal(engines[1].stats.antiEntropyRounds, pullsAfterConnect, "pushes are not pull answers");
    assert.equal(engines[0].stats.opsSent, 80, "every op was sent once");
  });

  test("ops shed by a full queue are re-sent from the op-log once the queue drains", () => {
    const { replicas, engines } = cluster(2, { queuedOpsLimit: 10, inflightBatchesMax: 1, batchOpsMax: 10 });
    const net = wire(replicas, engines, [[0, 1]]);
    const ops = Array.from({ length: 100 }, () => replicas[0].local());
    engines[0].localOps(ops);
    assert.equal(engines[0].stats.opsShed, 90);
    net.deliver(0, engines[0].flush());
    assert.equal(replicas[1].ops.size, 100, "each ack freed the window for the next repair batch");
    assert.equal(engines[0].flush().length, 0, "the repair is finished");
  });

  test("this node's ops left to a repair with room in the queue are not counted as shed (numax_sync_ops_shed_total: a full queue's drop)", () => {
    const { replicas, engines } = cluster(2, { queuedOpsLimit: 10, inflightBatchesMax: 1, batchOpsMax: 10 });
    const net = wire(replicas, engines, [[0, 1]]);
    engines[0].localOps(Array.from({ length: 100 }, () => replicas[0].local()));
    assert.equal(engines[0].stats.opsShed, 90);
    const first = engines[0].flush(); // the queue's 10 in flight, the window full: the queue is empty
    engines[0].localOps(Array.from({ length: 5 }, () => replicas[0].local()));
    assert.equal(engines[0].stats.opsShed, 90, "the queue had room: they wait for the repair, not shed");
    net.deliver(0, first);
    assert.equal(replicas[1].ops.size, 105, "and the repair delivered them");
  });

  test("the send window halves when acks come back late (queueing, a loaded peer), once per round trip, and grows back by one batch per round trip", () => {
    let nowMs = 0;
    const { replicas, engines } = cluster(2, {
      inflightBatchesMax: 8,
      batchOpsMax: 1,
      queuedOpsLimit: 1_000,
      clock: () => nowMs,
    });
    const [a, b] = replicas;
    const engine = engines[0];
    engine.peerConnected(b.nodeId, 0);
    /** Batches in flight, oldest first, with the time each went out. */
    const inflight: { batchId: number; sentMs: number }[] = [];
    const sent = (out: Outgoing<TestOp>[]) => {
      for (const o of out)
        if (o.message.type === "PushOps") inflight.push({ batchId: o.message.batchId, sentMs: nowMs });
    };
    /** The oldest batch in flight is acked `rttMs` after it went out (or now, if that is later). */
    const ackOldest = (rttMs: number) => {
      const { batchId, sentMs } = inflight.shift()!;
      nowMs = Math.max(nowMs, sentMs + rttMs);
      sent(engine.receive(b.nodeId, { type: "PushOpsAck", batchId, applied: 1 }, 0));
    };
    engine.localOps(Array.from({ length: 500 }, () => a.local()));
    sent(engine.flush());
    assert.equal(inflight.length, 8, "the window starts at inflightBatchesMax");
    assert.equal(engine.sendWindowBatches(), 8);
    ackOldest(10); // the path's delay
    for (let i = 0; i < 4; i++) ackOldest(600); // a queue builds: the smoothed round trip grows past 2 × 10 + 100 ms
    assert.equal(engine.stats.sendWindowCuts, 1, "late acks of one round trip: one cut");
    assert.equal(engine.sendWindowBatches(), 4);
    assert.equal(inflight.length, 5, "the acks freed slots, and no batch went out: 5 in flight, more than 4");
    nowMs += 1_000;
    ackOldest(600);
    assert.equal(engine.stats.sendWindowCuts, 2, "late again a round trip later: cut again");
    assert.equal(engine.sendWindowBatches(), 2);
    // Acks at the path's delay again: one more batch per window's worth of acks.
    let acks = 0;
    while (engine.sendWindowBatches() < 8 && acks < 100) {
      ackOldest(10);
      acks++;
      assert.ok(inflight.length <= engine.sendWindowBatches() + 4, "in flight stays within the window");
    }
    assert.equal(engine.sendWindowBatches(), 8, "grown back to inflightBatchesMax");
    assert.ok(acks >= 2 + 3 + 4 + 5 + 6 + 7 - 10, `${acks} acks`);
    assert.ok(engine.ackRttMs() > 10);
  });

  test("a batch unacknowledged past its timeout is taken as lost: its slot is freed, the window halves, its ops go again", () => {
    let nowMs = 0;
    const { replicas, engines } = cluster(2, { inflightBatchesMax: 2, batchOpsMax: 5, clock: () => nowMs });
    const [a, b] = replicas;
    const engine = engines[0];
    engine.peerConnected(b.nodeId, 0);
    engine.localOps(Array.from({ length: 15 }, () => a.local()));
    const seqs = (out: Outgoing<TestOp>[]) =>
      out.flatMap((o) => (o.message.type === "PushOps" ? o.message.ops.map((op) => op.seq) : []));
    assert.deepEqual(seqs(engine.flush()), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    nowMs = SEND_ACK_TIMEOUT_MIN_MS - 1;
    assert.deepEqual(seqs(engine.tick(nowMs)), [], "the window is full until then");
    nowMs = SEND_ACK_TIMEOUT_MIN_MS;
    // Both lost: the window halves to 1; the queued ops go first, then the lost ones from the op-log.
    assert.deepEqual(seqs(engine.tick(nowMs)), [11, 12, 13, 14, 15]);
    assert.equal(engine.stats.batchesLost, 2);
    assert.equal(engine.sendWindowBatches(), 1);
    const acked = (batchId: number) =>
      engine.receive(b.nodeId, { type: "PushOpsAck", batchId, applied: 5 }, 0);
    assert.deepEqual(seqs(acked(3)), [1, 2, 3, 4, 5]);
    assert.deepEqual(seqs(acked(4)), [6, 7, 8, 9, 10]);
    assert.deepEqual(seqs(acked(5)), []);
  });

  test("new local ops do not wait for the repair of a lost batch (only for one of ops shed by a full queue)", () => {
    let nowMs = 0;
    const { replicas, engines } = cluster(2, { inflightBatchesMax: 2, batchOpsMax: 5, clock: () => nowMs });
    const [a, b] = replicas;
    const engine = engines[0];
    engine.peerConnected(b.nodeId, 0);
    const seqs = (out: Outgoing<TestOp>[]) =>
      out.flatMap((o) => (o.message.type === "PushOps" ? o.message.ops.map((op) => op.seq) : []));
    engine.localOps(Array.from({ length: 5 }, () => a.local()));
    assert.deepEqual(seqs(engine.flush()), [1, 2, 3, 4, 5]);
    nowMs = SEND_ACK_TIMEOUT_MIN_MS;
    // Lost: the window halves to 1 and the repair re-sends it.
    assert.deepEqual(seqs(engine.tick(nowMs)), [1, 2, 3, 4, 5]);
    engine.localOps(Array.from({ length: 5 }, () => a.local()));
    assert.equal(engine.stats.opsShed, 0, "queued, not left to the repair");
    // Left to the repair, they waited for its batches and the acks of each (the whole-node
    // simulator's partition-50 seed 2 converged 0.5 s later).
    assert.deepEqual(
      seqs(engine.receive(b.nodeId, { type: "PushOpsAck", batchId: 2, applied: 5 }, 0)),
      [6, 7, 8, 9, 10],
    );
  });

  test("a late ack of a batch taken as lost shows the loss spurious: the connection's timeout becomes twice that round trip", () => {
    let nowMs = 0;
    const { replicas, engines } = cluster(2, { inflightBatchesMax: 2, batchOpsMax: 5, clock: () => nowMs });
    const [a, b] = replicas;
    const engine = engines[0];
    engine.peerConnected(b.nodeId, 0);
    const ack = (batchId: number) =>
      engine.receive(b.nodeId, { type: "PushOpsAck", batchId, applied: 5 }, nowMs);
    const batchIdsOf = (out: Outgoing<TestOp>[]) =>
      out.flatMap((o) => (o.message.type === "PushOps" ? [o.message.batchId] : []));
    /** Acks every batch of `out` at once, and every batch those acks let out. */
    const ackAll = (out: Outgoing<TestOp>[]) => {
      for (let ids = batchIdsOf(out); ids.length > 0; ) ids = ids.flatMap((id) => batchIdsOf(ack(id)));
    };
    engine.localOps(Array.from({ length: 5 }, () => a.local()));
    engine.flush(); // batch 1
    nowMs = SEND_ACK_TIMEOUT_MIN_MS;
    ackAll(engine.tick(nowMs)); // batch 1 lost; its repair goes and is acked
    assert.equal(engine.stats.batchesLost, 1);
    nowMs = 3_000; // the peer was slow, not lossy: batch 1's ack after 3 s
    ackAll(ack(1));
    ack(1); // a duplicate counts once
    assert.equal(engine.stats.batchesLostSpuriously, 1);
    // Prompt acks bring the smoothed round trip under 0.3 s; the least timeout stays.
    for (let i = 0; i < 20; i++) {
      engine.localOps(Array.from({ length: 5 }, () => a.local()));
      ackAll(engine.flush());
    }
    assert.ok(engine.ackRttMs() < 300, `smoothed ${engine.ackRttMs()} ms`);
    engine.localOps(Array.from({ length: 5 }, () => a.local()));
    assert.equal(batchIdsOf(engine.flush()).length, 1);
    const sentAt = nowMs;
    nowMs = sentAt + 2 * 3_000 - 1;
    engine.tick(nowMs);
    assert.equal(engine.stats.batchesLost, 1, "not lost after 2 s any more");
    nowMs = sentAt + 2 * 3_000;
    engine.tick(nowMs);
    assert.equal(engine.stats.batchesLost, 2, "lost after twice the slow round trip");
  });

  test("a pull is answered without the ops in flight to the puller, and without a snapshot for them", () => {
    const { replicas, engines } = cluster(2, { inflightBatchesMax: 2, batchOpsMax: 5 });
    wire(replicas, engines, [[0, 1]]);
    engines[0].localOps(Array.from({ length: 20 }, () => replicas[0].local()));
    const sent = engines[0].flush(); // 10 ops in flight, 10 queued: none delivered yet
    assert.equal(sent.length, 2);
    // The op-log no longer holds the first 10 of origin 0: a peer behind that needs a snapshot.
    replicas[0].floor = 10;
    const answer = engines[0].receive(
      replicas[1].nodeId,
      {
        type: "PullSince",
        versionVector: replicas[1].versionVector(),
        limit: 100,
      },
      0,
    );
    const seqsOf = (out: Outgoing<TestOp>[]) =>
      out.map((o) => (o.message.type === "PushOps" ? o.message.ops.map((op) => op.seq) : o.message.type));
    assert.deepEqual(
      seqsOf(answer),
      [
        [11, 12, 13, 14, 15],
        [16, 17, 18, 19, 20],
      ],
      "the queued ops, not 1-10",
    );
    assert.equal(engines[0].stats.snapshotsSent, 0, "ops 1-10 are on their way: no snapshot");
    // Still unacknowledged at the next pull: taken as lost, re-sent, and the peer is behind the floor.
    const next = engines[0].receive(
      replicas[1].nodeId,
      {
        type: "PullSince",
        versionVector: replicas[1].versionVector(),
        limit: 100,
      },
      0,
    );
    assert.equal(engines[0].stats.snapshotsSent, 1);
    assert.deepEqual(seqsOf(next).slice(0, 2), [
      [1, 2, 3, 4, 5],
      [6, 7, 8, 9, 10],
    ]);
  });

  test("ops made while shed ops wait for their repair reach the peer after them, in sequence order", () => {
    const { replicas, engines } = cluster(2, { queuedOpsLimit: 10, inflightBatchesMax: 1, batchOpsMax: 10 });
    const net = wire(replicas, engines, [[0, 1]]);
    const received: number[] = [];
    const apply = replicas[1].applyRemote.bind(replicas[1]);
    replicas[1].applyRemote = (ops) => {
      for (const op of ops) received.push(op.seq);
      return apply(ops);
    };
    engines[0].localOps(Array.from({ length: 100 }, () => replicas[0].local()));
    const first = engines[0].flush();
    engines[0].localOps(Array.from({ length: 20 }, () => replicas[0].local()));
    net.deliver(0, first);
    // Queued, 101-110 went out before the repair of 11-100: the peer held them above a gap.
    assert.deepEqual(
      received,
      Array.from({ length: 120 }, (_, i) => i + 1),
    );
  });

  test("this node's ops waiting behind a repair are not starved by a steady stream of relays, and still go in sequence order", () => {
    const { replicas, engines } = cluster(3, { queuedOpsLimit: 20, inflightBatchesMax: 1, batchOpsMax: 10 });
    const [a, b, c] = replicas;
    const engine = engines[1];
    engine.peerConnected(a.nodeId, 0);
    engine.peerConnected(c.nodeId, 0);
    const ownSent: number[] = [];
    const note = (out: Outgoing<TestOp>[]) => {
      for (const { peer, message } of out)
        if (peer === c.nodeId && message.type === "PushOps")
          for (const op of message.ops) if (op.origin === b.nodeId) ownSent.push(op.seq);
    };
    // c reads slowly: b's first 20 are queued, the next 20 shed (b's own ops, under repair).
    engine.localOps(Array.from({ length: 10 }, () => b.local()));
    engine.localOps(Array.from({ length: 30 }, () => b.local()));
    note(engine.flush());
    // Relays of a keep the queue to c from ever emptying: a batch of them for every ack.
    for (let batchId = 1; batchId <= 8; batchId++) {
      engine.applyPushed(
        a.nodeId,
        Array.from({ length: 10 }, () => a.local()),
      );
      note(engine.receive(c.nodeId, { type: "PushOpsAck", batchId, applied: 10 }, 0));
      note(engine.flush());
    }
    assert.deepEqual(
      ownSent,
      Array.from({ length: 40 }, (_, i) => i + 1),
      "the repair took turns with the queue once the own ops queued before the shed were out",
    );
    // The repair of b is over: b's next ops are queued again.
    engine.localOps([b.local()]);
    for (let batchId = 9; batchId <= 12; batchId++) {
      note(engine.receive(c.nodeId, { type: "PushOpsAck", batchId, applied: 10 }, 0));
      note(engine.flush());
    }
    assert.equal(ownSent.at(-1), 41);
  });

  test("relays of an origin under repair are still queued: their acks are what prunes it", () => {
    const { replicas, engines } = cluster(3, { queuedOpsLimit: 10, inflightBatchesMax: 1, batchOpsMax: 10 });
    const [a, , c] = replicas;
    const engine = engines[1];
    engine.peerConnected(a.nodeId, 0);
    engine.peerConnected(c.nodeId, 0);
    const fromA = (count: number) => Array.from({ length: count }, () => a.local());
    // c reads slowly: one batch in flight, ten queued, the rest shed (a is under repair towards c).
    engine.applyPushed(a.nodeId, fromA(10));
    engine.applyPushed(a.nodeId, fromA(30));
    assert.equal(engine.stats.opsShed, 20);
    // c takes the first batch: the queued ten go out, filling the window again.
    engine.receive(c.nodeId, { type: "PushOpsAck", batchId: 1, applied: 10 }, 0);
    // Left to the repair, the next relays of a would go out as repairs, whose acks prune nothing
    // (c may get a's ops directly): in the distinct-key gate every op then reached each node twice.
    engine.applyPushed(a.nodeId, fromA(5));
    assert.equal(engine.stats.opsShed, 20, "queued while the queue has room");
    engine.receive(c.nodeId, { type: "PushOpsAck", batchId: 2, applied: 0 }, 0);
    assert.equal(engine.stats.opsSent, 25, "the queued relays went out next");
  });

  test("ops pushed from the queue while a repair is under way are not sent again by the repair", () => {
    const { replicas, engines } = cluster(2, { queuedOpsLimit: 10, inflightBatchesMax: 1, batchOpsMax: 10 });
    const net = wire(replicas, engines, [[0, 1]]);
    engines[0].localOps(Array.from({ length: 100 }, () => replicas[0].local()));
    const first = engines[0].flush();
    engines[0].localOps(Array.from({ length: 20 }, () => replicas[0].local()));
    net.deliver(0, first);
    assert.equal(replicas[1].ops.size, 120);
    assert.equal(engines[1].stats.remoteOpsReceived, 120, "no op was sent twice");
  });

  test("ops a sender could not repair are delivered by the peer's anti-entropy pull", () => {
    const { replicas, engines } = cluster(2, { antiEntropyIntervalMs: 1000 });
    const net = wire(replicas, engines, [[0, 1]]);
    // Durable, but the pushes carrying them were lost on the way (and the connection stays up).
    engines[0].localOps(Array.from({ length: 100 }, () => replicas[0].local()));
    engines[0].flush();
    assert.equal(replicas[1].ops.size, 0);
    // The first pull finds them still on their way (sent, not acknowledged); the next takes them as lost.
    net.deliver(1, engines[1].tick(1000));
    net.deliver(1, engines[1].tick(2000));
    assert.equal(replicas[1].ops.size, 100, "the periodic pulls fetched everything");
  });

  test("ops sent without an ack are re-sent as soon as the peer reconnects", () => {
    const { replicas, engines } = cluster(2);
    wire(replicas, engines, [[0, 1]]);
    engines[0].localOps([replicas[0].local(), replicas[0].local()]);
    const lost = engines[0].flush();
    assert.equal(lost.length, 1, "one batch went out on the connection that then dropped");
    engines[0].peerDisconnected(replicas[1].nodeId, 0);
    const out = engines[0].peerConnected(replicas[1].nodeId, 0);
    const resent = out.find((o) => o.message.type === "PushOps");
    assert.ok(resent !== undefined && resent.message.type === "PushOps");
    assert.equal(resent.message.ops.length, 2, "the unacknowledged ops, without waiting for a pull");
  });

  test("in a full mesh, relays are pruned once peers show they get an origin's ops directly", () => {
    const n = 6;
    const { replicas, engines } = cluster(n);
    const links: [number, number][] = [];
    for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) links.push([a, b]);
    const net = wire(replicas, engines, links);
    const opsDelivered = () => engines.reduce((sum, e) => sum + e.stats.remoteOpsReceived, 0);
    const burst = () => {
      engines[0].localOps(Array.from({ length: 10 }, () => replicas[0].local()));
      net.deliver(0, engines[0].flush());
    };
    burst(); // the first burst floods and teaches every node where origin 0's ops come from
    const before = opsDelivered();
    for (let i = 0; i < 5; i++) burst();
    const perOp = (opsDelivered() - before) / 50;
    assert.equal(
      perOp,
      n - 1,
      `each op reached each peer once (${perOp} deliveries per op; flooding is ${(n - 1) ** 2})`,
    );
    for (const r of replicas) assert.equal(r.ops.size, 60);
    assert.ok(engines.some((e) => e.stats.opsPruned > 0));
  });

  test("relays shed for a peer that then prunes their origin are not repaired (it gets them directly)", () => {
    const { replicas, engines } = cluster(3, { queuedOpsLimit: 10, inflightBatchesMax: 1, batchOpsMax: 10 });
    const [a, b, c] = [0, 1, 2];
    wire(replicas, engines, [
      [a, b],
      [a, c],
      [b, c],
    ]);
    // Delivers everything at once but b's messages to c, which wait in `held` (c reads slowly).
    const held: Outgoing<TestOp>[] = [];
    const byId = new Map(replicas.map((r, i) => [r.nodeId, i]));
    const deliver = (from: number, outgoing: Outgoing<TestOp>[]): void => {
      const queue = outgoing.map((o) => ({ from, o }));
      while (queue.length > 0) {
        const { from: sender, o } = queue.shift()!;
        const to = byId.get(o.peer)!;
        if (sender === b && to === c) {
          held.push(o);
          continue;
        }
        for (const next of engines[to].receive(replicas[sender].nodeId, o.message, 0))
          queue.push({ from: to, o: next });
      }
    };
    for (let round = 0; round < 3; round++) {
      engines[a].localOps(Array.from({ length: 10 }, () => replicas[a].local()));
      deliver(a, engines[a].flush());
    }
    // b relayed a's first ten to c (its window is one batch), queued the next ten and shed the last ten.
    assert.equal(engines[b].stats.opsShed, 10);
    while (held.length > 0) deliver(c, engines[c].receive(replicas[b].nodeId, held.shift()!.message, 0));
    assert.equal(replicas[c].ops.size, 30);
    assert.equal(
      engines[c].stats.remoteOpsReceived,
      50,
      "c got a's 30 ops from a, and from b only the relays sent before it pruned a",
    );
  });

  test("a repair of shed ops re-sends only the origins it repairs, not ops held out of order", () => {
    const { replicas, engines } = cluster(3, { queuedOpsLimit: 5, inflightBatchesMax: 1, batchOpsMax: 5 });
    const [a, b, c] = [0, 1, 2];
    // b holds a's ops 2..11 but not 1: they sit above its version vector's entry for a.
    replicas[b].applyRemote(
      Array.from({ length: 10 }, (_, i) => ({ origin: replicas[a].nodeId, seq: i + 2 })),
    );
    engines[b].peerConnected(replicas[c].nodeId, 0);
    engines[c].peerConnected(replicas[b].nodeId, 0);
    engines[b].localOps(Array.from({ length: 20 }, () => replicas[b].local()));
    assert.equal(engines[b].stats.opsShed, 15);
    // Every message b sends c is delivered and answered, a bounded number of times.
    let outgoing = engines[b].flush();
    for (let step = 0; step < 50 && outgoing.length > 0; step++) {
      const next: Outgoing<TestOp>[] = [];
      for (const o of outgoing) {
        for (const answer of engines[c].receive(replicas[b].nodeId, o.message, 0))
          next.push(...engines[b].receive(replicas[c].nodeId, answer.message, 0));
      }
      outgoing = next;
    }
    assert.equal(replicas[c].versionVector().get(replicas[b].nodeId), 20, "b's shed ops were repaired");
    assert.equal(
      engines[c].stats.remoteOpsReceived,
      20,
      "only b's 20 ops: a's ops, which b holds out of order, are not its to repair",
    );
  });

  test("a lost direct link makes the remaining peers relay again at once (graft)", () => {
    const { replicas, engines } = cluster(3);
    const [a, b, c] = [0, 1, 2];
    const net = wire(replicas, engines, [
      [a, b],
      [a, c],
      [b, c],
    ]);
    engines[a].localOps([replicas[a].local()]);
    net.deliver(a, engines[a].flush()); // b relays a's op to c, c already has it: b prunes (c, a)
    // The a-c link breaks: c pulls from b, which un-prunes c.
    engines[a].peerDisconnected(replicas[c].nodeId, 0);
    net.deliver(c, engines[c].peerDisconnected(replicas[a].nodeId, 0));
    engines[a].localOps([replicas[a].local()]);
    net.deliver(a, engines[a].flush());
    assert.equal(replicas[c].ops.size, 2, "a's new op reached c through b, with no anti-entropy tick");
  });

  test("the inflight window pauses sending until acks arrive", () => {
    const { replicas, engines } = cluster(2, { batchOpsMax: 2, inflightBatchesMax: 2 });
    wire(replicas, engines, [[0, 1]]);
    engines[0].localOps(Array.from({ length: 10 }, () => replicas[0].local()));
    const first = engines[0].flush();
    assert.equal(first.length, 2, "two batches fill the window");
    assert.equal(engines[0].flush().length, 0, "nothing more until an ack");
    const ack = engines[1].receive(replicas[0].nodeId, first[0].message, 0);
    const next = engines[0].receive(replicas[1].nodeId, ack[0].message, 0);
    assert.equal(next.length, 1, "one ack frees one slot");
  });

  test("a batch applied in slices is relayed slice by slice and acknowledged once, with every new op counted", () => {
    const { replicas, engines } = cluster(3);
    const [a, b, c] = replicas;
    for (const [x, y] of [
      [0, 1],
      [0, 2],
    ]) {
      engines[x].peerConnected(replicas[y].nodeId, 0);
      engines[y].peerConnected(replicas[x].nodeId, 0);
    }
    const ops = Array.from({ length: 10 }, (_, i) => ({ origin: c.nodeId, seq: i + 1 }));
    a.applyRemote(ops.slice(0, 3)); // a holds some already
    const batch = { type: "PushOps", batchId: 7, ops } as const;
    let applied = 0;
    for (let start = 0; start < ops.length; start += 4) {
      const slice = engines[0].applyPushed(b.nodeId, ops.slice(start, start + 4));
      applied += slice.fresh.length;
      assert.ok(
        slice.out.every((o) => o.peer === c.nodeId && o.message.type === "PushOps"),
        "relays only",
      );
    }
    assert.deepEqual(engines[0].pushedDone(b.nodeId, batch, applied)[0], {
      peer: b.nodeId,
      message: { type: "PushOpsAck", batchId: 7, applied: 7 },
    });
    assert.equal(a.versionVector().get(c.nodeId), 10);
  });

  test("with K-fanout, local ops go to K = ceil(log2 N) + extra of the peers, and relays to K others", () => {
    // A star: node 0 connected to 15 peers (N = 16, K = 4 + 1); no ack flows back, so each batch shows.
    const { replicas, engines } = cluster(16, { fanoutExtra: 1, fanoutClusterSizeMin: 0 });
    for (let i = 1; i < 16; i++) engines[0].peerConnected(replicas[i].nodeId, 0);
    const pushedTo = (outgoing: readonly Outgoing<TestOp>[]) =>
      outgoing.filter((o) => o.message.type === "PushOps").map((o) => o.peer);
    engines[0].localOps([replicas[0].local()]);
    const first = pushedTo(engines[0].flush());
    assert.equal(first.length, 5);
    assert.equal(new Set(first).size, 5);
    const relayed = pushedTo(
      engines[0].applyPushed(replicas[1].nodeId, [{ origin: replicas[1].nodeId, seq: 1 }]).out,
    );
    assert.equal(relayed.length, 5);
    assert.ok(!relayed.includes(replicas[1].nodeId), "never back to the sender");
    // A cluster size from membership raises K: 64 members, K = 6 + 1.
    const big = cluster(16, { fanoutExtra: 1, clusterSize: () => 64 });
    for (let i = 1; i < 16; i++) big.engines[0].peerConnected(big.replicas[i].nodeId, 0);
    big.engines[0].localOps([big.replicas[0].local()]);
    assert.equal(pushedTo(big.engines[0].flush()).length, 7);
  });

  test("below FANOUT_CLUSTER_SIZE_MIN live members the fanout relays to every peer, and pulls only when some member is not a peer", () => {
    let members = FANOUT_CLUSTER_SIZE_MIN - 1;
    const { replicas, engines } = cluster(16, {
      fanoutExtra: 1,
      clusterSize: () => members,
      fanoutPullIntervalMs: 1000,
    });
    for (let i = 1; i < 16; i++) engines[0].peerConnected(replicas[i].nodeId, 0);
    const pushedTo = (outgoing: readonly Outgoing<TestOp>[]) =>
      outgoing.filter((o) => o.message.type === "PushOps").map((o) => o.peer);
    const pulls = (nowMs: number) =>
      engines[0].tick(nowMs).filter((o) => o.message.type === "PullSince").length;
    engines[0].localOps([replicas[0].local()]);
    assert.equal(pushedTo(engines[0].flush()).length, 15, "every peer");
    assert.equal(pulls(1000), 1, "33 live members are no peer: their ops come through relays");
    members = 16;
    assert.equal(pulls(2000), 0, "every live member is a peer (a full mesh): no pull");
    members = FANOUT_CLUSTER_SIZE_MIN;
    engines[0].localOps([replicas[0].local()]);
    assert.equal(pushedTo(engines[0].flush()).length, Math.ceil(Math.log2(FANOUT_CLUSTER_SIZE_MIN)) + 1);
    assert.equal(pulls(3000), 1);
  });

  test("below FANOUT_CLUSTER_SIZE_MIN without a full mesh, ops of an origin every relay pruned arrive by the next pull", () => {
    // 0 writes; 3 is not connected to 0 and hears of its ops through 1 and 2 only. Each relay
    // loses a race once (3 had the op already) and prunes origin 0 towards 3: then no relay
    // carries 0's ops to 3, and until the fix nothing but the 30 s anti-entropy round did.
    const { replicas, engines } = cluster(4, {
      fanoutExtra: 1,
      clusterSize: () => 4,
      fanoutPullIntervalMs: 250,
    });
    const net = wire(replicas, engines, [
      [0, 1],
      [0, 2],
      [1, 3],
      [2, 3],
    ]);
    const write = (racedTo3: boolean) => {
      const op = replicas[0].local();
      if (racedTo3) replicas[3].applyRemote([op]); // it came another way first
      engines[0].localOps([op]);
      net.deliver(0, engines[0].flush());
    };
    write(false); // 1's relay arrives first: 2 prunes origin 0 towards 3
    write(true); // 1's relay is a duplicate: 1 prunes it too
    write(false);
    assert.equal(replicas[3].ops.size, 2, "the third op reached 3 through no relay");
    net.deliver(3, engines[3].tick(250));
    assert.equal(replicas[3].ops.size, 3, "the pull 250 ms later brought it");
  });

  test("with K-fanout, one peer per fanout pull interval is asked for what this node lacks", () => {
    const { replicas, engines } = cluster(4, {
      fanoutExtra: 0,
      fanoutClusterSizeMin: 0,
      fanoutPullIntervalMs: 1000,
    });
    for (let i = 1; i < 4; i++) engines[0].peerConnected(replicas[i].nodeId, 0);
    const pulls = (nowMs: number) =>
      engines[0]
        .tick(nowMs)
        .filter((o) => o.message.type === "PullSince")
        .map((o) => o.peer);
    const asked = [...pulls(1000), ...pulls(1500), ...pulls(2000), ...pulls(3000)];
    assert.equal(asked.length, 3);
    assert.equal(new Set(asked).size, 3, "a pass asks every peer once");
  });

  test("with K-fanout covering every connected peer, no fanout pull runs and relays stay pruned", () => {
    // Three nodes, K = ceil(log2 3) + 1 = 3: every batch goes to every peer, as with the full relay.
    const n = 3;
    const { replicas, engines } = cluster(n, { fanoutExtra: 1, fanoutPullIntervalMs: 250 });
    const net = wire(replicas, engines, [
      [0, 1],
      [0, 2],
      [1, 2],
    ]);
    const opsDelivered = () => engines.reduce((sum, e) => sum + e.stats.remoteOpsReceived, 0);
    let pulls = 0;
    let nowMs = 0;
    const burst = () => {
      for (let i = 0; i < n; i++) {
        engines[i].localOps(Array.from({ length: 10 }, () => replicas[i].local()));
        net.deliver(i, engines[i].flush());
      }
      nowMs += 250;
      for (let i = 0; i < n; i++) {
        const out = engines[i].tick(nowMs);
        pulls += out.filter((o) => o.message.type === "PullSince").length;
        net.deliver(i, out);
      }
    };
    burst(); // the first burst floods and teaches every node where each origin's ops come from
    const before = opsDelivered();
    for (let i = 0; i < 5; i++) burst();
    const perOp = (opsDelivered() - before) / (5 * n * 10);
    assert.equal(perOp, n - 1, `each op reached each peer once (${perOp} deliveries per op)`);
    assert.equal(pulls, 0, "no PullSince: random paths cannot miss a peer");
    for (const r of replicas) assert.equal(r.ops.size, 6 * n * 10);
  });

  test("with K-fanout covering every peer, a batch lost on a live connection is re-sent within two anti-entropy rounds", () => {
    // Two nodes (K = 1 covers the one peer): no fanout pull, only the per-peer round (30 s). The
    // first round after the loss finds the batch unacknowledged and takes it as in flight; the
    // next takes it as lost and re-sends it.
    const antiEntropyIntervalMs = 30_000;
    const { replicas, engines } = cluster(2, {
      fanoutExtra: 0,
      fanoutPullIntervalMs: 250,
      antiEntropyIntervalMs,
    });
    const net = wire(replicas, engines, [[0, 1]]);
    engines[0].localOps(Array.from({ length: 10 }, () => replicas[0].local()));
    const lost = engines[0].flush();
    assert.equal(lost.length, 1, "one batch, dropped without the connection closing");
    let repairedAtMs: number | undefined;
    for (let nowMs = 250; nowMs <= 3 * antiEntropyIntervalMs && repairedAtMs === undefined; nowMs += 250) {
      for (let i = 0; i < 2; i++) net.deliver(i, engines[i].tick(nowMs));
      if (replicas[1].ops.size === 10) repairedAtMs = nowMs;
    }
    assert.equal(repairedAtMs, 2 * antiEntropyIntervalMs);
  });

  test("K-fanout over a full mesh: what infect-and-die misses, the fanout pulls bring (and nothing else does)", () => {
    const run = (fanoutPullIntervalMs: number) => {
      const { replicas, engines } = cluster(12, {
        fanoutExtra: -2,
        fanoutClusterSizeMin: 0,
        fanoutPullIntervalMs,
        antiEntropyIntervalMs: Number.MAX_SAFE_INTEGER,
      });
      const links: [number, number][] = [];
      for (let a = 0; a < 12; a++) for (let b = a + 1; b < 12; b++) links.push([a, b]);
      const { deliver } = wire(replicas, engines, links);
      for (let round = 0; round < 5; round++) {
        for (let i = 0; i < 12; i++) {
          engines[i].localOps([replicas[i].local()]);
          deliver(i, engines[i].flush());
        }
      }
      for (let t = 1; t <= 30; t++) for (let i = 0; i < 12; i++) deliver(i, engines[i].tick(t * 1000));
      return replicas.filter((r) => [...r.versionVector().values()].reduce((a, b) => a + b, 0) === 60).length;
    };
    assert.equal(run(1000), 12);
    assert.ok(
      run(Number.MAX_SAFE_INTEGER) < 12,
      "K = 2 of 11 peers leaves some node short without the pulls",
    );
  });

  test("messages from a peer that is not connected are ignored", () => {
    const { replicas, engines } = cluster(2);
    const out = engines[0].receive(
      replicas[1].nodeId,
      {
        type: "PushOps",
        batchId: 1,
        ops: [replicas[1].local()],
      },
      0,
    );
    assert.deepEqual(out, []);
    assert.equal(replicas[0].ops.size, 0);
  });

  test("vectorCovers compares per origin", () => {
    const a = new Map([[id(1), 3]]);
    assert.ok(vectorCovers(a, new Map([[id(1), 2]])));
    assert.ok(!vectorCovers(a, new Map([[id(2), 1]])));
    assert.ok(vectorCovers(a, new Map()));
  });
});
