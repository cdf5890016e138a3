/**
 * The reactive examples (examples/reactive_dashboard, examples/chat) on the node's own parts,
 * in process (reactive-guest.ts): the real event bus and module events, the reactive program
 * and a replica on LMDB. What they print, write and publish for given events; their README
 * interfaces on real nodes are test/reactive/examples.test.ts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { NodeEventBus } from "../../src/events/node-event-bus.ts";
import type { NodeId } from "../../src/identity/node-id.ts";
import { buildGuests, REPO } from "./guest-files.ts";
import { ReactiveGuest, Subscriber, TempReplica } from "./reactive-guest.ts";

const DASHBOARD = join(REPO, "examples/reactive_dashboard/build/reactive_dashboard.wasm");
const CHAT = join(REPO, "examples/chat/build/chat.wasm");
const SELF = "5".repeat(32) as NodeId;
const NODE_A = "a".repeat(32) as NodeId;
const NODE_B = "b".repeat(32) as NodeId;
const DASHBOARD_TICK_MS = 200;
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

let replica: TempReplica;
before(async () => {
  replica = await TempReplica.open(SELF);
});
after(() => replica.close());

describe("reactive_dashboard", () => {
  before(() => buildGuests("reactive_dashboard"));

  test("ticks every 200 ms, counts its ticks, prints one line per remote op", async () => {
    const bus = new NodeEventBus();
    const summaries = new Subscriber(bus, "dashboard/summary");
    const received: { ticks: number; remoteOps: number; keys: unknown[] }[] = [];
    const receive = () => {
      for (const message of summaries.received()) received.push(JSON.parse(message.payload));
    };
    const started = performance.now();
    const guest = await ReactiveGuest.start(DASHBOARD, { bus, crdt: replica.state });
    for (const [key, family, origin] of [
      ["visits", "gcounter", NODE_A],
      ["comments", "rga", NODE_A],
      ["visits", "gcounter", NODE_B],
      ['say "hi"\t', "lww_register", NODE_B],
    ] as const) {
      await guest.step((g) => g.bus.remoteChanges([{ key, family, origin }]));
    }
    // The node's tick timer, at the period the module asked for in init.
    const deadline = performance.now() + 10_000;
    while (!received.some((s) => s.ticks >= 2 && s.remoteOps === 4) && performance.now() < deadline) {
      await delay(10);
      receive();
    }
    const elapsedMs = performance.now() - started;
    assert.deepEqual(await guest.stop(), { ok: true });
    receive();
    assert.ok(received.length >= 2, `summaries: ${received.length}`);
    // Two ticks cannot come sooner than two periods (a few ms of timer rounding aside).
    assert.ok(elapsedMs >= 2 * DASHBOARD_TICK_MS - 10, `two ticks after ${elapsedMs} ms`);
    assert.deepEqual(guest.stdout, [
      "remote gcounter visits",
      "remote rga comments",
      "remote gcounter visits",
      'remote lww-register say "hi"\t',
    ]);
    // One increment and one summary per tick.
    assert.equal(replica.state.gcounterValue(`ticks/${SELF}`), BigInt(received.length));
    assert.deepEqual(received.at(-1), {
      node: SELF,
      ticks: received.length,
      remoteOps: 4,
      keys: [
        { key: "visits", family: "gcounter", ops: 2, lastWriter: NODE_B },
        { key: "comments", family: "rga", ops: 1, lastWriter: NODE_A },
        { key: 'say "hi"\t', family: "lww-register", ops: 1, lastWriter: NODE_B },
      ],
    });
  });
});

describe("chat", () => {
  before(() => buildGuests("chat"));

  test("a typed line goes to the history and to chat/lines; lines from other nodes are printed", async () => {
    const bus = new NodeEventBus();
    const lines = new Subscriber(bus, "chat/lines");
    const guest = await ReactiveGuest.start(CHAT, { bus, crdt: replica.state });
    assert.ok(guest.events.subscribedTo("chat/input") && guest.events.subscribedTo("chat/lines"));
    // Lines typed on stdin (`--stdin-topic chat/input`) are local messages.
    await guest.step((g) => g.bus.publishLocal("chat/input", utf8("hello")));
    await guest.step((g) => g.bus.publishLocal("chat/input", utf8("")));
    await guest.step((g) => g.bus.message(NODE_A, "chat/lines", utf8("bob: hi ✓")));
    assert.deepEqual(await guest.stop(), { ok: true });
    assert.deepEqual(
      lines.received().map((message) => message.payload),
      ["55555555: hello", "bob: hi ✓"],
    );
    assert.deepEqual(
      replica.state.rgaValues("chat/history").map((value) => new TextDecoder().decode(value)),
      ["55555555: hello"],
    );
    // Its own line, back through its own subscription, is not printed again.
    assert.deepEqual(guest.stdout, ["bob: hi ✓"]);
  });

  test("NX_CHAT_NAME names the lines; init prints the last 10 history lines, oldest first", async () => {
    const own = await TempReplica.open(SELF);
    try {
      const first = await ReactiveGuest.start(CHAT, { env: { NX_CHAT_NAME: "ana" }, crdt: own.state });
      for (let i = 1; i <= 12; i++)
        await first.step((g) => g.bus.publishLocal("chat/input", utf8(`line ${i}`)));
      assert.deepEqual(await first.stop(), { ok: true });
      await own.reopen();
      const restarted = await ReactiveGuest.start(CHAT, { crdt: own.state });
      assert.deepEqual(
        restarted.stdout,
        Array.from({ length: 10 }, (_, i) => `ana: line ${i + 3}`),
      );
      await restarted.stop();
    } finally {
      await own.close();
    }
  });
});
