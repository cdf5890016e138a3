import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import type { NodeId } from "../../identity/node-id.ts";
import { OpLogIndex } from "./op-log-index.ts";
import { SortedSeqs } from "./sorted-seqs.ts";

const ORIGINS = ["a", "b", "c"].map((c) => c.repeat(32) as NodeId);

/** CPU microseconds per `add` while the log is full (every add evicts), best of three. */
function evictingAddCpuUs(limit: number, adds: number): number {
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 3; round++) {
    const log = new OpLogIndex(limit);
    let seq = 0;
    for (let i = 0; i < limit; i++) log.add(ORIGINS[i % 3]!, Math.floor(i / 3) + 1, 90);
    seq = Math.floor(limit / 3) + 1;
    const started = process.cpuUsage();
    for (let i = 0; i < adds; i++) log.add(ORIGINS[i % 3]!, seq + Math.floor(i / 3), 90);
    const used = process.cpuUsage(started);
    best = Math.min(best, (used.user + used.system) / adds);
  }
  return best;
}

describe("OpLogIndex", () => {
  test("evicting costs the same with a large op_log_limit as with a small one", () => {
    const small = evictingAddCpuUs(3_000, 60_000);
    const large = evictingAddCpuUs(600_000, 60_000);
    // A plain array's shift copied the array once large: 20-50x here before.
    assert.ok(
      large < small * 4 + 1,
      `${large.toFixed(2)} µs per add at 600 000 against ${small.toFixed(2)} at 3 000`,
    );
  });

  test("evicts the lowest sequence of the fullest origin and serves what is left in order", () => {
    const log = new OpLogIndex(4);
    const [a, b] = ORIGINS as [NodeId, NodeId];
    for (const seq of [1, 2, 3]) log.add(a, seq, 10);
    log.add(b, 1, 10);
    assert.deepEqual(log.add(a, 5, 10), [[a, 1]]);
    assert.deepEqual(log.add(a, 4, 10), [[a, 2]], "a late op goes in order");
    assert.deepEqual(log.seqsAfter(a, 0), [3, 4, 5]);
    assert.deepEqual(log.seqsAfter(a, 3, 1), [4]);
    assert.equal(log.floor(a), 2);
  });

  test("rewrites a page once dead ops kept in partly live pages outweigh op_log_size_limit", () => {
    // 1 000-byte ops: the bytes bound keeps 100 live, the count bound (100 000) is never near.
    const OP_BYTES = 1_000;
    const log = new OpLogIndex(100_000, 100 * OP_BYTES);
    const [quiet, busy] = ORIGINS as [NodeId, NodeId];
    let busySeq = 0;
    // Each group commit writes one op of a quiet origin and nine of a busy one: eviction takes the
    // busy one's first, so older pages keep their quiet op live and nine dead ones.
    for (let page = 1; page <= 300; page++) {
      const ops: [NodeId, number][] = [[quiet, page]];
      for (let i = 0; i < 9; i++) ops.push([busy, ++busySeq]);
      for (const [origin, seq] of ops) log.add(origin, seq, OP_BYTES);
      const waiting = ops.filter(([origin, seq]) => log.pageOf(origin, seq) === -1);
      const stored = log.newPage(waiting.length, waiting.length * OP_BYTES);
      for (const [origin, seq] of waiting) log.assignPage(origin, seq, stored);
    }
    assert.ok(log.bytes <= 100 * OP_BYTES);
    assert.notEqual(log.pageToCompact(), undefined, "the dead ops' bytes are bounded too");
  });
});

describe("SortedSeqs", () => {
  test("filling a gap far below the newest sequence costs about what appending does", () => {
    /** CPU microseconds per insert: `below` sequences, then `above` after a gap of `gap`, then the gap. */
    const fillCpuUs = (below: number, gap: number, above: number): number => {
      const seqs = new SortedSeqs();
      for (let seq = 1; seq <= below; seq++) seqs.insert(seq);
      for (let seq = below + gap + 1; seq <= below + gap + above; seq++) seqs.insert(seq);
      const started = process.cpuUsage();
      for (let seq = below + 1; seq <= below + gap; seq++) seqs.insert(seq);
      const used = process.cpuUsage(started);
      assert.deepEqual(seqs.after(below - 1, 3), [below, below + 1, below + 2]);
      assert.equal(seqs.length, below + gap + above);
      return (used.user + used.system) / gap;
    };
    const appended = Math.min(fillCpuUs(1_000, 20_000, 0), fillCpuUs(1_000, 20_000, 0));
    // A repair filling 20 000 ops under 100 000 newer ones: one slot per sequence scanned and
    // copied the 100 000 for each insert (over 100x here before).
    const filled = Math.min(fillCpuUs(1_000, 20_000, 100_000), fillCpuUs(1_000, 20_000, 100_000));
    assert.ok(
      filled < appended * 4 + 1,
      `${filled.toFixed(2)} µs per insert in the gap against ${appended.toFixed(2)} appended`,
    );
  });

  test("keeps order through inserts out of order and many removals from the front", () => {
    const seqs = new SortedSeqs();
    for (let seq = 1; seq <= 5000; seq += 2) seqs.insert(seq);
    for (let seq = 2; seq <= 5000; seq += 1000) seqs.insert(seq);
    const expected = [...Array.from({ length: 2500 }, (_, i) => 2 * i + 1), 2, 1002, 2002, 3002, 4002].sort(
      (x, y) => x - y,
    );
    assert.equal(seqs.length, expected.length);
    for (let i = 0; i < 2000; i++) assert.equal(seqs.shift(), expected[i]);
    seqs.insert(4004);
    assert.deepEqual(seqs.after(4000, 3), [4001, 4002, 4003]);
    assert.deepEqual(seqs.after(0, 2), expected.slice(2000, 2002));
    assert.equal(seqs.length, expected.length - 2000 + 1);
    while (seqs.length > 0) seqs.shift();
    assert.equal(seqs.shift(), undefined);
    assert.deepEqual(seqs.after(0, 10), []);
  });
});

describe("SortedSeqs against a sorted array (seeded property)", () => {
  type Command =
    | { readonly kind: "insert"; readonly seqs: readonly number[] }
    | { readonly kind: "shift"; readonly count: number }
    | { readonly kind: "after"; readonly after: number; readonly limit: number };
  // Runs of inserts and removals long enough to cross DEAD_SLOTS_BEFORE_COMPACTION (1024) often.
  const command: fc.Arbitrary<Command> = fc.oneof(
    fc.record({ kind: fc.constant("insert" as const), seqs: fc.array(fc.nat(20_000), { maxLength: 200 }) }),
    fc.record({ from: fc.nat(20_000), count: fc.nat(3000) }).map(({ from, count }) => ({
      kind: "insert" as const,
      seqs: Array.from({ length: count }, (_, i) => from + i),
    })),
    fc.record({ kind: fc.constant("shift" as const), count: fc.nat(3000) }),
    fc.record({ kind: fc.constant("after" as const), after: fc.nat(23_000), limit: fc.nat(50) }),
  );

  test("inserts in any order, removals from the front, reads after any point: as the model", () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 30 }), (commands) => {
        const seqs = new SortedSeqs();
        const model: number[] = [];
        for (const c of commands) {
          if (c.kind === "insert") {
            // The caller never inserts a sequence it holds.
            const held = new Set(model);
            for (const seq of c.seqs) {
              if (held.has(seq)) continue;
              held.add(seq);
              seqs.insert(seq);
              model.push(seq);
            }
            model.sort((x, y) => x - y);
          } else if (c.kind === "shift") {
            for (let i = 0; i < c.count; i++) assert.equal(seqs.shift(), model.shift());
          } else {
            const expected = model.filter((seq) => seq > c.after).slice(0, c.limit);
            assert.deepEqual(seqs.after(c.after, c.limit), expected);
          }
          assert.equal(seqs.length, model.length);
          assert.equal(seqs.first, model[0]);
          assert.equal(seqs.last, model.at(-1));
          const probe = c.kind === "after" ? c.after : (model[model.length >> 1] ?? 0);
          assert.equal(seqs.has(probe), model.includes(probe), `has(${probe})`);
          assert.equal(seqs.has(probe + 1), model.includes(probe + 1), `has(${probe + 1})`);
        }
        assert.deepEqual(seqs.after(-1, Number.POSITIVE_INFINITY), model);
      }),
      { seed: 31, numRuns: 100 },
    );
  });
});

describe("OpLogIndex: ops some peers cannot decode (seeded property)", () => {
  type Command =
    | { readonly kind: "add"; readonly origin: number; readonly seq: number; readonly unreadable: boolean }
    | { readonly kind: "mark"; readonly origin: number; readonly seq: number }
    | { readonly kind: "clear" };
  const command: fc.Arbitrary<Command> = fc.oneof(
    {
      weight: 20,
      arbitrary: fc.record({
        kind: fc.constant("add" as const),
        origin: fc.nat(2),
        seq: fc.integer({ min: 1, max: 60 }),
        unreadable: fc.boolean(),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant("mark" as const),
        origin: fc.nat(2),
        seq: fc.integer({ min: 1, max: 60 }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("clear" as const) }) },
  );
  const vector = fc.array(fc.nat(62), { minLength: 3, maxLength: 3 });

  test("holdsUnreadableBeyond says whether a marked op the log still holds lies beyond the vector, through adds in any order, evictions and clears", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.array(command, { maxLength: 120 }),
        fc.array(vector, { minLength: 1, maxLength: 4 }),
        (limit, commands, vectors) => {
          const log = new OpLogIndex(limit);
          // The model: every op ever marked; the log says which it still holds (`pageOf`).
          const marked = new Set<string>();
          const check = () => {
            for (const seqs of vectors) {
              const peer = new Map(ORIGINS.map((origin, i) => [origin, seqs[i]!] as const));
              const expected = [...marked].some((id) => {
                const [i, seq] = id.split(":").map(Number) as [number, number];
                return log.pageOf(ORIGINS[i]!, seq) !== undefined && seq > peer.get(ORIGINS[i]!)!;
              });
              assert.equal(log.holdsUnreadableBeyond(peer), expected, `vector ${seqs.join(",")}`);
            }
          };
          for (const c of commands) {
            if (c.kind === "clear") {
              log.clear();
              marked.clear();
            } else {
              const origin = ORIGINS[c.origin]!;
              if (c.kind === "add" && log.pageOf(origin, c.seq) === undefined) {
                // A new op (an evicted one added again is one too): unmarked until marked.
                marked.delete(`${c.origin}:${c.seq}`);
                log.add(origin, c.seq, 10);
              }
              if (c.kind === "mark" || c.unreadable) {
                log.markUnreadable(origin, c.seq);
                if (log.pageOf(origin, c.seq) !== undefined) marked.add(`${c.origin}:${c.seq}`);
              }
            }
            check();
          }
        },
      ),
      { seed: 47, numRuns: 300 },
    );
  });
});
