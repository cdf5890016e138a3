import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { ExtendedKvBackend, KvSpanQuery } from "./extended-kv-backend.ts";
import { createGuestStore } from "./guest-store.ts";
import type { KvEntry, KvRangeQuery } from "./kv-backend.ts";
import { openLmdbBackend } from "./lmdb-backend.ts";
import { createMemoryBackend } from "./memory-backend.ts";
import { isReservedKey, reservedKey } from "./reserved-keys.ts";
import { ReservedKeyError, StoreError } from "./store-error.ts";

const bytes = (value: string) => new TextEncoder().encode(value);
const text = (value: Uint8Array | undefined) =>
  value === undefined ? undefined : new TextDecoder().decode(value);
const keysOf = (rows: Iterable<KvEntry>) => [...rows].map(([key]) => text(key));

function isReservedKeyError(error: unknown): boolean {
  return (
    error instanceof ReservedKeyError && error instanceof StoreError && error.code === "STORE_RESERVED_KEY"
  );
}

/** A backend that counts the rows its ranges hand out: what "seek, do not filter" is measured by. */
function countingBackend(inner: ExtendedKvBackend): { backend: ExtendedKvBackend; rowsRead: () => number } {
  let rows = 0;
  const backend: ExtendedKvBackend = Object.create(inner);
  backend.range = (query: KvSpanQuery) => {
    const source = inner.range(query);
    return {
      *[Symbol.iterator]() {
        for (const row of source) {
          rows++;
          yield row;
        }
      },
    };
  };
  return { backend, rowsRead: () => rows };
}

function seeded(): ExtendedKvBackend {
  const backend = createMemoryBackend();
  for (const key of [
    "a",
    "_a",
    "__a",
    "__nx",
    "__nx.",
    "__nx0",
    "__nxz",
    "z",
    "__nx/",
    "__nx/meta",
    "__nx/z/z",
  ]) {
    backend.put(bytes(key), bytes(`v:${key}`));
  }
  return backend;
}

describe("guest store", () => {
  it("refuses every single-key operation on a reserved key and leaves it untouched", () => {
    const backend = seeded();
    const store = createGuestStore(backend);
    const key = bytes("__nx/meta");
    assert.throws(() => store.get(key), isReservedKeyError);
    assert.throws(() => store.set(key, bytes("guest")), isReservedKeyError);
    assert.throws(() => store.delete(key), isReservedKeyError);
    assert.throws(() => store.exists(key), isReservedKeyError);
    assert.equal(text(backend.get(key)), "v:__nx/meta");
  });

  it("serves keys that only look like the namespace", () => {
    const store = createGuestStore(seeded());
    for (const key of ["__nx", "__nx0", "__nx.", "_a"]) {
      assert.equal(text(store.get(bytes(key))), `v:${key}`);
      assert.equal(store.exists(bytes(key)), true);
    }
    store.set(bytes("__nx1"), bytes("mine"));
    assert.equal(text(store.get(bytes("__nx1"))), "mine");
    store.delete(bytes("__nx1"));
    assert.equal(store.exists(bytes("__nx1")), false);
    assert.equal(store.get(bytes("missing")), undefined);
  });

  it("refuses listings of a prefix or after key inside the namespace", () => {
    const store = createGuestStore(seeded());
    for (const prefix of ["__nx/", "__nx/meta", "__nx/z"]) {
      assert.throws(() => store.scan({ prefix: bytes(prefix) }), isReservedKeyError, prefix);
      assert.throws(() => store.keys({ prefix: bytes(prefix), offset: 1 }), isReservedKeyError, prefix);
    }
    assert.throws(() => store.scan({ prefix: bytes(""), after: bytes("__nx/meta") }), isReservedKeyError);
  });

  it("leaves reserved rows out of listings that span the namespace", () => {
    const store = createGuestStore(seeded());
    assert.deepEqual(keysOf(store.scan({ prefix: bytes("") })), [
      "__a",
      "__nx",
      "__nx.",
      "__nx0",
      "__nxz",
      "_a",
      "a",
      "z",
    ]);
    assert.deepEqual(keysOf(store.scan({ prefix: bytes("__nx") })), ["__nx", "__nx.", "__nx0", "__nxz"]);
    assert.deepEqual(keysOf(store.scan({ prefix: bytes("__"), offset: 2, limit: 2 })), ["__nx.", "__nx0"]);
    assert.deepEqual(keysOf(store.scan({ prefix: bytes("__nx"), after: bytes("__nx.") })), [
      "__nx0",
      "__nxz",
    ]);
    assert.deepEqual([...store.keys({ prefix: bytes("_"), offset: 1 })].map(text), [
      "__nx",
      "__nx.",
      "__nx0",
      "__nxz",
      "_a",
    ]);
    assert.deepEqual(
      [...store.scan({ prefix: bytes("__nx0") })].map(([key, value]) => [text(key), text(value)]),
      [["__nx0", "v:__nx0"]],
    );
  });

  it("seeks past the reserved keys instead of reading them", () => {
    const inner = createMemoryBackend();
    for (let i = 0; i < 5000; i++) inner.put(reservedKey(`op/${i}`), bytes("x"));
    for (const key of ["__a", "__b", "__nx0", "__nx1", "a"]) inner.put(bytes(key), bytes("guest"));
    const { backend, rowsRead } = countingBackend(inner);
    const store = createGuestStore(backend);
    assert.deepEqual(keysOf(store.scan({ prefix: bytes(""), limit: 4 })), ["__a", "__b", "__nx0", "__nx1"]);
    assert.deepEqual(keysOf(store.scan({ prefix: bytes("__"), offset: 3 })), ["__nx1"]);
    assert.ok(rowsRead() <= 10, `${rowsRead()} rows read for 5 listed`);
  });

  it("lists like the model (all rows minus the reserved ones) for random stores and queries", () => {
    const keyPart = fc.constantFrom("_", "__nx", "/", "0", "a");
    const key = fc.array(keyPart, { minLength: 1, maxLength: 3 }).map((parts) => parts.join(""));
    const prefix = fc.constantFrom("", "_", "__", "__n", "__nx", "__nx0", "a", "_a");
    fc.assert(
      fc.property(
        fc.uniqueArray(key, { maxLength: 30 }),
        prefix,
        fc.option(key, { nil: undefined }),
        fc.nat(8),
        fc.option(fc.nat(8), { nil: undefined }),
        (keys, prefixText, afterText, offset, limit) => {
          const backend = createMemoryBackend();
          for (const k of keys) backend.put(bytes(k), bytes(k));
          const store = createGuestStore(backend);
          const query: KvRangeQuery = { prefix: bytes(prefixText), offset };
          if (limit !== undefined) query.limit = limit;
          if (afterText !== undefined) query.after = bytes(afterText);
          if (afterText !== undefined && isReservedKey(bytes(afterText))) {
            assert.throws(() => store.scan(query), isReservedKeyError);
            return;
          }
          const expected = keys
            .filter((k) => !k.startsWith("__nx/") && k.startsWith(prefixText))
            .filter((k) => afterText === undefined || Buffer.compare(bytes(k), bytes(afterText)) > 0)
            .sort((a, b) => Buffer.compare(bytes(a), bytes(b)))
            .slice(offset, limit === undefined ? undefined : offset + limit);
          assert.deepEqual(keysOf(store.scan(query)), expected);
          assert.deepEqual([...store.keys(query)].map(text), expected);
        },
      ),
      {
        numRuns: Number(process.env.NX_PROPERTY_RUNS ?? 200),
        seed: Number(process.env.NX_PROPERTY_SEED ?? 5),
      },
    );
  });

  it("works the same over the LMDB backend, with get handing out a borrowed view", async (t) => {
    const root = await mkdtemp(join(tmpdir(), "nx-guest-store-"));
    t.after(() => rm(root, { recursive: true, force: true }));
    const backend = await openLmdbBackend({ path: root });
    t.after(() => backend.close());
    backend.put(reservedKey("hidden"), bytes("runtime"));
    const store = createGuestStore(backend);
    const memory = bytes("##key##value##");
    store.set(memory.subarray(2, 5), memory.subarray(7, 12)); // views of "guest memory"
    memory.fill(0);
    store.set(bytes("__nx0"), bytes("after"));
    assert.equal(text(store.get(bytes("key"))), "value");
    assert.deepEqual(keysOf(store.scan({ prefix: bytes("") })), ["__nx0", "key"]);
    assert.deepEqual(keysOf(store.scan({ prefix: bytes("_"), offset: 0, limit: 1 })), ["__nx0"]);
    assert.throws(() => store.get(reservedKey("hidden")), isReservedKeyError);
  });
});
