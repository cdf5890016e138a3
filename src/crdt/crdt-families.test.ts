import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { GCounter } from "./g-counter.ts";
import { LwwMap } from "./lww-map.ts";
import { LwwRegister } from "./lww-register.ts";
import { OrSet } from "./or-set.ts";
import { PNCounter } from "./pn-counter.ts";
import { U64_MAX } from "./saturating-u64.ts";
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
