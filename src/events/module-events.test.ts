import assert from "node:assert/strict";
import { test } from "node:test";
import type { NodeId } from "../identity/node-id.ts";
import { ERR_INTERNAL, ERR_NOT_FOUND, OK } from "../wasm/abi/abi-codes.ts";
import type { CallbackExport } from "../wasm/guest-exports.ts";
import type { ModuleEventKind } from "./module-event.ts";
import { ModuleEvents, SUBSCRIPTIONS_PER_MODULE_MAX } from "./module-events.ts";
import { TICK_INTERVAL_MAX_MS, TICK_INTERVAL_MIN_MS } from "./tick-period.ts";

const ALL: CallbackExport[] = ["init", "on_tick", "on_remote_op", "on_peer_connected", "on_message"];
const A = "a".repeat(32) as NodeId;

function moduleEvents(callbacks: CallbackExport[] = ALL) {
  const published: string[] = [];
  const dropped: ModuleEventKind[] = [];
  const events = new ModuleEvents({
    moduleId: "m",
    callbacks: new Set(callbacks),
    publisher: { publish: (topic) => published.push(topic) },
    observer: {
      module: () => ({
        delivered: () => {},
        dropped: (kind) => dropped.push(kind),
        callback: () => {},
        restarted: () => {},
      }),
    },
  });
  return { events, published, dropped };
}

test("tick_every: 0 stops, the bounds answer -3, no on_tick answers -1", () => {
  const { events } = moduleEvents();
  assert.equal(events.tickEvery(TICK_INTERVAL_MIN_MS), OK);
  assert.equal(events.tickEvery(TICK_INTERVAL_MIN_MS - 1), ERR_INTERNAL);
  // Node would turn a timer above 2^31-1 ms into 1 ms: refused long before that.
  assert.equal(events.tickEvery(TICK_INTERVAL_MAX_MS + 1), ERR_INTERNAL);
  assert.equal(events.tickEvery(0x8000_0000), ERR_INTERNAL);
  assert.equal(events.tickEvery(0), OK);
  assert.equal(moduleEvents(["on_message"]).events.tickEvery(100), ERR_NOT_FOUND);
  events.close();
});

test("subscriptions: invalid patterns and the 65th answer -3, unknown unsubscribe -1", () => {
  const { events } = moduleEvents();
  assert.equal(events.subscribe("a*b"), ERR_INTERNAL);
  assert.equal(events.subscribe("sp ace"), ERR_INTERNAL);
  for (let i = 0; i < SUBSCRIPTIONS_PER_MODULE_MAX; i++) assert.equal(events.subscribe(`t/${i}`), OK);
  assert.equal(events.subscribe("t/0"), OK, "subscribing again is not one more");
  assert.equal(events.subscribe("one/more"), ERR_INTERNAL);
  assert.equal(events.unsubscribe("never"), ERR_NOT_FOUND);
  assert.equal(events.unsubscribe("t/0"), OK);
  assert.equal(events.subscribedTo("t/0"), false);
  assert.equal(events.subscribedTo("t/1"), true);
  assert.equal(moduleEvents(["on_tick"]).events.subscribe("t"), ERR_NOT_FOUND);
});

test("publish checks the topic and the payload size before the node sees it", () => {
  const { events, published } = moduleEvents();
  assert.equal(events.publish("ok/topic", new Uint8Array(10)), OK);
  assert.equal(events.publish("bad topic", new Uint8Array(1)), ERR_INTERNAL);
  assert.equal(events.publish("t", new Uint8Array(64 * 1024 + 1)), ERR_INTERNAL);
  assert.deepEqual(published, ["ok/topic"]);
});

test("a tick while a tick callback runs is skipped and counted", () => {
  const { events, dropped } = moduleEvents();
  const life = new AbortController().signal;
  events.deliver({ kind: "tick" });
  const tick = events.next(life);
  assert.deepEqual(tick, { kind: "tick" });
  events.setCurrent({ kind: "tick" });
  events.deliver({ kind: "tick" });
  assert.deepEqual(dropped, ["tick"]);
  assert.equal(events.queued, 0);
  events.setCurrent(undefined);
  assert.equal(events.idle, true);
});

test("a process that died while it waited takes nothing: the event stays for the next life", async () => {
  const { events } = moduleEvents();
  const dead = new AbortController();
  const waiting = events.next(dead.signal);
  assert.ok(waiting instanceof Promise);
  dead.abort();
  events.deliver({ kind: "peer_connected", nodeId: A });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(events.queued, 1, "still queued");
  events.beginLife();
  assert.deepEqual(events.next(new AbortController().signal), { kind: "peer_connected", nodeId: A });
});

test("events without a callback are never queued; closing ends a wait and drops what waits", async () => {
  const { events } = moduleEvents(["on_tick"]);
  events.deliver({ kind: "message", topic: "t", payload: new Uint8Array(), origin: A });
  assert.equal(events.queued, 0);
  const waiting = events.next(new AbortController().signal);
  events.close();
  assert.equal(await waiting, undefined);
  events.deliver({ kind: "tick" });
  assert.equal(events.queued, 0);
  assert.equal(events.next(new AbortController().signal), undefined);
});

test("a reload (changeCode) ends the old code's life at its next event and keeps the queue for the new code", async () => {
  const { events, dropped } = moduleEvents(["init", "on_tick", "on_peer_connected"]);
  const life = new AbortController();
  events.beginLife(events.code);
  // The old life waits for an event; the reload wakes it and its next() ends it.
  const waiting = events.next(life.signal);
  assert.ok(waiting instanceof Promise);
  events.deliver({ kind: "peer_connected", nodeId: A });
  events.deliver({ kind: "tick" });
  assert.deepEqual(await waiting, { kind: "peer_connected", nodeId: A });
  const settled = events.settledState(events.code + 1);
  events.changeCode(new Set(["init", "on_peer_connected"]));
  assert.equal(events.next(life.signal), undefined, "the old code's life ends");
  assert.deepEqual(dropped, ["tick"], "a waiting event the new code has no callback for is dropped");
  events.deliver({ kind: "peer_connected", nodeId: A });
  // The new code's life takes what waited, and its init settling resolves the reload's wait.
  events.beginLife(events.code);
  assert.deepEqual(events.next(life.signal), { kind: "peer_connected", nodeId: A });
  events.setState("running");
  assert.equal(await settled, "running");
  events.close();
});
