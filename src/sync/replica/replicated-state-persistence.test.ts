import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { type Op, opWriteCount } from "../../crdt/op.ts";
import { encodeOp } from "../../crdt/op-codec.ts";
import { decodeText, NODE_A, NODE_B, NODE_C, text } from "../../crdt/testing/test-ops.ts";
import type { NodeId } from "../../identity/node-id.ts";
import { type LmdbBackend, openLmdbBackend } from "../../store/lmdb-backend.ts";
import { createMemoryBackend } from "../../store/memory-backend.ts";
import { loadOrCreateNodeId } from "./node-identity.ts";
import { CRDT_PREFIX, NODE_ID_KEY, OPLOG_PREFIX } from "./replica-layout.ts";
import {
  openReplicatedState,
  type ReplicatedState,
  type ReplicatedStateOptions,
} from "./replicated-state.ts";

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "nx-replica-"));
  dirs.push(dir);
  return dir;
}

/** Opens the replica at `path`, runs `body`, then closes replica and store (a clean restart point). */
async function withReplica<T>(
  path: string,
  body: (state: ReplicatedState, backend: LmdbBackend) => T,
  options: Partial<ReplicatedStateOptions> = {},
): Promise<T> {
  const backend = await openLmdbBackend({ path });
  try {
    const state = openReplicatedState({
      backend,
      nodeId: NODE_A,
      nowMs: () => 1_700_000_000_000,
      ...options,
    });
    const result = body(state, backend);
    await state.close();
    return result;
  } finally {
    await backend.close();
  }
}

const texts = (values: readonly Uint8Array[]): string[] => values.map(decodeText);

function remoteOps(count: number, nodeId: NodeId = NODE_B): Op[] {
  const sent: Op[] = [];
  const source = openReplicatedStateInMemory(nodeId, sent);
  for (let i = 0; i < count; i++) {
    source.gcounterInc("g", 1n);
    source.flush(); // a run of its own: an op of its own
  }
  return sent;
}

function openReplicatedStateInMemory(nodeId: NodeId, sent: Op[]): ReplicatedState {
  return openReplicatedState({
    backend: createMemoryBackend(),
    nodeId,
    nowMs: () => 1_700_000_000_000,
    onLocalOps: (ops) => sent.push(...ops),
  });
}

/** Node B with coalesceMapWrites, in memory, after one batch op of two writes to map `m`: `fromB` holds it. */
function peerWithBatchOp(): { b: ReplicatedState; fromB: Op[] } {
  const fromB: Op[] = [];
  const b = openReplicatedState({
    backend: createMemoryBackend(),
    nodeId: NODE_B,
    nowMs: () => 1_700_000_000_000,
    onLocalOps: (ops) => fromB.push(...ops),
    coalesceMapWrites: true,
  });
  b.lwwMapSet("m", text("b0"), text("from B"));
  b.lwwMapSet("m", text("b1"), text("from B"));
  b.flush();
  return { b, fromB };
}

describe("replicated state on LMDB across restarts", () => {
  test("every CRDT, the version vector, the op-log and the clock hydrate after reopening", async () => {
    const path = await tempDir();
    const before = await withReplica(path, (s) => {
      s.gcounterInc("g", 41n);
      s.gcounterInc("g", 1n);
      s.pncounterDec("p", 5n);
      s.lwwSet("r", text("value"));
      s.lwwMapSet("m", text("f"), text("v"));
      s.lwwMapSet("m", new Uint8Array(2000).fill(7), text("long field")); // hashed cell key
      s.orsetAdd("s", text("e"));
      const h = s.rgaInsert("q", undefined, text("h"))!;
      s.rgaInsert("q", h, text("i"));
      s.applyRemote(remoteOps(3));
      return { vector: s.versionVector(), ops: s.opsSince(new Map(), 100) };
    });
    await withReplica(path, (s) => {
      assert.equal(s.gcounterValue("g"), 45n);
      assert.equal(s.pncounterValue("p"), -5n);
      assert.equal(decodeText(s.lwwGet("r")!), "value");
      assert.equal(decodeText(s.lwwMapGet("m", text("f"))!), "v");
      assert.equal(decodeText(s.lwwMapGet("m", new Uint8Array(2000).fill(7))!), "long field");
      assert.deepEqual(texts(s.orsetElements("s")), ["e"]);
      assert.deepEqual(texts(s.rgaValues("q")), ["h", "i"]);
      assert.deepEqual(s.versionVector(), before.vector);
      assert.deepEqual(s.opsSince(new Map(), 100), before.ops);
      const lastStamp = Math.max(...before.ops.map((op) => op.timestamp));
      const sent: Op[] = [];
      s.setSyncHooks({ onLocalOps: (ops) => sent.push(...ops) });
      s.lwwSet("r", text("after restart"));
      s.flush();
      assert.equal(sent[0].id.seq, (before.vector.get(NODE_A) ?? 0) + 1, "sequences continue, never reused");
      assert.ok(sent[0].timestamp > lastStamp, "HLC continues after the persisted stamp");
    });
  });

  test("coalesced map writes survive a restart: their cells, a peer's batch op's cells, and the batch op a peer catches up from", async () => {
    const path = await tempDir();
    const coalesce = { coalesceMapWrites: true };
    const { fromB } = peerWithBatchOp();
    const encoded = (ops: readonly Op[]) => ops.map((op) => Buffer.from(encodeOp(op)).toString("hex"));
    const before = await withReplica(
      path,
      (s) => {
        for (let i = 0; i < 5; i++) s.lwwMapSet("m", text(`f${i}`), text(`v${i}`));
        s.lwwMapRemove("m", text("f0"));
        assert.equal(s.applyRemote(fromB).length, 1);
        return encoded(s.opsSince(new Map(), 100));
      },
      coalesce,
    );
    const fields = (s: ReplicatedState) =>
      s.lwwMapEntries("m").map(([f, v]) => [decodeText(f), decodeText(v)]);
    const expected = [
      ["b0", "from B"],
      ["b1", "from B"],
      ["f1", "v1"],
      ["f2", "v2"],
      ["f3", "v3"],
      ["f4", "v4"],
    ];
    await withReplica(
      path,
      (s) => {
        assert.deepEqual(fields(s), expected);
        const ops = s.opsSince(new Map(), 100);
        assert.deepEqual(encoded(ops), before, "the op-log read back holds the same ops");
        const own = ops.find((op) => op.origin === NODE_A)!;
        assert.equal(own.kind.type, "lww_map_batch");
        assert.equal(opWriteCount(own), 5);
        const peer = openReplicatedStateInMemory(NODE_C, []);
        assert.equal(peer.applyRemote(ops).length, 2);
        assert.deepEqual(fields(peer), expected);
        assert.equal(peer.lwwMapGet("m", text("f0")), undefined);
      },
      coalesce,
    );
  });

  test("holdsUnreadableOpsBeyond: a held batch op a vector lacks, made here, received or read back after a restart, until it is evicted", async () => {
    const path = await tempDir();
    const { b, fromB } = peerWithBatchOp();
    assert.equal(fromB[0]!.kind.type, "lww_map_batch");
    const beyond = (s: ReplicatedState, a: number, bSeq: number) =>
      s.holdsUnreadableOpsBeyond(
        new Map([
          [NODE_A, a],
          [NODE_B, bSeq],
        ]),
      );
    const options = { coalesceMapWrites: true, opLogLimit: 4 };
    await withReplica(
      path,
      (s) => {
        s.lwwMapSet("m", text("lone"), text("a plain op")); // seq 1: a lone write is no batch op
        s.flush();
        assert.equal(beyond(s, 0, 0), false, "plain ops only");
        assert.equal(s.applyRemote(fromB).length, 1);
        assert.equal(beyond(s, 0, 0), true, "B's batch op, received");
        assert.equal(beyond(s, 0, 1), false, "a vector that covers it");
        s.lwwMapSet("m", text("a0"), text("x")); // seq 2, amended: a batch op
        s.lwwMapSet("m", text("a1"), text("x"));
        s.flush();
        assert.equal(beyond(s, 1, 1), true, "this node's own batch op");
        assert.equal(beyond(s, 2, 1), false);
      },
      options,
    );
    await withReplica(
      path,
      (s) => {
        assert.equal(beyond(s, 1, 1), true, "read back from the op-log");
        assert.equal(beyond(s, 2, 0), true);
        assert.equal(beyond(s, 2, 1), false);
        // B's later plain ops push its batch op out of the op-log (4 ops): it is held no more.
        const later: Op[] = [];
        b.setSyncHooks({ onLocalOps: (ops) => later.push(...ops) });
        for (let i = 0; i < 3; i++) {
          b.gcounterInc("g", 1n);
          b.flush();
        }
        assert.equal(s.applyRemote(later).length, 3);
        assert.equal(
          s.opsSince(new Map([[NODE_A, 2]]), 100).length,
          2,
          "B's ops 3 and 4 are what is left of it",
        );
        assert.equal(beyond(s, 2, 0), false, "B's batch op left the op-log");
        assert.equal(beyond(s, 1, 0), true, "this node's own is still held");
      },
      options,
    );
  });

  test("a duplicate remote op after a restart is not counted twice", async () => {
    const path = await tempDir();
    const ops = remoteOps(5);
    const outOfOrder = [ops[0], ops[2], ops[4]];
    await withReplica(path, (s) => assert.equal(s.applyRemote(outOfOrder).length, 3));
    await withReplica(path, (s) => {
      assert.equal(s.gcounterValue("g"), 5n);
      assert.deepEqual(s.applyRemote(outOfOrder), [], "contiguous and sparse seen entries both survived");
      assert.deepEqual(
        s.applyRemote(ops).map((op) => op.id.seq),
        [2, 4],
      );
      assert.deepEqual(s.versionVector(), new Map([[NODE_B, 5]]));
      assert.equal(s.stats().seenSparse, 0);
    });
  });

  test("op-log at its bound: retained suffix, floors and compaction survive restarts; a lowered limit applies on open", async () => {
    const path = await tempDir();
    await withReplica(
      path,
      (s) => {
        for (let i = 0; i < 12; i++) {
          s.gcounterInc("g", 1n);
          s.flush(); // one page per op: exercises page deletion and compaction
        }
      },
      { opLogLimit: 5 },
    );
    await withReplica(
      path,
      (s, backend) => {
        assert.deepEqual(
          s.opsSince(new Map(), 100).map((op) => op.id.seq),
          [8, 9, 10, 11, 12],
        );
        assert.deepEqual(s.compactedFor(new Map()), [NODE_A]);
        assert.deepEqual(s.compactedFor(new Map([[NODE_A, 7]])), []);
        assert.equal([...backend.range({ prefix: OPLOG_PREFIX })].length, 5, "emptied pages were deleted");
      },
      { opLogLimit: 5 },
    );
    await withReplica(
      path,
      (s) => {
        assert.deepEqual(
          s.opsSince(new Map(), 100).map((op) => op.id.seq),
          [10, 11, 12],
        );
        assert.deepEqual(s.compactedFor(new Map([[NODE_A, 7]])), [NODE_A]);
        for (let i = 0; i < 3; i++) {
          s.gcounterInc("g", 1n);
          s.flush();
        }
      },
      { opLogLimit: 3 },
    );
    await withReplica(
      path,
      (s) => {
        assert.deepEqual(
          s.opsSince(new Map(), 100).map((op) => op.id.seq),
          [13, 14, 15],
        );
        assert.equal(s.gcounterValue("g"), 15n, "evicted ops stay in the state");
      },
      { opLogLimit: 3 },
    );
  });

  test("op_log_size_limit bounds the op-log's bytes across restarts; evicted ops stay in the state", async () => {
    const path = await tempDir();
    const value = new Uint8Array(1000);
    const budget = { opLogLimit: 1000, opLogSizeLimitBytes: 10 * 1024 };
    await withReplica(
      path,
      (s) => {
        for (let i = 0; i < 40; i++) {
          s.orsetAdd(
            "big",
            value.map(() => i),
          );
          s.flush();
        }
        assert.ok(s.stats().opLogBytes <= 10 * 1024, `${s.stats().opLogBytes} bytes kept`);
        assert.ok(s.stats().opLogSize >= 9, `${s.stats().opLogSize} ops kept`);
        assert.deepEqual(s.compactedFor(new Map()), [NODE_A], "a new peer needs a snapshot");
      },
      budget,
    );
    await withReplica(
      path,
      (s) => {
        assert.ok(s.stats().opLogBytes <= 10 * 1024);
        assert.equal(s.opsSince(new Map(), 1000).at(-1)?.id.seq, 40, "the newest ops are the ones kept");
        assert.equal(s.orsetElements("big").length, 40);
      },
      budget,
    );
  });

  test("a page holding many ops is rewritten once dead ops in it exceed the limit", async () => {
    const path = await tempDir();
    await withReplica(
      path,
      (s, backend) => {
        s.applyRemote(remoteOps(4, NODE_B)); // one page with four B ops
        s.flush();
        for (let i = 0; i < 12; i++) {
          s.gcounterInc("g", 1n);
          s.flush();
        }
        const held = s.opsSince(new Map(), 100);
        assert.equal(held.length, 6);
        const pages = [...backend.range({ prefix: OPLOG_PREFIX })].length;
        assert.ok(pages <= 7, `pages bounded (${pages})`);
      },
      { opLogLimit: 6 },
    );
    await withReplica(path, (s) => assert.equal(s.opsSince(new Map(), 100).length, 6), { opLogLimit: 6 });
  });

  test("the seen set at its bound persists what it kept", async () => {
    const path = await tempDir();
    const ops = remoteOps(8);
    await withReplica(path, (s) => s.applyRemote([ops[2], ops[4], ops[6], ops[7]]), { seenOpsLimit: 3 });
    await withReplica(
      path,
      (s) => {
        assert.equal(s.stats().seenSparse, 3);
        assert.deepEqual(s.applyRemote([ops[2], ops[4], ops[6]]), []);
        assert.equal(
          s.applyRemote([ops[7]]).length,
          1,
          "the evicted entry is new again, applied idempotently",
        );
        assert.equal(s.gcounterValue("g"), 8n);
      },
      { seenOpsLimit: 3 },
    );
  });

  test("tombstones survive restarts: no resurrection, children stay visible, early deletes wait", async () => {
    const path = await tempDir();
    const writer: Op[] = [];
    const other = openReplicatedStateInMemory(NODE_B, writer);
    other.lwwMapSet("m", text("f"), text("old")); // stamped before the removal below
    other.orsetAdd("s", text("x"));
    const early = other.rgaInsert("late", undefined, text("z"))!;
    other.flush();
    const lateInsert = writer.slice(-1);
    other.rgaDelete("late", early);
    other.flush();
    const earlyDelete = writer.slice(-1);
    const oldSet = writer.filter((op) => op.kind.type === "lww_map_set");
    const orsetAdd = writer.filter((op) => op.kind.type === "orset_add");

    await withReplica(
      path,
      (s) => {
        s.applyRemote(earlyDelete);
        s.lwwMapRemove("m", text("f"));
        const a = s.rgaInsert("q", undefined, text("a"))!;
        const b = s.rgaInsert("q", a, text("b"))!;
        s.rgaInsert("q", b, text("c"));
        s.rgaDelete("q", b);
        s.applyRemote(orsetAdd);
        s.orsetRemove("s", text("x"));
      },
      { nowMs: () => 1_800_000_000_000 },
    );
    await withReplica(path, (s, backend) => {
      s.applyRemote(oldSet);
      assert.equal(s.lwwMapGet("m", text("f")), undefined, "an older write cannot resurrect the field");
      assert.deepEqual(texts(s.rgaValues("q")), ["a", "c"]);
      assert.deepEqual(s.applyRemote(orsetAdd), [], "the add was seen before the restart");
      assert.equal(s.orsetContains("s", text("x")), false);
      s.applyRemote(lateInsert);
      assert.deepEqual(texts(s.rgaValues("late")), [], "the delete that came first applies on arrival");
      assert.ok([...backend.range({ prefix: CRDT_PREFIX })].length > 0);
    });
  });

  test("ops made in a tight loop are all durable after close, in one atomic batch per group", async () => {
    const path = await tempDir();
    await withReplica(path, (s) => {
      for (let i = 0; i < 10_000; i++) s.gcounterInc(`g${i}`, 1n); // one op each: no two supersede
    });
    await withReplica(path, (s) => {
      for (let i = 0; i < 10_000; i++) assert.equal(s.gcounterValue(`g${i}`), 1n);
      assert.deepEqual(s.versionVector(), new Map([[NODE_A, 10_000]]));
    });
  });

  test("loadOrCreateNodeId persists a random id; damaged records fail with one clear error", async () => {
    const path = await tempDir();
    let calls = 0;
    const random = (n: number): Uint8Array => {
      calls++;
      return new Uint8Array(n).fill(0xab);
    };
    let backend = await openLmdbBackend({ path });
    const id = await loadOrCreateNodeId(backend, random);
    await backend.close();
    backend = await openLmdbBackend({ path });
    try {
      assert.equal(await loadOrCreateNodeId(backend, random), id);
      assert.equal(calls, 1);
      backend.put(NODE_ID_KEY, Uint8Array.of(9, 1, 2));
      await assert.rejects(loadOrCreateNodeId(backend, random), { code: "REPLICA_STORE_CORRUPT" });
      const cell = [...backend.range({ prefix: CRDT_PREFIX })];
      assert.equal(cell.length, 0);
      backend.put(new Uint8Array([...CRDT_PREFIX, 1, 0, 1, 103, 0, 1]), Uint8Array.of(1, 0xc1));
      assert.throws(() => openReplicatedState({ backend, nodeId: NODE_A }), {
        code: "REPLICA_STORE_CORRUPT",
        message: /stored gcounter cell of "g" is damaged/,
      });
    } finally {
      await backend.close();
    }
  });
});
