import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import type { Op } from "./op.ts";
import { formatOpId, makeOpId, type OpId } from "./op-id.ts";
import { Rga } from "./rga.ts";
import { propertyRuns } from "./testing/property-runs.ts";
import { historyActions, playHistory } from "./testing/replica-history.ts";
import { decodeText, NODE_A, NODE_B, NODE_C, opFrom, text } from "./testing/test-ops.ts";

const insert = (origin: typeof NODE_A, seq: number, ts: number, parent: OpId | undefined, value: string) =>
  opFrom(origin, seq, ts, { type: "rga_insert", parent, value: text(value) });
const show = (rga: Rga): string => rga.values().map(decodeText).join("");

/** The specification: a tree of inserts, children newest first (timestamp, then origin), read depth-first. */
function treeOrder(ops: readonly Op[]): string {
  const children = new Map<string, Op[]>();
  const deleted = new Set<string>();
  const inserts = new Map<string, Op>();
  for (const op of ops) {
    if (op.kind.type === "rga_delete") deleted.add(formatOpId(op.kind.target));
    if (op.kind.type !== "rga_insert" || inserts.has(formatOpId(op.id))) continue;
    inserts.set(formatOpId(op.id), op);
    const parent = op.kind.parent === undefined ? "head" : formatOpId(op.kind.parent);
    children.set(parent, [...(children.get(parent) ?? []), op]);
  }
  const newestFirst = (a: Op, b: Op): number => b.timestamp - a.timestamp || (b.origin > a.origin ? 1 : -1);
  const out: string[] = [];
  const visit = (id: string): void => {
    for (const child of (children.get(id) ?? []).sort(newestFirst)) {
      const name = formatOpId(child.id);
      if (!deleted.has(name) && child.kind.type === "rga_insert")
        out.push(Buffer.from(child.kind.value).toString("hex"));
      visit(name);
    }
  };
  visit("head");
  return out.join(",");
}

describe("RGA", () => {
  test("sequential typing reads back in order", () => {
    const rga = new Rga();
    let parent: OpId | undefined;
    for (const [i, ch] of [..."hello"].entries()) {
      const op = insert(NODE_A, i + 1, i + 1, parent, ch);
      rga.applyOp(op);
      parent = op.id;
    }
    assert.equal(show(rga), "hello");
    assert.equal(rga.length, 5);
  });

  test("concurrent inserts after the same parent: newest first, whatever the arrival order", () => {
    const root = insert(NODE_A, 1, 10, undefined, "R");
    const fromB = insert(NODE_B, 1, 20, root.id, "b");
    const fromC = insert(NODE_C, 1, 30, root.id, "c");
    const tieA = insert(NODE_A, 2, 20, root.id, "a"); // same stamp as fromB: greater NodeId (b) first
    for (const order of [
      [root, fromB, fromC, tieA],
      [root, tieA, fromC, fromB],
      [root, fromC, tieA, fromB],
    ]) {
      const rga = new Rga();
      for (const op of order) rga.applyOp(op);
      assert.equal(show(rga), "Rcba");
    }
  });

  test("a deleted element keeps its children visible, in place", () => {
    const rga = new Rga();
    const a = insert(NODE_A, 1, 1, undefined, "a");
    const b = insert(NODE_A, 2, 2, a.id, "b");
    const c = insert(NODE_A, 3, 3, b.id, "c");
    for (const op of [a, b, c]) rga.applyOp(op);
    rga.applyOp(opFrom(NODE_B, 1, 4, { type: "rga_delete", target: b.id }));
    assert.equal(show(rga), "ac");
    rga.applyOp(insert(NODE_B, 2, 5, b.id, "x"));
    assert.equal(show(rga), "axc", "inserting after a tombstone still works");
    assert.equal(rga.isDeleted(b.id), true);
  });

  test("an insert whose parent has not arrived waits for it; an early delete applies on arrival", () => {
    const rga = new Rga();
    const a = insert(NODE_A, 1, 1, undefined, "a");
    const b = insert(NODE_A, 2, 2, a.id, "b");
    const c = insert(NODE_A, 3, 3, b.id, "c");
    rga.applyOp(opFrom(NODE_B, 1, 4, { type: "rga_delete", target: a.id }));
    rga.applyOp(c);
    rga.applyOp(b);
    assert.equal(show(rga), "");
    assert.equal(rga.has(c.id), true);
    rga.applyOp(a);
    assert.equal(show(rga), "bc");
  });

  test("an insert not stamped after its parent is dropped the same way on every replica", () => {
    const parent = insert(NODE_A, 1, 50, undefined, "p");
    const bad = insert(NODE_B, 1, 40, parent.id, "x");
    const early = new Rga();
    early.applyOp(bad);
    early.applyOp(parent);
    const late = new Rga();
    late.applyOp(parent);
    assert.equal(late.applyOp(bad), undefined);
    assert.equal(show(early), "p");
    assert.equal(show(late), "p");
    assert.deepEqual(early.cells(), late.cells());
  });

  test("idAt walks visible elements across chunk splits", () => {
    const rga = new Rga();
    let parent: OpId | undefined;
    const ids: OpId[] = [];
    for (let i = 0; i < 1500; i++) {
      const op = insert(NODE_A, i + 1, i + 1, parent, String(i % 10));
      rga.applyOp(op);
      ids.push(op.id);
      parent = op.id;
    }
    for (let i = 0; i < 1500; i += 3)
      rga.applyOp(opFrom(NODE_B, i + 1, 5000 + i, { type: "rga_delete", target: ids[i] }));
    const visible = ids.filter((_, i) => i % 3 !== 0);
    assert.equal(rga.length, visible.length);
    for (const i of [0, 1, 499, 998, visible.length - 1]) assert.deepEqual(rga.idAt(i), visible[i]);
    assert.equal(rga.idAt(visible.length), undefined);
  });

  test("matches the tree-order specification for random concurrent histories", () => {
    fc.assert(
      fc.property(historyActions(60), (actions) => {
        const { ops } = playHistory("rga", actions);
        const rga = new Rga();
        for (const op of ops) rga.applyOp(op);
        assert.equal(
          rga
            .values()
            .map((v) => Buffer.from(v).toString("hex"))
            .join(","),
          treeOrder(ops),
        );
      }),
      propertyRuns(100),
    );
  });

  test("matches the specification with many inserts at random positions (chunked structure)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.boolean()), { minLength: 300, maxLength: 900 }), (steps) => {
        const rga = new Rga();
        const ops: Op[] = [];
        const known: OpId[] = [];
        for (const [i, [pick, atHead]] of steps.entries()) {
          const parent = atHead || known.length === 0 ? undefined : known[pick % known.length];
          const op = insert(
            i % 2 === 0 ? NODE_A : NODE_B,
            i + 1,
            i + 1,
            parent,
            String.fromCharCode(33 + (i % 90)),
          );
          rga.applyOp(op);
          ops.push(op);
          known.push(op.id);
        }
        const values = rga
          .values()
          .map((v) => Buffer.from(v).toString("hex"))
          .join(",");
        assert.equal(values, treeOrder(ops));
      }),
      propertyRuns(15),
    );
  });

  test("position-based editing through idAt matches a plain array (cursor reuse included)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.nat(9)), { minLength: 200, maxLength: 1200 }), (steps) => {
        const rga = new Rga();
        const model: string[] = [];
        let seq = 0;
        for (const [pick, action] of steps) {
          seq++;
          if (action < 3 && model.length > 0) {
            const at = pick % model.length;
            rga.applyOp(opFrom(NODE_B, seq, seq, { type: "rga_delete", target: rga.idAt(at)! }));
            model.splice(at, 1);
          } else {
            const at = pick % (model.length + 1);
            const parent = at === 0 ? undefined : rga.idAt(at - 1);
            const value = String.fromCharCode(65 + (seq % 26));
            rga.applyOp(insert(NODE_A, seq, seq, parent, value));
            model.splice(at, 0, value);
          }
        }
        assert.equal(show(rga), model.join(""));
        assert.equal(rga.length, model.length);
      }),
      propertyRuns(20),
    );
  });

  describe("ghosts: tombstone runs collected", () => {
    /** x1 → x2 → x3 → y typed in a row, then x1..x3 deleted: a queue's front. */
    function queueFront(): { rga: Rga; ids: OpId[] } {
      const rga = new Rga();
      const ids: OpId[] = [];
      for (const [i, ch] of [..."abcy"].entries()) {
        const op = insert(NODE_A, i + 1, 10 * (i + 1), ids.at(-1), ch);
        rga.applyOp(op);
        ids.push(op.id);
      }
      for (const [i, target] of ids.slice(0, 3).entries())
        rga.applyOp(opFrom(NODE_B, i + 1, 100 + i, { type: "rga_delete", target }));
      return { rga, ids };
    }

    test("a queue's deleted front becomes one ghost; what was typed after it is anchored there", () => {
      const { rga, ids } = queueFront();
      const collected = rga.collectTombstones(0, () => true);
      assert.deepEqual(
        collected.rewritten.map((c) => c.type),
        ["ghost", "anchored"],
      );
      assert.equal(collected.dropped.length, 2);
      const ghost = rga.cells().find((c) => c.type === "ghost")!;
      assert.deepEqual([ghost.id, ghost.type === "ghost" && ghost.span], [ids[0], 3]);
      assert.equal(show(rga), "y");
      // Rebuilt from its cells in any order (children first here), it is the same.
      const rebuilt = new Rga();
      for (const cell of rga.cells().reverse()) rebuilt.mergeCell(cell);
      assert.deepEqual(rebuilt.cells(), rga.cells());
      assert.equal(show(rebuilt), "y");
    });

    test("a replica that still holds the tombstones places an anchored element under its parent", () => {
      const { rga, ids } = queueFront();
      const uncollected = queueFront().rga;
      rga.collectTombstones(0, () => true);
      const anchored = rga.cells().find((c) => c.type === "anchored")!;
      const fresh = new Rga();
      fresh.applyOp(insert(NODE_A, 1, 10, undefined, "a"));
      for (const cell of [...uncollected.cells()].slice(1, 3)) fresh.mergeCell(cell);
      // The element arrives with its anchor; its parent (x3) is here, so it goes there, unanchored.
      const persisted = fresh.mergeCell(anchored);
      assert.equal(persisted?.type, "element");
      assert.deepEqual(persisted.type === "element" && persisted.parent, ids[2]);
      assert.equal(show(fresh), "ay", "x2 and x3 arrived deleted");
    });

    test("an insert naming a collected element: after the run when it names the ghost, waiting when it names another member", () => {
      const { rga, ids } = queueFront();
      rga.collectTombstones(0, () => true);
      rga.applyOp(insert(NODE_C, 1, 200, ids[0], "n"));
      assert.equal(show(rga), "ny", "under the ghost, newest first among what is under it");
      const reference = queueFront().rga;
      reference.applyOp(insert(NODE_C, 1, 200, ids[0], "n"));
      assert.equal(show(reference), "ny", "where it goes without collection");
      rga.applyOp(insert(NODE_C, 2, 201, ids[1], "w"));
      assert.equal(
        show(rga),
        "ny",
        "a member other than the first is gone: the insert waits, as for an unknown parent",
      );
      assert.equal(rga.has(makeOpId(NODE_C, 2)), true);
    });

    test("a scan past a ghost skips the whole run or stops before it, as the run's first element decides", () => {
      for (const stamp of [5, 15, 35, 45]) {
        const build = (collect: boolean): Rga => {
          const rga = new Rga();
          const root = insert(NODE_C, 1, 1, undefined, "R");
          rga.applyOp(root);
          let parent = root.id;
          for (const [i, ch] of [..."abcy"].entries()) {
            const op = insert(NODE_A, i + 1, 10 * (i + 1), parent, ch);
            rga.applyOp(op);
            parent = op.id;
          }
          for (let seq = 1; seq <= 3; seq++)
            rga.applyOp(
              opFrom(NODE_B, seq, 100 + seq, { type: "rga_delete", target: makeOpId(NODE_A, seq) }),
            );
          if (collect) rga.collectTombstones(0, () => true);
          // A concurrent insert after the root, stamped `stamp`.
          rga.applyOp(insert(NODE_C, 2, stamp, root.id, "n"));
          return rga;
        };
        assert.equal(show(build(true)), show(build(false)), `stamp ${stamp}`);
      }
    });
  });
});
