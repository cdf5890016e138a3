import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { compareBytes } from "./byte-order.ts";
import { GCounter } from "./g-counter.ts";
import { LwwMap } from "./lww-map.ts";
import { LwwRegister } from "./lww-register.ts";
import { OrSet } from "./or-set.ts";
import { PNCounter } from "./pn-counter.ts";
import { U64_MAX } from "./saturating-u64.ts";
import { propertyRuns } from "./testing/property-runs.ts";
import { bytes, NODE_A, NODE_B, NODE_C, opFrom, text } from "./testing/test-ops.ts";

describe("GCounter", () => {
  test("sums per-node slots; merge takes the per-slot max", () => {
    const a = new GCounter();
    const b = new GCounter();
    a.applyOp(opFrom(NODE_A, 1, 1, { type: "gcounter_inc", slot: a.incrementedSlot(NODE_A, 5n) }));
    b.applyOp(opFrom(NODE_B, 1, 1, { type: "gcounter_inc", slot: b.incrementedSlot(NODE_B, 7n) }));
    b.applyOp(opFrom(NODE_B, 2, 2, { type: "gcounter_inc", slot: b.incrementedSlot(NODE_B, 1n) }));
    a.merge(b);
    assert.equal(a.value(), 13n);
    a.merge(b);
    assert.equal(a.value(), 13n, "merging again counts nothing twice");
  });

  test("an older increment arriving late does not lower the slot", () => {
    const c = new GCounter();
    c.applyOp(opFrom(NODE_A, 2, 2, { type: "gcounter_inc", slot: 9n }));
    assert.equal(c.applyOp(opFrom(NODE_A, 1, 1, { type: "gcounter_inc", slot: 4n })), undefined);
    assert.equal(c.value(), 9n);
  });

  test("saturates at 2^64-1: slots and the total", () => {
    const c = new GCounter();
    c.applyOp(opFrom(NODE_A, 1, 1, { type: "gcounter_inc", slot: c.incrementedSlot(NODE_A, U64_MAX - 1n) }));
    assert.equal(c.incrementedSlot(NODE_A, 5n), U64_MAX);
    c.applyOp(opFrom(NODE_A, 2, 2, { type: "gcounter_inc", slot: c.incrementedSlot(NODE_A, 5n) }));
    assert.equal(c.slot(NODE_A), U64_MAX);
    c.applyOp(opFrom(NODE_B, 1, 1, { type: "gcounter_inc", slot: 10n }));
    assert.equal(c.value(), U64_MAX);
  });

  test("property: addToSlot reads as increments applied as ops, whatever the deltas, merges and reads between", () => {
    const delta = fc.oneof(
      fc.bigInt({ min: 0n, max: 3n }),
      fc.bigInt({ min: (1n << 32n) - 2n, max: (1n << 32n) + 2n }),
      fc.bigInt({ min: 0n, max: U64_MAX }),
    );
    const step = fc.oneof(
      fc.record({ kind: fc.constant("add"), origin: fc.constantFrom(NODE_A, NODE_B), delta }),
      // A merged cell of an origin with increments pending too (its own slot from a peer, a restore).
      fc.record({
        kind: fc.constant("remote"),
        origin: fc.constantFrom(NODE_A, NODE_B, NODE_C),
        slot: fc.oneof(fc.bigInt({ min: 0n, max: 8n }), fc.bigInt({ min: 0n, max: 1n << 40n })),
      }),
      fc.record({ kind: fc.constant("read") }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const added = new GCounter();
        const applied = new GCounter();
        for (const s of steps) {
          if (s.kind === "add") {
            const moved = applied.incrementedSlot(s.origin, s.delta) !== applied.slot(s.origin);
            applied.mergeCell({ origin: s.origin, slot: applied.incrementedSlot(s.origin, s.delta) });
            const answer = added.addToSlot(s.origin, s.delta);
            // A slot saturated since the last read may still answer true (documented).
            if (moved || applied.slot(s.origin) !== U64_MAX) assert.equal(answer, moved);
          } else if (s.kind === "remote") {
            added.mergeCell({ origin: s.origin, slot: s.slot });
            applied.mergeCell({ origin: s.origin, slot: s.slot });
          } else {
            assert.equal(added.value(), applied.value());
          }
        }
        assert.deepEqual(added.cells(), applied.cells());
        assert.equal(added.value(), applied.value());
      }),
      { seed: 0x6c0a17, numRuns: 500 },
    );
  });

  test("addToSlot keeps a long run of increments exact past 2^53", () => {
    const c = new GCounter();
    for (let i = 0; i < 3; i++) c.addToSlot(NODE_A, 1n << 32n);
    for (let i = 0; i < 1000; i++) c.addToSlot(NODE_A, 1n);
    c.mergeCell({ origin: NODE_A, slot: 1n << 53n });
    for (let i = 0; i < 1000; i++) c.addToSlot(NODE_A, 3n);
    assert.equal(c.slot(NODE_A), (1n << 53n) + 3000n);
    assert.equal(c.value(), (1n << 53n) + 3000n);
  });

  test("addToSlot refuses a negative delta and leaves the slot as it was", () => {
    const c = new GCounter();
    c.addToSlot(NODE_A, 5n);
    assert.throws(() => c.addToSlot(NODE_A, -2n), RangeError);
    assert.equal(c.slot(NODE_A), 5n);
  });
});

describe("PNCounter", () => {
  test("value is increments minus decrements, across nodes", () => {
    const c = new PNCounter();
    c.applyOp(opFrom(NODE_A, 1, 1, { type: "pncounter_inc", slot: c.incrementedSlot(NODE_A, 10n) }));
    c.applyOp(opFrom(NODE_B, 1, 1, { type: "pncounter_dec", slot: c.decrementedSlot(NODE_B, 25n) }));
    assert.equal(c.value(), -15n);
    assert.deepEqual(c.cells(), [
      { origin: NODE_A, positive: 10n, negative: 0n },
      { origin: NODE_B, positive: 0n, negative: 25n },
    ]);
  });
});

describe("LWW-Register", () => {
  test("the later stamp wins regardless of arrival order", () => {
    const r = new LwwRegister();
    r.applyOp(opFrom(NODE_A, 2, 200, { type: "lww_set", value: text("new") }));
    r.applyOp(opFrom(NODE_B, 1, 100, { type: "lww_set", value: text("old") }));
    assert.deepEqual(r.value(), text("new"));
  });

  test("equal stamps: the greater NodeId wins, in either order", () => {
    for (const order of [0, 1]) {
      const r = new LwwRegister();
      const ops = [
        opFrom(NODE_A, 1, 100, { type: "lww_set", value: text("from a") }),
        opFrom(NODE_C, 1, 100, { type: "lww_set", value: text("from c") }),
      ];
      if (order === 1) ops.reverse();
      for (const op of ops) r.applyOp(op);
      assert.deepEqual(r.value(), text("from c"));
    }
  });

  test("unset until written", () => {
    assert.equal(new LwwRegister().value(), undefined);
  });
});

describe("LWW-Map", () => {
  test("a removed field is not resurrected by an older write arriving late", () => {
    const m = new LwwMap();
    m.applyOp(opFrom(NODE_A, 1, 100, { type: "lww_map_set", field: text("f"), value: text("v1") }));
    m.applyOp(opFrom(NODE_B, 1, 300, { type: "lww_map_remove", field: text("f") }));
    m.applyOp(opFrom(NODE_C, 1, 200, { type: "lww_map_set", field: text("f"), value: text("late") }));
    assert.equal(m.get(text("f")), undefined);
    assert.equal(m.has(text("f")), false);
    assert.deepEqual(m.entries(), []);
    assert.equal(m.cells().length, 1, "the tombstone is kept");
  });

  test("a write newer than the removal brings the field back", () => {
    const m = new LwwMap();
    m.applyOp(opFrom(NODE_A, 1, 300, { type: "lww_map_remove", field: text("f") }));
    m.applyOp(opFrom(NODE_A, 2, 400, { type: "lww_map_set", field: text("f"), value: text("again") }));
    assert.deepEqual(m.get(text("f")), text("again"));
  });

  test("entries are live fields in bytewise field order", () => {
    const m = new LwwMap();
    for (const [i, f] of [bytes(2), bytes(1, 0), bytes(1)].entries()) {
      m.applyOp(opFrom(NODE_A, i + 1, i + 1, { type: "lww_map_set", field: f, value: bytes(i) }));
    }
    assert.deepEqual(
      m.entries().map(([f]) => [...f]),
      [[1], [1, 0], [2]],
    );
  });

  test("cells, entries and collected tombstones give each field's exact bytes, in bytewise order", () => {
    // The map keeps a field only as its bytesKey and sorts those strings: their order must be
    // compareBytes' for bytes >= 0x80, the empty field and fields past bytesKey's 64-byte path.
    const field = fc.oneof(
      fc.uint8Array({ maxLength: 80 }),
      fc.constantFrom(
        bytes(),
        bytes(0),
        bytes(0x7f),
        bytes(0x80),
        bytes(0xff),
        bytes(0xff, 0),
        bytes(0x80, 0x7f),
      ),
    );
    const write = fc.record({ field, value: fc.option(fc.uint8Array({ maxLength: 4 }), { nil: undefined }) });
    fc.assert(
      fc.property(fc.array(fc.array(write, { minLength: 1, maxLength: 6 }), { maxLength: 30 }), (ops) => {
        const m = new LwwMap();
        const last = new Map<string, { field: Uint8Array; value: Uint8Array | undefined }>();
        for (const [i, entries] of ops.entries()) {
          const stamped = entries.map((entry, j) => ({ ...entry, timestamp: i * 8 + j + 1 }));
          // A batch op when it has several entries, single set and remove ops otherwise.
          if (stamped.length > 1)
            m.applyEntries(
              opFrom(NODE_A, i + 1, i * 8, { type: "lww_map_batch", entries: stamped } as never) as never,
              () => {},
            );
          else {
            const [{ field, value, timestamp }] = stamped;
            const kind =
              value === undefined ? { type: "lww_map_remove", field } : { type: "lww_map_set", field, value };
            m.applyOp(opFrom(NODE_A, i + 1, timestamp, kind as never));
          }
          for (const { field, value } of entries)
            last.set(Buffer.from(field).toString("hex"), { field, value });
        }
        const expected = [...last.values()].sort((a, b) => compareBytes(a.field, b.field));
        assert.deepEqual(
          m.cells().map((cell) => [cell.field, cell.value]),
          expected.map(({ field, value }) => [field, value]),
        );
        assert.deepEqual(
          m.entries().map(([f, v]) => [f, v]),
          expected.filter(({ value }) => value !== undefined).map(({ field, value }) => [field, value]),
        );
        const dropped = m.collectTombstones(Number.MAX_SAFE_INTEGER).dropped;
        assert.deepEqual(
          dropped.map((cell) => cell.field).sort(compareBytes),
          expected.filter(({ value }) => value === undefined).map(({ field }) => field),
        );
      }),
      propertyRuns(300),
    );
  });
});

describe("ORSet", () => {
  test("add wins over a concurrent remove", () => {
    const a = new OrSet();
    const b = new OrSet();
    const add1 = opFrom(NODE_A, 1, 1, { type: "orset_add", element: text("x") });
    a.applyOp(add1);
    b.applyOp(add1);
    // b removes what it observed while a concurrently adds x again
    const remove = opFrom(NODE_B, 1, 2, {
      type: "orset_remove",
      element: text("x"),
      tags: b.observedTags(text("x")),
    });
    const add2 = opFrom(NODE_A, 2, 2, { type: "orset_add", element: text("x") });
    a.applyOp(add2);
    b.applyOp(remove);
    a.applyOp(remove);
    b.applyOp(add2);
    assert.equal(a.has(text("x")), true);
    assert.equal(b.has(text("x")), true);
  });

  test("a remove that arrives before the add it observed still removes it", () => {
    const s = new OrSet();
    const add = opFrom(NODE_A, 1, 1, { type: "orset_add", element: text("x") });
    s.applyOp(opFrom(NODE_B, 1, 2, { type: "orset_remove", element: text("x"), tags: [add.id] }));
    s.applyOp(add);
    assert.equal(s.has(text("x")), false);
    assert.deepEqual(s.elements(), []);
  });

  test("elements are sorted bytewise", () => {
    const s = new OrSet();
    for (const [i, e] of ["b", "a", "c"].entries())
      s.applyOp(opFrom(NODE_A, i + 1, i, { type: "orset_add", element: text(e) }));
    assert.deepEqual(
      s.elements().map((e) => Buffer.from(e).toString()),
      ["a", "b", "c"],
    );
  });
});
