/**
 * Host calls under a module's policy (docs/design/policies.md), one capability at a time, through
 * the real wasm boundary: a denied call answers its code, changes nothing, and writes one audit
 * line naming module, call, capability and key; a granted call works as without a policy.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parsePolicy } from "../../src/policy/module-policy.ts";
import { PolicyAudit } from "../../src/policy/policy-audit.ts";
import { createPolicyEnforcer } from "../../src/policy/policy-enforcer.ts";
import { ERR_INTERNAL, OK } from "../../src/wasm/abi/abi-codes.ts";
import type { ModuleEventPort } from "../../src/wasm/abi/module-event-port.ts";
import { WASI_ENOTCAPABLE, WASI_ESUCCESS } from "../../src/wasm/abi/wasi-errno.ts";
import {
  type Guest,
  type Recorded,
  recordingEnvironment,
  recordingLogger,
  trampolineGuest,
  utf8,
} from "./harness.ts";
import { memoryGuestStore } from "./memory-guest-store.ts";
import { RecordingCrdtHost } from "./recording-crdt-host.ts";

const MODULE = "conformance-guest";
const A = 1024;
const B = 4096;
const OUT = 65536;

async function guestWith(
  capabilities: Record<string, unknown>,
  extra: Parameters<typeof recordingEnvironment>[0] = {},
) {
  const stores = memoryGuestStore();
  const crdt = new RecordingCrdtHost();
  const { env, recorded } = recordingEnvironment({ store: stores.store, crdt, ...extra });
  // No namespace: the policy's globs name the keys the guest passes, as they are.
  env.policy = createPolicyEnforcer(
    parsePolicy({ capabilities }, "guest.policy.toml"),
    new PolicyAudit(MODULE, recordingLogger(recorded.logs), () => 0),
  );
  const published: string[] = [];
  const subscribed: string[] = [];
  const events: ModuleEventPort = {
    current: () => undefined,
    tickEvery: () => OK,
    subscribe: (pattern) => {
      subscribed.push(pattern);
      return OK;
    },
    unsubscribe: () => OK,
    publish: (topic) => {
      published.push(topic);
      return OK;
    },
  };
  env.events = events;
  const guest = await trampolineGuest(env);
  return { guest, recorded, store: stores.store, crdt, published, subscribed };
}

/** Calls `name` with a text argument at A (pointer, length) followed by `rest`. */
function callWith(guest: Guest, name: string, subject: string, ...rest: (number | bigint)[]): unknown {
  const bytes = utf8(subject);
  guest.write(A, bytes);
  return guest.call(name, A, bytes.length, ...rest);
}

function auditLines(recorded: Recorded): { message: string; fields: unknown }[] {
  return recorded.logs
    .filter((line) => line.message.startsWith("policy denied"))
    .map(({ message, fields }) => ({ message, fields }));
}

function assertAudited(recorded: Recorded, call: string, capability: string, key?: string): void {
  const what = key === undefined ? capability : `${capability} ${JSON.stringify(key)}`;
  assert.deepEqual(auditLines(recorded), [
    {
      message: `policy denied ${call}: ${what} is not granted to module ${MODULE}`,
      fields:
        key === undefined ? { module: MODULE, call, capability } : { module: MODULE, call, capability, key },
    },
  ]);
}

describe("host calls under a policy", () => {
  test("db.write: a key outside the globs is -3, nothing is written, one audit line", async () => {
    const { guest, recorded, store } = await guestWith({ db: { write: ["app/*"], read: ["app/*"] } });
    guest.write(B, utf8("v"));
    assert.equal(callWith(guest, "db_set", "app/1", B, 1), OK);
    assert.equal(callWith(guest, "db_set", "other/1", B, 1), ERR_INTERNAL);
    assert.equal(store.get(utf8("other/1")), undefined);
    assert.equal(callWith(guest, "db_delete", "app/1"), OK);
    assertAudited(recorded, "db_set", "db.write", "other/1");
  });

  test("db.read: get, exists and listings outside the globs are -3 and audited", async () => {
    const { guest, recorded, store } = await guestWith({ db: { read: ["app/*"] } });
    store.set(utf8("secret"), utf8("s"));
    assert.equal(callWith(guest, "db_get", "secret", OUT, 64), ERR_INTERNAL);
    assertAudited(recorded, "db_get", "db.read", "secret");
    assert.equal(callWith(guest, "db_exists", "secret"), ERR_INTERNAL);
    // A listing of the whole store is not covered by "app/*"; one of "app/" is.
    assert.equal(callWith(guest, "db_keys", "", 0n, 10, OUT, 1024), ERR_INTERNAL);
    assert.ok((callWith(guest, "db_keys", "app/", 0n, 10, OUT, 1024) as number) >= 4);
    assert.equal(callWith(guest, "db_scan_after", "ap", 0, 0, 10, OUT, 1024), ERR_INTERNAL);
    assert.equal(auditLines(recorded).length, 4);
    // Writing needs db.write even where reading is granted.
    guest.write(B, utf8("v"));
    assert.equal(callWith(guest, "db_set", "app/1", B, 1), ERR_INTERNAL);
  });

  test("crdt.<family>: only the granted family on matching keys; nothing reaches the replica otherwise", async () => {
    const { guest, recorded, crdt } = await guestWith({ crdt: { gcounter: ["visits"] } });
    assert.equal(callWith(guest, "crdt_gcounter_inc", "visits", 1n), OK);
    assert.equal(callWith(guest, "crdt_gcounter_inc", "other", 1n), ERR_INTERNAL);
    assert.equal(callWith(guest, "crdt_pncounter_inc", "visits", 1n), ERR_INTERNAL);
    guest.write(B, utf8("v"));
    assert.equal(callWith(guest, "crdt_lww_set", "visits", B, 1), ERR_INTERNAL);
    assert.deepEqual(
      crdt.calls.map((call) => call.slice(0, 2)),
      [["gcounterInc", "visits"]],
    );
    assert.deepEqual(
      auditLines(recorded).map((line) => line.message),
      [
        `policy denied crdt_gcounter_inc: crdt.gcounter "other" is not granted to module ${MODULE}`,
        `policy denied crdt_pncounter_inc: crdt.pncounter "visits" is not granted to module ${MODULE}`,
        `policy denied crdt_lww_set: crdt.lww-register "visits" is not granted to module ${MODULE}`,
      ],
    );
  });

  test("net.peers: net_peers and net_node_id are -3 without it", async () => {
    const { guest, recorded } = await guestWith({});
    assert.equal(guest.call("net_peers", OUT, 1024), ERR_INTERNAL);
    assertAudited(recorded, "net_peers", "net.peers");
    assert.equal(guest.call("net_node_id", OUT, 1024), ERR_INTERNAL);
    const granted = await guestWith({ net: { peers: true } });
    assert.equal(granted.guest.call("net_node_id", OUT, 1024), 32);
  });

  test("messages.publish / messages.subscribe: topics and patterns outside the globs are -3", async () => {
    const { guest, recorded, published, subscribed } = await guestWith({
      messages: { publish: ["chat/*"], subscribe: ["chat/*"] },
    });
    assert.equal(callWith(guest, "msg_publish", "chat/room", B, 0), OK);
    assert.equal(callWith(guest, "msg_publish", "admin/reset", B, 0), ERR_INTERNAL);
    assert.equal(callWith(guest, "msg_subscribe", "chat/*"), OK);
    assert.equal(callWith(guest, "msg_subscribe", "chat/room"), OK);
    // "*" would receive every topic: no glob covers it.
    assert.equal(callWith(guest, "msg_subscribe", "*"), ERR_INTERNAL);
    assert.deepEqual(published, ["chat/room"]);
    assert.deepEqual(subscribed, ["chat/*", "chat/room"]);
    assert.deepEqual(
      auditLines(recorded).map((line) => line.message),
      [
        `policy denied msg_publish: messages.publish "admin/reset" is not granted to module ${MODULE}`,
        `policy denied msg_subscribe: messages.subscribe "" is not granted to module ${MODULE}`,
      ],
    );
  });

  test("env: env_get of a name outside the globs is -3; WASI environ lists only granted names", async () => {
    const { guest, recorded } = await guestWith(
      { env: ["NX_GREETING"] },
      { env: { NX_GREETING: "hi", NX_SECRET: "s" } },
    );
    assert.equal(callWith(guest, "env_get", "NX_GREETING", OUT, 64), 2);
    assert.equal(callWith(guest, "env_get", "NX_SECRET", OUT, 64), ERR_INTERNAL);
    assertAudited(recorded, "env_get", "env", "NX_SECRET");
    assert.equal(guest.call("environ_sizes_get", A, A + 4), WASI_ESUCCESS);
    assert.equal(guest.u32(A), 1);
    assert.equal(guest.u32(A + 4), "NX_GREETING=hi\0".length);
  });

  test("time: time_now and time_monotonic read 0, WASI clock_time_get is ENOTCAPABLE", async () => {
    const { guest, recorded } = await guestWith({});
    assert.equal(guest.call("time_now"), 0n);
    assertAudited(recorded, "time_now", "time");
    assert.equal(guest.call("time_monotonic"), 0n);
    assert.equal(guest.call("clock_time_get", 0, 1000n, A), WASI_ENOTCAPABLE);
    const granted = await guestWith({ time: true });
    assert.equal(granted.guest.call("time_now"), 1_700_000_000_123n);
  });

  test("random: random_bytes is -3 and fills nothing, WASI random_get is ENOTCAPABLE", async () => {
    const { guest, recorded } = await guestWith({});
    guest.write(A, new Uint8Array(16));
    assert.equal(guest.call("random_bytes", A, 16), ERR_INTERNAL);
    assert.deepEqual(guest.read(A, 16), new Uint8Array(16));
    assertAudited(recorded, "random_bytes", "random");
    assert.equal(guest.call("random_get", A, 16), WASI_ENOTCAPABLE);
  });

  test("the reserved prefix stays -4 and invalid pointers -3 without an audit line", async () => {
    const { guest, recorded } = await guestWith({ db: { read: ["*"] } });
    assert.equal(callWith(guest, "db_get", "__nx/x", OUT, 64), -4);
    assert.equal(guest.call("db_get", -1, 4, OUT, 64), ERR_INTERNAL);
    assert.deepEqual(auditLines(recorded), []);
  });

  test("host_capabilities lists only what the policy grants some of", async () => {
    const names = async (capabilities: Record<string, unknown>): Promise<string[]> => {
      const { guest } = await guestWith(capabilities);
      const n = guest.call("host_capabilities", OUT, 256) as number;
      return new TextDecoder().decode(guest.read(OUT, n)).split("\n");
    };
    assert.deepEqual(await names({}), ["log", "crypto", "event"]);
    assert.deepEqual(
      await names({ db: { write: ["a/*"] }, crdt: { rga: ["x"] }, time: true, env: ["NX_A"] }),
      ["db", "crdt", "log", "time", "crypto", "env", "event"],
    );
    assert.deepEqual(await names({ net: { peers: true }, random: true }), [
      "net",
      "log",
      "random",
      "crypto",
      "event",
    ]);
  });
});
