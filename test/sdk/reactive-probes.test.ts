/**
 * The guest side of reactive modules without the runtime: the AssemblyScript probe
 * (test/guests/reactive_probe.ts, built with the SDK's `events` module) and its C twin
 * (test/guests/reactive_probe_c.c, built with sdk/c/nx.h) export exactly the contract's
 * callbacks, import the contract's host calls with their exact types, and print the same lines
 * when a stand-in host (event-host-double.ts) delivers the same events. The node side (real
 * ticks, ops from peers, messages across nodes, restarts) is the runtime's end-to-end tests.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { NX_MODULE } from "../../src/wasm/abi/nx-signatures.ts";
import { WASI_MODULE } from "../../src/wasm/abi/wasi-signatures.ts";
import { readImports } from "../../src/wasm/module-imports.ts";
import {
  callbackExportProblems,
  EVENT_CALLBACK_PARAMS,
  EVENT_HOST_CALLS,
  isKnownNxImport,
} from "./event-contract.ts";
import { EventHostDouble, GuestAborted, type HostDoubleOptions } from "./event-host-double.ts";
import { buildGuests, clangCanTargetWasm, REPO, readBytes, wasm } from "./guest-files.ts";

const AS_PROBE = join(REPO, "test/guests/build/reactive_probe.wasm");
const C_PROBE = join(REPO, "test/guests/build/reactive_probe_c.wasm");
const EVENTS_SDK = join(REPO, "sdk/assemblyscript/tests/build/events_sdk.wasm");

const NODE_A = "a".repeat(32);
const NODE_B = "b".repeat(32);
const SELF = "5".repeat(32);
const LONG_PAYLOAD = "x".repeat(5000); // longer than the SDK's first 4 KiB output buffer

function probes(): { name: string; path: string }[] {
  const found = [{ name: "AssemblyScript", path: AS_PROBE }];
  if (clangCanTargetWasm()) found.push({ name: "C", path: C_PROBE });
  return found;
}

function start(path: string, options: HostDoubleOptions = {}): EventHostDouble {
  return new EventHostDouble(readBytes(path), { nodeId: SELF, ...options });
}

/** Every event once, in the order a node could deliver them. */
function deliverEverything(host: EventHostDouble): void {
  host.deliver("init");
  host.deliver("on_tick");
  host.deliver("on_remote_op", { subject: "visits", origin: NODE_A }, 1);
  host.deliver("on_remote_op", { subject: "comments", origin: NODE_B }, 6);
  host.deliver("on_remote_op", { subject: "settings", origin: NODE_A }, 4);
  host.deliver("on_peer_connected", { subject: NODE_B, origin: NODE_B });
  host.deliver("on_message", { subject: "chat/lines", payload: "hello ✓ world", origin: NODE_A });
  host.deliver("on_message", { subject: "chat/empty", payload: "" });
  host.deliver("on_message", { subject: "chat/long", payload: LONG_PAYLOAD, origin: NODE_B });
  host.deliver("on_peer_disconnected", { subject: NODE_B, origin: NODE_B });
  host.deliver("shutdown");
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

/** How long a looping callback must keep running for the loop test. */
const LOOP_OBSERVED_MS = 300;

const LOOP_WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const { readFileSync } = require("node:fs");
import(workerData.double).then(({ EventHostDouble }) => {
  const env = { NX_PROBE_FAIL_IN: "on_tick", NX_PROBE_FAIL_HOW: "loop" };
  const host = new EventHostDouble(new Uint8Array(readFileSync(workerData.path)), { env });
  host.deliver("init");
  parentPort.postMessage("calling on_tick");
  host.deliver("on_tick");
  parentPort.postMessage("on_tick returned");
});
`;

const PROBE_ENV = {
  NX_PROBE_TICK_MS: "50",
  NX_PROBE_SUBSCRIBE: "chat/*",
  NX_PROBE_PUBLISH_TOPIC: "probe/out",
  NX_PROBE_PUBLISH_COUNT: "3",
};

describe("reactive probes against the event-model contract", () => {
  before(() => buildGuests("reactive_probe", "reactive_probe_c", "events_sdk"));

  for (const { name, path } of probes()) {
    test(`${name} probe: exports every callback with its arity, imports only contract functions`, () => {
      const bytes = readBytes(path);
      const exports = wasm.Module.exports(new wasm.Module(bytes)).map((entry) => entry.name);
      assert.deepEqual(exports.sort(), [...EVENT_CALLBACK_PARAMS.keys(), "memory"].sort());
      assert.deepEqual(callbackExportProblems(bytes), []);
      const imports = readImports(bytes).map((entry) => {
        assert.equal(entry.kind, "function");
        if (entry.kind === "function" && entry.module === NX_MODULE) {
          assert.ok(
            isKnownNxImport(entry.name, entry.type),
            `nx.${entry.name} has a type the contract does not declare`,
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
      ]) {
        assert.ok(EVENT_HOST_CALLS.has(call));
        assert.ok(imports.includes(`nx.${call}`), `imports nx.${call}`);
      }
      assert.ok(imports.includes(`${WASI_MODULE}.fd_write`));
    });

    test(`${name} probe: one line per callback, settings applied in init, publishes on every tick`, () => {
      const host = start(path, { env: PROBE_ENV });
      deliverEverything(host);
      assert.deepEqual(host.stdout, EXPECTED_LINES);
      assert.deepEqual(host.tickPeriods, [50]);
      assert.deepEqual(host.subscriptions, ["chat/*"]);
      assert.deepEqual(
        host.published,
        ["1", "2", "3"].map((payload) => ({ topic: "probe/out", payload })),
      );
      assert.deepEqual(
        [...host.counters],
        [
          ["probe/inits", 1n],
          ["probe/shutdowns", 1n],
        ],
      );
    });

    test(`${name} probe: without settings it asks for nothing; without sync it counts nothing`, () => {
      const host = start(path, { nodeId: undefined });
      host.deliver("init");
      host.deliver("shutdown");
      assert.deepEqual(host.stdout, ["init", "shutdown"]);
      assert.deepEqual(
        [host.tickPeriods, host.subscriptions, host.published, [...host.counters]],
        [[], [], [], []],
      );
    });

    test(`${name} probe: NX_PROBE_FAIL_IN traps in that callback, after its line`, () => {
      for (const callback of EVENT_CALLBACK_PARAMS.keys()) {
        const host = start(path, { env: { NX_PROBE_FAIL_IN: callback, NX_PROBE_FAIL_HOW: "trap" } });
        const before = callback === "init" ? [] : ["init"];
        if (callback !== "init") host.deliver("init");
        const event = { subject: NODE_A, payload: "p", origin: NODE_A };
        assert.throws(() => host.deliver(callback, event, 1), /unreachable/);
        assert.equal(host.stdout.length, before.length + 1, `${callback} printed its line before failing`);
      }
    });
  }

  for (const { name, path } of probes()) {
    test(`${name} probe: NX_PROBE_FAIL_HOW=loop spins in the callback and never returns`, async () => {
      // In a worker, so that the test can end a call that never returns.
      const worker = new Worker(LOOP_WORKER, {
        eval: true,
        workerData: { path, double: pathToFileURL(join(import.meta.dirname, "event-host-double.ts")).href },
      });
      try {
        const messages: string[] = [];
        const ended = new Promise<string>((resolve) => {
          worker.on("error", (error: unknown) => resolve(`error: ${String(error)}`));
          worker.on("exit", (code) => resolve(`exit ${code}`));
        });
        const returned = new Promise<string>((resolve) => {
          worker.on("message", (message: string) => {
            messages.push(message);
            if (message !== "calling on_tick") resolve(message);
          });
        });
        const calling = new Promise<void>((resolve) => worker.once("message", () => resolve()));
        await Promise.race([calling, ended]);
        assert.deepEqual(messages, ["calling on_tick"]);
        const spinning = delay(LOOP_OBSERVED_MS).then(() => "still spinning");
        assert.equal(await Promise.race([returned, ended, spinning]), "still spinning");
      } finally {
        await worker.terminate();
      }
    });
  }

  test("both probes print the same lines for the same events", { skip: !clangCanTargetWasm() }, () => {
    const lines = [AS_PROBE, C_PROBE].map((path) => {
      const host = start(path, { env: PROBE_ENV });
      deliverEverything(host);
      return host.stdout;
    });
    assert.deepEqual(lines[1], lines[0]);
  });

  test("SDK: event data longer than the first output buffer is read through the -2 retry", () => {
    const host = start(AS_PROBE);
    host.deliver("init");
    host.deliver("on_message", { subject: "t", payload: LONG_PAYLOAD });
    assert.deepEqual(host.tooSmall, ["event_payload"]);
    assert.equal(host.stdout.at(-1), `message t ${LONG_PAYLOAD} -`);
  });

  test("SDK: a refused tick_every, msg_subscribe or msg_publish aborts naming the call and the reason", () => {
    const cases: [HostDoubleOptions, string, string][] = [
      [
        { env: { NX_PROBE_TICK_MS: "50" }, answers: { tick_every: -1 } },
        "init",
        "nx: events.tickEvery(): ERR_NOT_FOUND (-1): the module exports no on_tick",
      ],
      [
        { env: { NX_PROBE_TICK_MS: "5" } },
        "init",
        "nx: events.tickEvery(): ERR_INTERNAL (-3): 5 ms is below the minimum of 10 ms (0 stops ticks)",
      ],
      [
        { env: { NX_PROBE_SUBSCRIBE: "chat/*" }, answers: { msg_subscribe: -1 } },
        "init",
        'nx: events.subscribe("chat/*"): ERR_NOT_FOUND (-1): the module exports no on_message',
      ],
      [
        {
          env: { NX_PROBE_PUBLISH_TOPIC: "bad topic", NX_PROBE_PUBLISH_COUNT: "1" },
          answers: { msg_publish: -3 },
        },
        "on_tick",
        'nx: events.publish("bad topic"): ERR_INTERNAL (-3): invalid topic (a topic is 1..256 bytes of ASCII letters, digits and _ - . : /) or payload over 64 KiB',
      ],
    ];
    for (const [options, failing, message] of cases) {
      const host = start(AS_PROBE, options);
      if (failing !== "init") host.deliver("init");
      assert.throws(
        () => host.deliver(failing),
        (error: unknown) => error instanceof GuestAborted && error.message === message,
        message,
      );
    }
  });

  test("SDK: readers outside a callback, unsubscribe, byte payloads, family names, the Return policy", () => {
    const host = new EventHostDouble(readBytes(EVENTS_SDK), { nodeId: SELF });
    host.deliver("run");
    assert.deepEqual(host.stdout, ["events sdk: ok (14 checks)"]);
    assert.deepEqual(host.subscriptions, []);
    assert.deepEqual(host.published, [
      { topic: "sdk/bytes", payload: "as bytes" },
      { topic: "sdk/empty", payload: "" },
    ]);
    assert.deepEqual(host.tickPeriods, [0]);
  });

  test("SDK: a re-exported callback without a registered handler aborts naming both", () => {
    const host = new EventHostDouble(readBytes(EVENTS_SDK));
    for (const [callback, register] of [
      ["on_tick", "onTick"],
      ["on_message", "onMessage"],
    ]) {
      assert.throws(
        () => host.deliver(callback!),
        (error: unknown) =>
          error instanceof GuestAborted &&
          error.message ===
            `nx SDK: the module exports ${callback} but registered no handler: call events.${register} at the top level of the module`,
      );
    }
  });
});
