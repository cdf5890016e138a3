/**
 * Key namespaces (docs/design/policies.md#namespaces) through the real wasm boundary: two modules
 * with policies share one store and one replica; each names its keys relative to its namespace,
 * so a module with a minimal policy cannot read, write, list or touch a CRDT of another module's
 * namespace, and only a shared glob (`/shared/*`) names the same store key for both.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { MAX_KEY_BYTES } from "../../src/crdt/op-codec.ts";
import { moduleNamespace } from "../../src/policy/module-namespace.ts";
import { parsePolicy } from "../../src/policy/module-policy.ts";
import { modulePolicyEnforcer } from "../../src/policy/policy-enforcer.ts";
import type { GuestStore } from "../../src/store/guest-store.ts";
import { ERR_NOT_FOUND, OK } from "../../src/wasm/abi/abi-codes.ts";
import { type Guest, recordingEnvironment, recordingLogger, trampolineGuest, utf8 } from "./harness.ts";
import { memoryGuestStore } from "./memory-guest-store.ts";
import { RecordingCrdtHost } from "./recording-crdt-host.ts";

const PROPERTY_RUNS = { seed: 20_261_206, numRuns: 100 };
const A = 1024;
const B = 4096;
const OUT = 65536;
const text = new TextDecoder();

/** What `nx policy init` writes for a module using the store and counters: its namespace only. */
const MINIMAL = { db: { read: ["*"], write: ["*"] }, crdt: { gcounter: ["*"] } };

async function moduleGuest(
  moduleId: string,
  capabilities: Record<string, unknown>,
  store: GuestStore,
  crdt: RecordingCrdtHost,
) {
  const { env, recorded } = recordingEnvironment({ store, crdt });
  env.moduleId = moduleId;
  const namespace = moduleNamespace(moduleId, parsePolicy({ capabilities }, `${moduleId}.policy.toml`));
  env.namespace = namespace;
  env.policy = modulePolicyEnforcer(moduleId, namespace, recordingLogger(recorded.logs), () => 0);
  const guest = await trampolineGuest(env);
  return { guest, recorded };
}

function callWith(guest: Guest, name: string, subject: string, ...rest: (number | bigint)[]): unknown {
  const bytes = utf8(subject);
  guest.write(A, bytes);
  return guest.call(name, A, bytes.length, ...rest);
}

function set(guest: Guest, key: string, value: string): unknown {
  guest.write(B, utf8(value));
  return callWith(guest, "db_set", key, B, utf8(value).length);
}

function get(guest: Guest, key: string): string | number {
  const length = callWith(guest, "db_get", key, OUT, 1024) as number;
  return length < 0 ? length : text.decode(guest.read(OUT, length));
}

/** The keys of a `db_keys` answer (u32 count, then u32 length and bytes per key). */
function listKeys(guest: Guest, prefix: string): string[] {
  const answer = callWith(guest, "db_keys", prefix, 0n, 100, OUT, 8192) as number;
  assert.ok(answer >= 4, `db_keys answered ${answer}`);
  const keys: string[] = [];
  let at = OUT + 4;
  for (let i = 0; i < guest.u32(OUT); i++) {
    const length = guest.u32(at);
    keys.push(text.decode(guest.read(at + 4, length)));
    at += 4 + length;
  }
  return keys;
}

function storeKeys(store: GuestStore): string[] {
  return [...store.keys({ prefix: new Uint8Array(0), limit: 1000 })].map((key) => text.decode(key));
}

describe("key namespaces", () => {
  test("a module's keys are stored under <id>/ and another module with a minimal policy cannot reach them", async () => {
    const { store } = memoryGuestStore();
    const crdt = new RecordingCrdtHost();
    const alpha = await moduleGuest("alpha", MINIMAL, store, crdt);
    const beta = await moduleGuest("beta", MINIMAL, store, crdt);
    assert.equal(set(alpha.guest, "count", "7"), OK);
    assert.equal(set(alpha.guest, "users/ann", "a"), OK);
    assert.deepEqual(storeKeys(store), ["alpha/count", "alpha/users/ann"]);
    // The same names in beta are beta's keys; alpha's store keys, named in full, are too.
    assert.equal(get(beta.guest, "count"), ERR_NOT_FOUND);
    assert.equal(get(beta.guest, "alpha/count"), ERR_NOT_FOUND);
    assert.equal(callWith(beta.guest, "db_exists", "alpha/count"), 0);
    assert.deepEqual(listKeys(beta.guest, ""), []);
    assert.deepEqual(listKeys(beta.guest, "alpha/"), []);
    assert.equal(callWith(beta.guest, "db_delete", "alpha/count"), OK);
    assert.equal(set(beta.guest, "alpha/count", "666"), OK);
    assert.equal(get(alpha.guest, "count"), "7");
    assert.deepEqual(storeKeys(store), ["alpha/count", "alpha/users/ann", "beta/alpha/count"]);
    // Each module lists its own keys, named as it wrote them.
    assert.deepEqual(listKeys(alpha.guest, ""), ["count", "users/ann"]);
    assert.deepEqual(listKeys(alpha.guest, "users/"), ["users/ann"]);
    assert.deepEqual(listKeys(beta.guest, ""), ["alpha/count"]);
    // CRDTs: the same key names two counters.
    assert.equal(callWith(alpha.guest, "crdt_gcounter_inc", "visits", 2n), OK);
    assert.equal(callWith(beta.guest, "crdt_gcounter_inc", "visits", 5n), OK);
    assert.equal(callWith(beta.guest, "crdt_gcounter_inc", "alpha/visits", 5n), OK);
    assert.deepEqual(
      [...crdt.counters],
      [
        ["alpha/visits", 2n],
        ["beta/visits", 5n],
        ["beta/alpha/visits", 5n],
      ],
    );
    // Nothing was denied: a minimal policy cannot even name another namespace.
    assert.deepEqual(
      beta.recorded.logs.filter((line) => line.message.startsWith("policy denied")),
      [],
    );
  });

  test("a shared glob (/shared/*) names the same store key for every module that grants it", async () => {
    const { store } = memoryGuestStore();
    const crdt = new RecordingCrdtHost();
    const shared = {
      db: { read: ["*", "/shared/*"], write: ["*", "/shared/*"] },
      crdt: { gcounter: ["/total"] },
    };
    const alpha = await moduleGuest("alpha", shared, store, crdt);
    const beta = await moduleGuest("beta", { ...shared, db: { read: ["/shared/*"] } }, store, crdt);
    assert.equal(set(alpha.guest, "shared/config", "on"), OK);
    assert.equal(set(alpha.guest, "own", "x"), OK);
    assert.deepEqual(storeKeys(store), ["alpha/own", "shared/config"]);
    assert.equal(get(beta.guest, "shared/config"), "on");
    assert.deepEqual(listKeys(beta.guest, "shared/"), ["shared/config"]);
    // Beta reads the shared keys and may not write them: denied, nothing written, audited.
    assert.equal(set(beta.guest, "shared/config", "off"), -3);
    assert.equal(get(alpha.guest, "shared/config"), "on");
    assert.match(
      beta.recorded.logs.at(-1)!.message,
      /^policy denied db_set: db.write "shared\/config" is not granted to module beta$/,
    );
    assert.equal(callWith(alpha.guest, "crdt_gcounter_inc", "total", 1n), OK);
    assert.equal(callWith(beta.guest, "crdt_gcounter_inc", "total", 1n), OK);
    assert.deepEqual([...crdt.counters], [["total", 2n]]);
  });

  test("a CRDT key and its namespace's prefix fit the op's key bound together (1024 bytes)", async () => {
    const crdt = new RecordingCrdtHost();
    const alpha = await moduleGuest("alpha", MINIMAL, memoryGuestStore().store, crdt);
    const fits = "k".repeat(MAX_KEY_BYTES - "alpha/".length);
    assert.equal(callWith(alpha.guest, "crdt_gcounter_inc", fits, 1n), OK);
    // One byte more makes an op no replica decodes, the node's own op-log at its next start
    // included: refused (-3) like a key that is too long.
    assert.equal(callWith(alpha.guest, "crdt_gcounter_inc", `${fits}k`, 1n), -3);
    assert.deepEqual([...crdt.counters.keys()], [`alpha/${fits}`]);
  });

  test("a CRDT key reaches the replica as decoding it, then mapping its text, would name it (property)", async () => {
    // The host maps a namespaced key's bytes and decodes the store key once; the reference
    // decodes the guest's key (dropping a leading byte order mark, refusing invalid UTF-8), then
    // puts the namespace's prefix before it unless a shared glob matches it.
    const strict = new TextDecoder("utf-8", { fatal: true });
    const piece = fc.constantFrom<readonly number[]>(
      [0x61],
      [0x73, 0x2f],
      [0x2f],
      [0xc3, 0xa9],
      [0xef, 0xbb, 0xbf],
      [0xff],
      [0xc3],
    );
    const keyBytes = fc.oneof(
      fc.array(piece, { maxLength: 6 }).map((pieces) => Uint8Array.from(pieces.flat())),
      fc.nat(8).map((extra) => new Uint8Array(MAX_KEY_BYTES - "alpha/".length - 4 + extra).fill(0x61)),
    );
    const crdt = new RecordingCrdtHost();
    const alpha = await moduleGuest(
      "alpha",
      { crdt: { gcounter: ["*", "/s/*"] } },
      memoryGuestStore().store,
      crdt,
    );
    fc.assert(
      fc.property(keyBytes, (bytes) => {
        let expected: string | undefined;
        try {
          const guestKey = strict.decode(bytes);
          const stored = guestKey.startsWith("s/") ? guestKey : `alpha/${guestKey}`;
          if (bytes.length > 0 && utf8(stored).length <= MAX_KEY_BYTES) expected = stored;
        } catch {
          expected = undefined;
        }
        const before = new Map(crdt.counters);
        alpha.guest.write(A, bytes);
        const result = alpha.guest.call("crdt_gcounter_inc", A, bytes.length, 1n);
        assert.equal(result, expected === undefined ? -3 : OK);
        const changed = [...crdt.counters].filter(([key, value]) => before.get(key) !== value);
        assert.deepEqual(
          changed.map(([key]) => key),
          expected === undefined ? [] : [expected],
        );
      }),
      PROPERTY_RUNS,
    );
  });

  test("the reserved prefix stays -4 in a namespace", async () => {
    const { store } = memoryGuestStore();
    const alpha = await moduleGuest(
      "alpha",
      { db: { read: ["*", "/__nx/*"] } },
      store,
      new RecordingCrdtHost(),
    );
    assert.equal(callWith(alpha.guest, "db_get", "__nx/sync/seq", OUT, 64), -4);
  });

  test("under a minimal policy the reserved prefix is -4, not a policy denial", async () => {
    const { store } = memoryGuestStore();
    const alpha = await moduleGuest("alpha", MINIMAL, store, new RecordingCrdtHost());
    assert.equal(set(alpha.guest, "__nx/x", "v"), -4);
    assert.equal(callWith(alpha.guest, "db_get", "__nx/x", OUT, 64), -4);
    assert.equal(callWith(alpha.guest, "db_delete", "__nx/x"), -4);
    assert.equal(callWith(alpha.guest, "db_exists", "__nx/x"), -4);
    assert.equal(callWith(alpha.guest, "db_keys", "__nx/", 0n, 10, OUT, 64), -4);
    assert.equal(callWith(alpha.guest, "db_scan", "__nx/sync", 0n, 10, OUT, 64), -4);
    assert.deepEqual(
      alpha.recorded.logs.filter((line) => line.message.startsWith("policy denied")),
      [],
    );
    assert.deepEqual(storeKeys(store), []);
  });

  test("property: whatever keys a minimal-policy module names, it touches only store keys under <id>/", async () => {
    const { store } = memoryGuestStore();
    const crdt = new RecordingCrdtHost();
    const alpha = await moduleGuest("alpha", MINIMAL, store, crdt);
    const beta = await moduleGuest("beta", MINIMAL, store, crdt);
    assert.equal(set(alpha.guest, "secret", "s"), OK);
    assert.equal(callWith(alpha.guest, "crdt_gcounter_inc", "secret", 1n), OK);
    const key = fc
      .array(fc.constantFrom("a", "/", "*", "_", "alpha", "beta", "..", "secret", "__nx"), {
        minLength: 1,
        maxLength: 6,
      })
      .map((parts) => parts.join(""));
    const call = fc.oneof(
      fc.record({ op: fc.constant("set" as const), key }),
      fc.record({ op: fc.constant("get" as const), key }),
      fc.record({ op: fc.constant("delete" as const), key }),
      fc.record({ op: fc.constant("list" as const), key: fc.constantFrom("", "a", "alpha/", "/", "__") }),
      fc.record({ op: fc.constant("inc" as const), key }),
    );
    fc.assert(
      fc.property(fc.array(call, { maxLength: 20 }), (calls) => {
        for (const { op, key: name } of calls) {
          if (op === "set") set(beta.guest, name, "b");
          else if (op === "get") assert.ok(get(beta.guest, name) !== "s");
          else if (op === "delete") callWith(beta.guest, "db_delete", name);
          else if (op === "list") {
            const answer = callWith(beta.guest, "db_keys", name, 0n, 100, OUT, 8192) as number;
            if (answer >= 4) assert.equal(beta.guest.u32(OUT), countOwn(store, "beta/", name));
          } else callWith(beta.guest, "crdt_gcounter_inc", name, 1n);
        }
        assert.ok(
          storeKeys(store).every((stored) => stored === "alpha/secret" || stored.startsWith("beta/")),
        );
        assert.equal(get(alpha.guest, "secret"), "s");
        assert.equal(crdt.counters.get("alpha/secret"), 1n);
        for (const [counter] of crdt.counters)
          assert.ok(counter === "alpha/secret" || counter.startsWith("beta/"));
      }),
      PROPERTY_RUNS,
    );
  });
});

/** How many store keys start with `<namespace><prefix>`: what a listing in the namespace shows. */
function countOwn(store: GuestStore, namespace: string, prefix: string): number {
  return storeKeys(store).filter((key) => key.startsWith(`${namespace}${prefix}`)).length;
}
