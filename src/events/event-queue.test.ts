import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { CrdtFamily } from "../crdt/op.ts";
import type { NodeId } from "../identity/node-id.ts";
import { EventQueue } from "./event-queue.ts";
import type { ModuleEvent, ModuleEventKind } from "./module-event.ts";

const A = "a".repeat(32) as NodeId;
const B = "b".repeat(32) as NodeId;
const tick: ModuleEvent = { kind: "tick" };
const remote = (key: string, origin: NodeId = A, family: CrdtFamily = "gcounter"): ModuleEvent => ({
  kind: "remote_op",
  key,
  family,
  origin,
});
const message = (n: number): ModuleEvent => ({
  kind: "message",
  topic: "t",
  payload: new Uint8Array([n]),
  origin: A,
});

function drain(queue: EventQueue): ModuleEvent[] {
  const out: ModuleEvent[] = [];
  for (let event = queue.take(); event !== undefined; event = queue.take()) out.push(event);
  return out;
}

test("ticks do not pile up: a tick while one waits is dropped", () => {
  const queue = new EventQueue(8);
  assert.deepEqual(queue.push(tick), []);
  assert.deepEqual(queue.push(tick), ["tick"]);
  assert.equal(queue.size, 1);
  assert.deepEqual(drain(queue), [tick]);
  assert.deepEqual(queue.push(tick), [], "once taken, the next tick is queued again");
});

test("a remote op on a waiting key coalesces into it and takes the later origin", () => {
  const queue = new EventQueue(8);
  queue.push(remote("k", A));
  queue.push(message(1));
  assert.deepEqual(queue.push(remote("k", B)), []);
  queue.push(remote("k", A, "orset"));
  assert.deepEqual(drain(queue), [remote("k", B), message(1), remote("k", A, "orset")]);
});

test("when full, the waiting tick goes first, then the oldest event", () => {
  const queue = new EventQueue(3);
  queue.push(message(1));
  queue.push(tick);
  queue.push(message(2));
  assert.deepEqual(queue.push(message(3)), ["tick"]);
  assert.deepEqual(queue.push(message(4)), ["message"]);
  assert.deepEqual(drain(queue), [message(2), message(3), message(4)]);
});

test("event data is bounded too: big messages push the oldest out; one larger than the bound is dropped", () => {
  const big = (n: number): ModuleEvent => ({
    kind: "message",
    topic: "t",
    payload: new Uint8Array(400).fill(n),
    origin: A,
  });
  const queue = new EventQueue(100, 1000);
  queue.push(tick);
  queue.push(big(1));
  queue.push(big(2));
  assert.equal(queue.bytes, 802);
  // A third would pass 1000 bytes: the tick goes first, then the oldest message.
  assert.deepEqual(queue.push(big(3)), ["tick", "message"]);
  assert.equal(queue.bytes, 802);
  assert.deepEqual(queue.push({ kind: "message", topic: "t", payload: new Uint8Array(1000), origin: A }), [
    "message",
  ]);
  assert.deepEqual(drain(queue), [big(2), big(3)]);
  assert.equal(queue.bytes, 0);
});

const eventArbitrary = fc.oneof(
  fc.constant(tick),
  fc
    .record({ key: fc.constantFrom("x", "y", "z"), origin: fc.constantFrom(A, B) })
    .map((r) => remote(r.key, r.origin)),
  fc.nat(255).map(message),
);

test("against a model: bounded, one tick, one event per key, FIFO otherwise", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.array(
        fc.oneof(
          eventArbitrary.map((e) => ({ push: e })),
          fc.constant({ take: true }),
        ),
        { maxLength: 80 },
      ),
      (capacity, steps) => {
        const queue = new EventQueue(capacity);
        const model: ModuleEvent[] = [];
        for (const step of steps) {
          if ("take" in step) {
            assert.deepEqual(queue.take(), model.shift());
            continue;
          }
          const event = step.push;
          let expectedDrop: ModuleEventKind[] = [];
          const waitingKey =
            event.kind === "remote_op"
              ? model.find((e) => e.kind === "remote_op" && e.key === event.key && e.family === event.family)
              : undefined;
          if (event.kind === "tick" && model.some((e) => e.kind === "tick")) expectedDrop = ["tick"];
          else if (waitingKey !== undefined && waitingKey.kind === "remote_op") {
            const index = model.indexOf(waitingKey);
            model[index] = { ...waitingKey, origin: event.kind === "remote_op" ? event.origin : A };
          } else {
            if (model.length >= capacity) {
              const tickAt = model.findIndex((e) => e.kind === "tick");
              expectedDrop = [model.splice(Math.max(tickAt, 0), 1)[0]!.kind];
            }
            model.push(event);
          }
          assert.deepEqual(queue.push(event), expectedDrop);
          assert.equal(queue.size, model.length);
          assert.ok(queue.size <= capacity);
        }
        assert.deepEqual(drain(queue), model);
      },
    ),
    { seed: 1212, numRuns: 400 },
  );
});
