/**
 * The guest side of reactive modules on the node's own parts, in process (reactive-guest.ts):
 * the AssemblyScript probe (test/guests/reactive_probe.ts, built with the SDK's `events` module)
 * and its C twin (test/guests/reactive_probe_c.c, built with sdk/c/nx.h) export exactly the
 * callbacks of the runtime's CALLBACK_EXPORTS, import host calls of NX_FUNCTION_SIGNATURES, and
 * print the same lines for the same events; the SDK test guest covers what the probe does not.
 * Real nodes, peers and restarts are test/reactive/*.test.ts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import type { CrdtFamily } from "../../src/crdt/op.ts";
import { NodeEventBus } from "../../src/events/node-event-bus.ts";
import type { NodeId } from "../../src/identity/node-id.ts";
import { isNxSignature, NX_MODULE } from "../../src/wasm/abi/nx-signatures.ts";
import { WASI_MODULE } from "../../src/wasm/abi/wasi-signatures.ts";
import { CALLBACK_EXPORTS, type CallbackExport } from "../../src/wasm/guest-exports.ts";
import type { GuestRunResult } from "../../src/wasm/guest-instance.ts";
import { readImports } from "../../src/wasm/module-imports.ts";
import { buildGuests, clangCanTargetWasm, REPO, readBytes, wasm } from "./guest-files.ts";
import { ReactiveGuest, type ReactiveGuestOptions, Subscriber, TempReplica } from "./reactive-guest.ts";

const AS_PROBE = join(REPO, "test/guests/build/reactive_probe.wasm");
const C_PROBE = join(REPO, "test/guests/build/reactive_probe_c.wasm");
const EVENTS_SDK = join(REPO, "sdk/assemblyscript/tests/build/events_sdk.wasm");

const NODE_A = "a".repeat(32) as NodeId;
const NODE_B = "b".repeat(32) as NodeId;
const SELF = "5".repeat(32) as NodeId;
const LONG_PAYLOAD = "x".repeat(5000); // longer than the SDK's first 4 KiB output buffer
/** A tick period that never comes due within a test: its ticks are raised by the test. */
const HOUR_MS = "3600000";
/** How long a looping callback must keep running for the loop test. */
const LOOP_OBSERVED_MS = 300;

const CALLBACKS = Object.keys(CALLBACK_EXPORTS) as CallbackExport[];
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

function probes(): { name: string; path: string }[] {
  const found = [{ name: "AssemblyScript", path: AS_PROBE }];
  if (clangCanTargetWasm()) found.push({ name: "C", path: C_PROBE });
  return found;
}

let replica: TempReplica;
before(async () => {
  buildGuests("reactive_probe", "reactive_probe_c", "events_sdk");
  replica = await TempReplica.open(SELF);
});
after(() => replica.close());

const remoteOp = (key: string, family: CrdtFamily, origin: NodeId) => (guest: ReactiveGuest) =>
  guest.bus.remoteChanges([{ key, family, origin }]);

/** Every event once, in an order a node could deliver them, each raised where the node raises it. */
async function deliverEverything(guest: ReactiveGuest): Promise<GuestRunResult> {
  await guest.tick();
  await guest.step(remoteOp("visits", "gcounter", NODE_A));
  await guest.step(remoteOp("comments", "rga", NODE_B));
  await guest.step(remoteOp("settings", "lww_map", NODE_A));
  await guest.step((g) => g.bus.peer("connected", NODE_B));
  await guest.step((g) => g.bus.message(NODE_A, "chat/lines", utf8("hello ✓ world")));
  // A local message on a node without sync has no origin.
  await guest.step((g) => g.bus.publishLocal("chat/empty", new Uint8Array()));
  await guest.step((g) => g.bus.message(NODE_B, "chat/long", utf8(LONG_PAYLOAD)));
  await guest.step((g) => g.bus.peer("disconnected", NODE_B));
  return guest.stop();
}

const EXPECTED_LINES = [
  "init",
  "tick",
  `remote gcounter visits ${NODE_A}`,
  `remote rga comments ${NODE_B}`,
  `remote lww-map settings ${NODE_A}`,
  `peer-connected ${NODE_B}`,
  `message chat/lines hello ✓ world ${NODE_A}`,
  "message chat/empty  -",
  `message chat/long ${LONG_PAYLOAD} ${NODE_B}`,
  `peer-disconnected ${NODE_B}`,
  "shutdown",
];

const PROBE_ENV = {
  NX_PROBE_TICK_MS: HOUR_MS,
  NX_PROBE_SUBSCRIBE: "chat/*",
  NX_PROBE_PUBLISH_TOPIC: "probe/out",
  NX_PROBE_PUBLISH_COUNT: "3",
};

/** Raises the event of `callback` (shutdown: the node stops); the probe subscribes to chat/*. */
async function raise(guest: ReactiveGuest, callback: CallbackExport): Promise<void> {
  switch (callback) {
    case "init":
      return;
    case "shutdown":
      await guest.stop();
      return;
    case "on_tick":
      return guest.tick();
    case "on_remote_op":
      return guest.step(remoteOp("k", "gcounter", NODE_A));
    case "on_peer_connected":
      return guest.step((g) => g.bus.peer("connected", NODE_A));
    case "on_peer_disconnected":
      return guest.step((g) => g.bus.peer("disconnected", NODE_A));
    case "on_message":
      return guest.step((g) => g.bus.message(NODE_A, "chat/p", utf8("p")));
  }
}

function failure(result: GuestRunResult): { kind: string; message: string } {
  assert.equal(result.ok, false, "the module's life ended with a failure");
  return result.ok ? { kind: "", message: "" } : result.failure;
}

describe("reactive probes on the node's event parts", () => {
  for (const { name, path } of probes()) {
    test(`${name} probe: exports every callback, imports only runtime functions with their types`, () => {
      const bytes = readBytes(path);
      const exports = wasm.Module.exports(new wasm.Module(bytes)).map((entry) => entry.name);
      assert.deepEqual(exports.sort(), [...CALLBACKS, "memory"].sort());
      const imports = readImports(bytes).map((entry) => {
        assert.equal(entry.kind, "function");
        if (entry.kind === "function" && entry.module === NX_MODULE) {
          assert.ok(
            isNxSignature(entry.name, entry.type),
            `nx.${entry.name} has a type the runtime does not declare`,
          );
        }
        return `${entry.module}.${entry.name}`;
      });
      for (const call of [
        "event_subject",
        "event_payload",
        "event_origin",
        "tick_every",
        "msg_subscribe",
        "msg_publish",
      ])
        assert.ok(imports.includes(`nx.${call}`), `imports nx.${call}`);
      assert.ok(imports.includes(`${WASI_MODULE}.fd_write`));
    });

    test(`${name} probe: one line per callback, settings applied in init, publishes on every tick`, async () => {
      const inits = replica.state.gcounterValue("probe/inits");
      const shutdowns = replica.state.gcounterValue("probe/shutdowns");
      const bus = new NodeEventBus();
      const published = new Subscriber(bus, "probe/*");
      const guest = await ReactiveGuest.start(path, { bus, env: PROBE_ENV, crdt: replica.state });
      assert.equal(replica.state.gcounterValue("probe/inits"), inits + 1n);
      assert.ok(guest.events.subscribedTo("chat/anything"));
      assert.equal(guest.events.subscribedTo("probe/out"), false);
      assert.deepEqual(await deliverEverything(guest), { ok: true });
      assert.deepEqual(guest.stdout, EXPECTED_LINES);
      assert.deepEqual(
        published.received(),
        ["1", "2", "3"].map((payload) => ({ topic: "probe/out", payload, origin: undefined })),
      );
      assert.equal(replica.state.gcounterValue("probe/shutdowns"), shutdowns + 1n);
    });

    test(`${name} probe: NX_PROBE_TICK_MS reaches the node's tick timer`, async () => {
      const guest = await ReactiveGuest.start(path, { env: { NX_PROBE_TICK_MS: "20" } });
      const deadline = performance.now() + 5000;
      while (guest.stdout.filter((line) => line === "tick").length < 2 && performance.now() < deadline)
        await delay(5);
      await guest.stop();
      assert.ok(guest.stdout.filter((line) => line === "tick").length >= 2, guest.stdout.join("\n"));
    });

    test(`${name} probe: without settings it asks for nothing; without sync it counts nothing`, async () => {
      const guest = await ReactiveGuest.start(path);
      assert.deepEqual(await guest.stop(), { ok: true });
      assert.deepEqual(guest.stdout, ["init", "shutdown"]);
      for (const call of ["tick_every", "msg_subscribe", "msg_publish", "crdt_gcounter_inc"])
        assert.equal(guest.calls(call), 0, `nx.${call} calls`);
      assert.equal(guest.calls("net_node_id"), 1);
    });

    test(`${name} probe: NX_PROBE_FAIL_IN traps in that callback, after its line`, async () => {
      for (const callback of CALLBACKS) {
        const env = { NX_PROBE_FAIL_IN: callback, NX_PROBE_FAIL_HOW: "trap", NX_PROBE_SUBSCRIBE: "chat/*" };
        const guest = await ReactiveGuest.start(path, { env });
        await raise(guest, callback);
        const { kind, message } = failure(await guest.ended);
        assert.equal(kind, "unreachable", `${callback}: ${message}`);
        assert.equal(guest.events.failedIn, callback);
        const lines = callback === "init" ? 1 : 2;
        assert.equal(guest.stdout.length, lines, `${callback} printed its line before failing`);
      }
    });

    test(`${name} probe: NX_PROBE_FAIL_HOW=loop spins in the callback and never returns`, async () => {
      const env = { NX_PROBE_FAIL_IN: "on_tick", NX_PROBE_FAIL_HOW: "loop" };
      const guest = await ReactiveGuest.start(path, { env });
      guest.events.deliver({ kind: "tick" });
      const spinning = delay(LOOP_OBSERVED_MS).then(() => "still spinning");
      assert.equal(await Promise.race([guest.ended.then(() => "returned"), spinning]), "still spinning");
      assert.deepEqual(guest.stdout, ["init", "tick"]);
      guest.guest.kill("the test is over");
      assert.equal(failure(await guest.ended).kind, "killed");
    });
  }

  test("both probes print the same lines for the same events", { skip: !clangCanTargetWasm() }, async () => {
    const lines: string[][] = [];
    for (const path of [AS_PROBE, C_PROBE]) {
      const guest = await ReactiveGuest.start(path, { env: PROBE_ENV, crdt: replica.state });
      await deliverEverything(guest);
      lines.push(guest.stdout);
    }
    assert.deepEqual(lines[1], lines[0]);
  });

  test("SDK: event data longer than the first output buffer is read through the -2 retry", async () => {
    const guest = await ReactiveGuest.start(AS_PROBE, { env: { NX_PROBE_SUBSCRIBE: "t*" } });
    await guest.step((g) => g.bus.message(NODE_A, "t", utf8("short")));
    assert.equal(guest.calls("event_payload"), 1);
    await guest.step((g) => g.bus.message(NODE_A, "t", utf8(LONG_PAYLOAD)));
    // The 4 KiB buffer gets -2 and the size; the retry reads it whole.
    assert.equal(guest.calls("event_payload"), 3);
    assert.equal(guest.stdout.at(-1), `message t ${LONG_PAYLOAD} ${NODE_A}`);
    await guest.stop();
  });

  test("SDK: a refused tick_every, msg_subscribe or msg_publish aborts naming the call and the reason", async () => {
    const withoutTick = new Set(CALLBACKS.filter((name) => name !== "on_tick"));
    const withoutMessage = new Set(CALLBACKS.filter((name) => name !== "on_message"));
    const cases: [ReactiveGuestOptions, CallbackExport, string][] = [
      [
        // The node answers -1 to a module it does not know to export on_tick.
        { env: { NX_PROBE_TICK_MS: "50" }, callbacks: withoutTick },
        "init",
        "nx: events.tickEvery(): ERR_NOT_FOUND (-1): the module exports no on_tick",
      ],
      [
        { env: { NX_PROBE_TICK_MS: "5" } },
        "init",
        "nx: events.tickEvery(): ERR_INTERNAL (-3): 5 ms is below the minimum of 10 ms (0 stops ticks)",
      ],
      [
        { env: { NX_PROBE_SUBSCRIBE: "chat/*" }, callbacks: withoutMessage },
        "init",
        'nx: events.subscribe("chat/*"): ERR_NOT_FOUND (-1): the module exports no on_message',
      ],
      [
        { env: { NX_PROBE_PUBLISH_TOPIC: "bad topic", NX_PROBE_PUBLISH_COUNT: "1" } },
        "on_tick",
        'nx: events.publish("bad topic"): ERR_INTERNAL (-3): invalid topic (a topic is 1..256 bytes of ASCII letters, digits and _ - . : /) or payload over 64 KiB',
      ],
    ];
    for (const [options, failing, message] of cases) {
      const guest = await ReactiveGuest.start(AS_PROBE, options);
      await raise(guest, failing);
      const ended = failure(await guest.ended);
      assert.equal(ended.kind, "abort", ended.message);
      assert.ok(
        ended.message.startsWith(`guest aborted: ${message}`),
        `${ended.message}\nwanted: ${message}`,
      );
      assert.equal(guest.events.failedIn, failing);
    }
  });

  test("SDK: readers outside a callback, unsubscribe, byte payloads, family names, the Return policy", async () => {
    const bus = new NodeEventBus();
    const published = new Subscriber(bus, "sdk/*");
    const guest = await ReactiveGuest.start(EVENTS_SDK, { bus });
    assert.deepEqual(guest.stdout, ["events sdk: ok (14 checks)"]);
    assert.equal(guest.events.subscribedTo("sdk/bytes"), false);
    assert.deepEqual(published.received(), [
      { topic: "sdk/bytes", payload: "as bytes", origin: undefined },
      { topic: "sdk/empty", payload: "", origin: undefined },
    ]);
    assert.equal(guest.calls("tick_every"), 2);
    assert.deepEqual(await guest.stop(), { ok: true });
  });

  test("SDK: a re-exported callback without a registered handler aborts naming both", async () => {
    const cases: [CallbackExport, string, (guest: ReactiveGuest) => Promise<void>][] = [
      ["on_tick", "onTick", (guest) => guest.tick()],
      // Delivered to the module's queue directly: its run subscribes to nothing.
      [
        "on_message",
        "onMessage",
        (guest) => guest.deliver({ kind: "message", topic: "t", payload: utf8("p"), origin: NODE_A }),
      ],
    ];
    for (const [callback, register, raiseIt] of cases) {
      const guest = await ReactiveGuest.start(EVENTS_SDK);
      await raiseIt(guest);
      const ended = failure(await guest.ended);
      assert.ok(
        ended.message.startsWith(
          `guest aborted: nx SDK: the module exports ${callback} but registered no handler: call events.${register} at the top level of the module`,
        ),
        ended.message,
      );
      assert.equal(guest.events.failedIn, callback);
    }
  });
});
