/**
 * The reactive examples (examples/reactive_dashboard, examples/chat) against the event model
 * in process, through the stand-in host of event-host-double.ts: what they print, write and
 * publish for given events. Running them on real nodes is the runtime's end-to-end tests.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { EventHostDouble, type RgaElement } from "./event-host-double.ts";
import { buildGuests, REPO, readBytes } from "./guest-files.ts";

const DASHBOARD = join(REPO, "examples/reactive_dashboard/build/reactive_dashboard.wasm");
const CHAT = join(REPO, "examples/chat/build/chat.wasm");
const SELF = "5".repeat(32);
const NODE_A = "a".repeat(32);
const NODE_B = "b".repeat(32);

describe("reactive_dashboard", () => {
  before(() => buildGuests("reactive_dashboard"));

  test("ticks every 200 ms, counts its ticks, prints one line per remote op", () => {
    const host = new EventHostDouble(readBytes(DASHBOARD), { nodeId: SELF });
    host.deliver("init");
    assert.deepEqual(host.tickPeriods, [200]);
    host.deliver("on_remote_op", { subject: "visits", origin: NODE_A }, 1);
    host.deliver("on_remote_op", { subject: "comments", origin: NODE_A }, 6);
    host.deliver("on_remote_op", { subject: "visits", origin: NODE_B }, 1);
    host.deliver("on_remote_op", { subject: 'say "hi"\t', origin: NODE_B }, 3);
    host.deliver("on_tick");
    host.deliver("on_tick");
    assert.deepEqual(host.stdout, [
      "remote gcounter visits",
      "remote rga comments",
      "remote gcounter visits",
      'remote lww-register say "hi"\t',
    ]);
    assert.deepEqual([...host.counters], [[`ticks/${SELF}`, 2n]]);
    assert.deepEqual(
      host.published.map((message) => message.topic),
      ["dashboard/summary", "dashboard/summary"],
    );
    assert.deepEqual(JSON.parse(host.published[1]!.payload), {
      node: SELF,
      ticks: 2,
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

  test("a typed line goes to the history and to chat/lines; lines from other nodes are printed", () => {
    const host = new EventHostDouble(readBytes(CHAT), { nodeId: SELF });
    host.deliver("init");
    assert.deepEqual(host.subscriptions, ["chat/input", "chat/lines"]);
    host.deliver("on_message", { subject: "chat/input", payload: "hello", origin: SELF });
    host.deliver("on_message", { subject: "chat/input", payload: "", origin: SELF });
    host.deliver("on_message", { subject: "chat/lines", payload: "55555555: hello", origin: SELF });
    host.deliver("on_message", { subject: "chat/lines", payload: "bob: hi ✓", origin: NODE_A });
    assert.deepEqual(host.published, [{ topic: "chat/lines", payload: "55555555: hello" }]);
    assert.deepEqual(
      host.rgas.get("chat/history")?.map((element) => element.value),
      ["55555555: hello"],
    );
    assert.deepEqual(host.stdout, ["bob: hi ✓"]);
  });

  test("NX_CHAT_NAME names the lines; init prints the last 10 history lines, oldest first", () => {
    const rgas = new Map<string, RgaElement[]>();
    const first = new EventHostDouble(readBytes(CHAT), { nodeId: SELF, env: { NX_CHAT_NAME: "ana" }, rgas });
    first.deliver("init");
    for (let i = 1; i <= 12; i++)
      first.deliver("on_message", { subject: "chat/input", payload: `line ${i}`, origin: SELF });
    const restarted = new EventHostDouble(readBytes(CHAT), { nodeId: SELF, rgas });
    restarted.deliver("init");
    assert.deepEqual(
      restarted.stdout,
      Array.from({ length: 10 }, (_, i) => `ana: line ${i + 3}`),
    );
  });
});
