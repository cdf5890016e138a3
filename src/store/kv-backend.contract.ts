import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import fc from "fast-check";
import type { ExtendedKvBackend, KvSpanQuery } from "./extended-kv-backend.ts";
import { KEY_BYTES_MAX } from "./key-bytes.ts";
import type { KvEntry } from "./kv-backend.ts";
import { StoreError, type StoreErrorCode } from "./store-error.ts";

/** A fresh, empty backend for one test, and how to dispose of it. */
export interface KvBackendFixture {
  backend: ExtendedKvBackend;
  /** Closes the backend if still open and removes whatever it left (temp directories). */
  cleanup(): Promise<void>;
  /** For persistent backends: opens the same store again once `backend` has been closed. */
  reopen?: () => Promise<ExtendedKvBackend>;
}

/**
 * The KvBackend contract (kv-backend.ts, extended-kv-backend.ts), run by every implementation;
 * `persistent` adds the close-and-reopen checks (the fixture must then offer `reopen`):
 *
 * @example
 * describeKvBackendContract("memory", async () => ({ backend: createMemoryBackend(), cleanup: async () => {} }));
 *
 * The model-based property test runs NX_PROPERTY_RUNS sequences (default 25) from seed
 * NX_PROPERTY_SEED (default fixed); fast-check prints the seed and path of a failure to replay it.
 */
export function describeKvBackendContract(
  name: string,
  open: () => Promise<KvBackendFixture>,
  options: { persistent: boolean } = { persistent: false },
): void {
  /** Runs `body` against a fresh fixture and always cleans it up. */
  async function withBackend(body: (fixture: KvBackendFixture) => Promise<void> | void): Promise<void> {
    const fixture = await open();
    try {
      await body(fixture);
    } finally {
      await fixture.cleanup();
    }
  }

  describe(`KvBackend contract: ${name}`, () => {
    it("gets, puts, overwrites, deletes and answers has", () =>
      withBackend(({ backend }) => {
        assert.equal(backend.get(b("k")), undefined);
        assert.equal(backend.has(b("k")), false);
        backend.put(b("k"), b("one"));
        assert.deepEqual(text(backend.get(b("k"))), "one");
        assert.equal(backend.has(b("k")), true);
        backend.put(b("k"), b("two"));
        assert.deepEqual(text(backend.get(b("k"))), "two");
        backend.delete(b("k"));
        assert.equal(backend.get(b("k")), undefined);
        assert.equal(backend.has(b("k")), false);
        backend.delete(b("k")); // absent: a no-op
        backend.delete(b("never"));
        assert.equal(backend.has(b("never")), false);
      }));

    it("stores empty values, distinct from absent ones", () =>
      withBackend(({ backend }) => {
        backend.put(b("empty"), new Uint8Array(0));
        assert.equal(backend.has(b("empty")), true);
        assert.equal(backend.get(b("empty"))?.length, 0);
        assert.equal(backend.getView(b("empty"))?.length, 0);
      }));

    it("copies keys and values in and out", () =>
      withBackend(({ backend }) => {
        const key = b("key");
        const value = b("value");
        backend.put(key, value);
        key[0] = 0x7a;
        value[0] = 0x7a;
        const read = backend.get(b("key"))!;
        assert.equal(text(read), "value");
        read[0] = 0x7a;
        assert.equal(text(backend.get(b("key"))), "value");
        const [[rowKey, rowValue]] = [...backend.range({ prefix: b("k") })];
        rowKey![0] = 0x7a;
        rowValue![0] = 0x7a;
        assert.equal(text(backend.get(b("key"))), "value");
      }));

    it("accepts views into larger buffers and reads a view equal to get", () =>
      withBackend(({ backend }) => {
        const memory = b("..key..value..");
        backend.put(memory.subarray(2, 5), memory.subarray(7, 12));
        assert.equal(text(backend.get(memory.subarray(2, 5))), "value");
        assert.equal(text(backend.getView(b("key"))), "value");
        assert.equal(backend.getView(b("nope")), undefined);
        const big = new Uint8Array(200_000).fill(7);
        backend.put(b("big"), big);
        assert.ok(sameBytes(backend.getView(b("big")), big));
        assert.ok(sameBytes(backend.get(b("big")), big));
        const kept = backend.getView(b("key"))!.slice(); // slice() copies: the view may be reused
        backend.getView(b("big"));
        assert.equal(text(kept), "value");
      }));

    it("refuses keys it can never store, and never finds them", () =>
      withBackend(({ backend }) => {
        assertStoreError(() => backend.put(new Uint8Array(0), b("v")), "STORE_KEY_INVALID");
        assertStoreError(() => backend.put(new Uint8Array(KEY_BYTES_MAX + 1), b("v")), "STORE_KEY_INVALID");
        const longest = new Uint8Array(KEY_BYTES_MAX).fill(0x61);
        backend.put(longest, b("v"));
        assert.equal(text(backend.get(longest)), "v");
        assert.equal(backend.get(new Uint8Array(0)), undefined);
        assert.equal(backend.has(new Uint8Array(KEY_BYTES_MAX + 1)), false);
        backend.delete(new Uint8Array(0));
        assertStoreError(
          () => [...backend.range({ prefix: b(""), after: new Uint8Array(KEY_BYTES_MAX + 1) })],
          "STORE_KEY_INVALID",
        );
        assert.deepEqual([...backend.range({ prefix: new Uint8Array(KEY_BYTES_MAX + 1).fill(0x61) })], []);
      }));

    it("lists keys in unsigned byte order, 0x00 and 0xff included", () =>
      withBackend(({ backend }) => {
        const keys = [
          [0xff, 0xff],
          [0x00],
          [0x61, 0x00],
          [0x80],
          [0xff],
          [0x00, 0x00],
          [0x7f],
          [0x61],
          [0xff, 0x00],
          [0x01],
          [0x61, 0x62],
        ];
        for (const key of keys) backend.put(Uint8Array.from(key), Uint8Array.from(key));
        const listed = [...backend.range({ prefix: new Uint8Array(0) })].map(([key]) => hex(key));
        const expected = keys.map((key) => hex(Uint8Array.from(key))).sort();
        assert.deepEqual(listed, expected);
        assert.deepEqual(
          [...backend.range({ prefix: Uint8Array.of(0xff) })].map(([key]) => hex(key)),
          ["ff", "ff00", "ffff"],
        );
        assert.deepEqual(
          [...backend.range({ prefix: Uint8Array.of(0x00) })].map(([key]) => hex(key)),
          ["00", "0000"],
        );
        assert.deepEqual(
          [...backend.range({ prefix: Uint8Array.of(0x61) })].map(([key, value]) => [hex(key), hex(value)]),
          [
            ["61", "61"],
            ["6100", "6100"],
            ["6162", "6162"],
          ],
        );
      }));

    it("combines prefix, after, from, before, offset, limit and keysOnly like the model", () =>
      withBackend(({ backend }) => {
        const keys = ["00", "0000", "01", "61", "6100", "6161", "616100", "6162", "62", "ff", "ff00", "ffff"];
        for (const key of keys) backend.put(unhex(key), unhex(`${key}ee`));
        const model = new Map(keys.map((key) => [key, `${key}ee`]));
        const bounds = [undefined, "", "00", "61", "6161", "6200", "ff", "ffff00"];
        for (const prefix of ["", "00", "61", "6161", "ff", "ffff", "63"]) {
          for (const after of bounds) {
            for (const from of [undefined, "6161"]) {
              for (const before of [undefined, "6162", "ff"]) {
                for (const offset of [undefined, 0, 1, 3, 50]) {
                  for (const limit of [undefined, 0, 1, 2, 1000]) {
                    const query = spanQuery({ prefix, after, from, before, offset, limit });
                    const label = JSON.stringify({ prefix, after, from, before, offset, limit });
                    assert.deepEqual(rowsHex(backend.range(query)), modelRange(model, query), label);
                  }
                }
              }
            }
          }
        }
        assert.deepEqual(
          [...backend.range({ prefix: unhex("61"), keysOnly: true })].map(([key, value]) => [
            hex(key),
            value.length,
          ]),
          [
            ["61", 0],
            ["6100", 0],
            ["6161", 0],
            ["616100", 0],
            ["6162", 0],
          ],
        );
      }));

    it("lists large ranges completely and in order, across offsets and limits", () =>
      withBackend(({ backend }) => {
        const count = 700;
        for (let i = 0; i < count; i++) backend.put(b(`row/${String(i).padStart(4, "0")}`), b(String(i)));
        const all = [...backend.range({ prefix: b("row/") })].map(([, value]) => Number(text(value)));
        assert.deepEqual(all, [...Array(count).keys()]);
        const window = [...backend.range({ prefix: b("row/"), offset: 250, limit: 300 })].map(([, v]) =>
          Number(text(v)),
        );
        assert.deepEqual(
          window,
          [...Array(300).keys()].map((i) => i + 250),
        );
        const tail = [...backend.range({ prefix: b("row/"), after: b("row/0600"), offset: 10 })].map(
          ([, v]) => Number(text(v)),
        );
        assert.deepEqual(
          tail,
          [...Array(89).keys()].map((i) => i + 611),
        );
      }));

    it("keeps iterating sanely while the store is written and committed between rows", () =>
      withBackend(async ({ backend }) => {
        for (let i = 0; i < 600; i += 2) backend.put(b(`it/${String(i).padStart(4, "0")}`), b("x"));
        const seen: string[] = [];
        let i = 0;
        for (const [key] of backend.range({ prefix: b("it/") })) {
          seen.push(text(key));
          backend.put(b(`it/${String(i * 2 + 1).padStart(4, "0")}`), b("y"));
          backend.delete(b("it/0000"));
          if (i % 100 === 0) {
            await nextTurn();
            await backend.flushed();
          }
          i++;
        }
        const sorted = [...seen].sort();
        assert.deepEqual(seen, sorted, "rows stay in key order");
        assert.equal(new Set(seen).size, seen.length, "no row twice");
        assert.ok(seen.length >= 300, `every row present at the start is listed (${seen.length})`);
      }));

    it("applies a batch as one unit, and none of it when the batch throws", () =>
      withBackend(async ({ backend }) => {
        backend.put(b("keep"), b("old"));
        backend.put(b("gone"), b("old"));
        backend.batch(() => {
          backend.put(b("x"), b("1"));
          backend.put(b("y"), b("2"));
          backend.delete(b("gone"));
        });
        assert.equal(text(backend.get(b("x"))), "1");
        assert.equal(backend.has(b("gone")), false);

        assert.throws(
          () =>
            backend.batch(() => {
              backend.put(b("keep"), b("new"));
              backend.put(b("z"), b("3"));
              backend.delete(b("x"));
              throw new Error("half way");
            }),
          /half way/,
        );
        const check = (): void => {
          assert.equal(text(backend.get(b("keep"))), "old");
          assert.equal(backend.has(b("z")), false);
          assert.equal(text(backend.get(b("x"))), "1");
          assert.deepEqual(rowsHex(backend.range({ prefix: b("z") })), []);
        };
        check();
        await backend.flushed();
        check();
      }));

    it("writeAll writes its puts and deletes as one batch, and none of them when a key is bad", () =>
      withBackend(async ({ backend }) => {
        backend.put(b("gone"), b("old"));
        const value = b("1");
        backend.writeAll([
          [b("x"), value],
          [b("gone"), undefined],
          [b("x"), b("2")],
          [new Uint8Array(0), undefined],
        ]);
        value.fill(0x7a);
        assert.equal(text(backend.get(b("x"))), "2");
        assert.equal(backend.has(b("gone")), false);
        assertStoreError(
          () =>
            backend.writeAll([
              [b("y"), b("3")],
              [new Uint8Array(KEY_BYTES_MAX + 1), b("v")],
            ]),
          "STORE_KEY_INVALID",
        );
        assert.equal(backend.has(b("y")), false);
        backend.batch(() => {
          backend.writeAll([[b("inner"), b("4")]]);
          assert.equal(text(backend.get(b("inner"))), "4");
        });
        await backend.flushed();
        assert.deepEqual(
          rowsHex(backend.range({ prefix: b("") })),
          rowsHex([
            [b("inner"), b("4")],
            [b("x"), b("2")],
          ]),
        );
      }));

    it("rolls back only the inner batch when a nested batch throws and the outer one goes on", () =>
      withBackend(async ({ backend }) => {
        backend.batch(() => {
          backend.put(b("outer"), b("1"));
          assert.throws(() =>
            backend.batch(() => {
              backend.put(b("inner"), b("2"));
              backend.put(b("outer"), b("overwritten"));
              throw new Error("inner");
            }),
          );
          backend.put(b("after"), b("3"));
        });
        await backend.flushed();
        assert.equal(text(backend.get(b("outer"))), "1");
        assert.equal(backend.has(b("inner")), false);
        assert.equal(text(backend.get(b("after"))), "3");
      }));

    it("refuses an async batch callback and applies none of its synchronous writes", () =>
      withBackend(async ({ backend }) => {
        assertStoreError(
          () =>
            backend.batch((async () => {
              backend.put(b("early"), b("1"));
            }) as () => void),
          "STORE_BATCH_ASYNC",
        );
        assert.equal(backend.has(b("early")), false);
        await backend.flushed();
        assert.equal(backend.has(b("early")), false);
      }));

    it("shows every write at once, before and after its commit", () =>
      withBackend(async ({ backend }) => {
        backend.put(b("v/1"), b("a"));
        backend.put(b("v/2"), b("b"));
        backend.delete(b("v/2"));
        backend.put(b("v/3"), b("c"));
        const check = (): void => {
          assert.equal(text(backend.get(b("v/1"))), "a");
          assert.equal(backend.has(b("v/2")), false);
          assert.deepEqual(
            [...backend.range({ prefix: b("v/") })].map(([key]) => text(key)),
            ["v/1", "v/3"],
          );
        };
        check();
        await nextTurn(); // the automatic group commit
        check();
        backend.put(b("w/4"), b("d"));
        assert.equal(text(backend.get(b("w/4"))), "d");
        await backend.flushed();
        check();
        assert.equal(text(backend.get(b("w/4"))), "d");
      }));

    it("resolves a flushed() issued inside a batch once the batch is committed", () =>
      withBackend(async ({ backend }) => {
        let inner: Promise<void> | undefined;
        backend.batch(() => {
          backend.put(b("f"), b("1"));
          inner = backend.flushed();
        });
        await inner;
        assert.equal(text(backend.get(b("f"))), "1");
      }));

    it("grows its size with its contents", () =>
      withBackend(async ({ backend }) => {
        const before = backend.sizeBytes();
        for (let i = 0; i < 200; i++) backend.put(b(`size/${i}`), new Uint8Array(1000));
        await backend.flushed();
        assert.ok(backend.sizeBytes() >= before + 200_000, `${backend.sizeBytes()} vs ${before}`);
      }));

    it("throws STORE_CLOSED on any use after close, and closes twice quietly", () =>
      withBackend(async ({ backend }) => {
        backend.put(b("k"), b("v"));
        await backend.close();
        await backend.close();
        assertStoreError(() => backend.get(b("k")), "STORE_CLOSED");
        assertStoreError(() => backend.getView(b("k")), "STORE_CLOSED");
        assertStoreError(() => backend.has(b("k")), "STORE_CLOSED");
        assertStoreError(() => backend.put(b("k"), b("v")), "STORE_CLOSED");
        assertStoreError(() => backend.delete(b("k")), "STORE_CLOSED");
        assertStoreError(() => backend.batch(() => {}), "STORE_CLOSED");
        assertStoreError(() => backend.range({ prefix: b("") }), "STORE_CLOSED");
        assertStoreError(() => backend.sizeBytes(), "STORE_CLOSED");
        await assert.rejects(backend.flushed(), (error) => isStoreError(error, "STORE_CLOSED"));
      }));

    it("stops a range iterated past close", () =>
      withBackend(async ({ backend }) => {
        for (let i = 0; i < 600; i++) backend.put(b(`c/${String(i).padStart(3, "0")}`), b("v"));
        const rows = backend.range({ prefix: b("c/") })[Symbol.iterator]();
        assert.equal(rows.next().done, false);
        await backend.close();
        assert.throws(
          () => {
            for (let step = rows.next(); !step.done; step = rows.next());
          },
          (error) => isStoreError(error, "STORE_CLOSED"),
        );
      }));

    if (options.persistent) {
      it("keeps everything across close and reopen", async (t) => {
        const fixture = await open();
        t.after(() => fixture.cleanup());
        assert.ok(fixture.reopen, "a persistent backend's fixture can reopen its store");
        const { backend } = fixture;
        backend.put(b("durable"), b("flushed"));
        await backend.flushed();
        backend.put(b("closed"), b("written just before close"));
        backend.batch(() => backend.put(b("batched"), Uint8Array.of(0, 0xff)));
        await backend.close();
        const again = await fixture.reopen();
        t.after(() => again.close());
        assert.equal(text(again.get(b("durable"))), "flushed");
        assert.equal(text(again.get(b("closed"))), "written just before close");
        assert.ok(sameBytes(again.get(b("batched")), Uint8Array.of(0, 0xff)));
        assert.deepEqual(
          [...again.range({ prefix: b("") })].map(([key]) => text(key)),
          ["batched", "closed", "durable"],
        );
      });
    }

    it("agrees with a simple model under random operation sequences (property)", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(operationArbitrary, { minLength: 1, maxLength: 40 }),
          async (operations) => {
            const fixture = await open();
            try {
              await runAgainstModel(fixture.backend, operations);
            } finally {
              await fixture.cleanup();
            }
          },
        ),
        {
          numRuns: Number(process.env.NX_PROPERTY_RUNS ?? 25),
          seed: Number(process.env.NX_PROPERTY_SEED ?? 20_260_402),
        },
      );
    });
  });
}

// --- the model and the random operations --------------------------------------------------------

type Write = { type: "put"; key: string; value: string } | { type: "delete"; key: string };

type Operation =
  | Write
  | { type: "batch"; writes: Write[]; fails: boolean }
  | { type: "flush" }
  | { type: "nextTurn" }
  | { type: "get"; key: string }
  | { type: "range"; query: HexQuery };

interface HexQuery {
  prefix: string;
  after?: string | undefined;
  from?: string | undefined;
  before?: string | undefined;
  offset?: number | undefined;
  limit?: number | undefined;
}

/** A few byte values, the extremes included, so that keys collide, nest and share prefixes. */
const keyByte = fc.constantFrom("00", "01", "61", "62", "fe", "ff");
const keyHex = fc.array(keyByte, { minLength: 1, maxLength: 3 }).map((parts) => parts.join(""));
const prefixHex = fc.array(keyByte, { minLength: 0, maxLength: 2 }).map((parts) => parts.join(""));
const valueHex = fc.uint8Array({ minLength: 0, maxLength: 6 }).map(hex);

const writeArbitrary: fc.Arbitrary<Write> = fc.oneof(
  fc.record({ type: fc.constant("put" as const), key: keyHex, value: valueHex }),
  fc.record({ type: fc.constant("delete" as const), key: keyHex }),
);

const operationArbitrary: fc.Arbitrary<Operation> = fc.oneof(
  { arbitrary: writeArbitrary, weight: 6 },
  {
    arbitrary: fc.record({
      type: fc.constant("batch" as const),
      writes: fc.array(writeArbitrary, { maxLength: 5 }),
      fails: fc.boolean(),
    }),
    weight: 2,
  },
  { arbitrary: fc.constant({ type: "flush" as const }), weight: 1 },
  { arbitrary: fc.constant({ type: "nextTurn" as const }), weight: 1 },
  { arbitrary: fc.record({ type: fc.constant("get" as const), key: keyHex }), weight: 2 },
  {
    arbitrary: fc.record({
      type: fc.constant("range" as const),
      query: fc.record({
        prefix: prefixHex,
        after: fc.option(keyHex, { nil: undefined }),
        from: fc.option(keyHex, { nil: undefined }),
        before: fc.option(keyHex, { nil: undefined }),
        offset: fc.option(fc.nat(6), { nil: undefined }),
        limit: fc.option(fc.nat(6), { nil: undefined }),
      }),
    }),
    weight: 3,
  },
);

async function runAgainstModel(backend: ExtendedKvBackend, operations: Operation[]): Promise<void> {
  const model = new Map<string, string>();
  const apply = (write: Write, target: Map<string, string>): void => {
    if (write.type === "put") target.set(write.key, write.value);
    else target.delete(write.key);
  };
  const issue = (write: Write): void => {
    if (write.type === "put") backend.put(unhex(write.key), unhex(write.value));
    else backend.delete(unhex(write.key));
  };
  for (const operation of operations) {
    switch (operation.type) {
      case "put":
      case "delete":
        issue(operation);
        apply(operation, model);
        break;
      case "batch": {
        const failure = new Error("batch fails on purpose");
        try {
          backend.batch(() => {
            for (const write of operation.writes) issue(write);
            if (operation.fails) throw failure;
          });
        } catch (error) {
          assert.equal(error, failure);
        }
        if (!operation.fails) for (const write of operation.writes) apply(write, model);
        break;
      }
      case "flush":
        await backend.flushed();
        break;
      case "nextTurn":
        await nextTurn();
        break;
      case "get":
        assert.equal(
          hexOrUndefined(backend.get(unhex(operation.key))),
          model.get(operation.key),
          `get ${operation.key}`,
        );
        assert.equal(backend.has(unhex(operation.key)), model.has(operation.key));
        break;
      case "range": {
        const query = spanQuery(operation.query);
        assert.deepEqual(
          rowsHex(backend.range(query)),
          modelRange(model, query),
          JSON.stringify(operation.query),
        );
        break;
      }
    }
  }
  assert.deepEqual(
    rowsHex(backend.range({ prefix: new Uint8Array(0) })),
    modelRange(model, { prefix: new Uint8Array(0) }),
  );
}

/**
 * The range semantics written as plainly as possible, over hex strings (whose order is the
 * bytes' order): filter, sort, slice.
 */
function modelRange(model: Map<string, string>, query: KvSpanQuery): [string, string][] {
  const prefix = hex(query.prefix);
  const after = query.after === undefined ? undefined : hex(query.after);
  const from = query.from === undefined ? undefined : hex(query.from);
  const before = query.before === undefined ? undefined : hex(query.before);
  const rows = [...model.entries()]
    .filter(([key]) => key.startsWith(prefix))
    .filter(([key]) => after === undefined || key > after)
    .filter(([key]) => from === undefined || key >= from)
    .filter(([key]) => before === undefined || key < before)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const offset = query.offset ?? 0;
  return rows.slice(offset, query.limit === undefined ? undefined : offset + query.limit);
}

function spanQuery(query: HexQuery): KvSpanQuery {
  const span: KvSpanQuery = { prefix: unhex(query.prefix) };
  if (query.after !== undefined) span.after = unhex(query.after);
  if (query.from !== undefined) span.from = unhex(query.from);
  if (query.before !== undefined) span.before = unhex(query.before);
  if (query.offset !== undefined) span.offset = query.offset;
  if (query.limit !== undefined) span.limit = query.limit;
  return span;
}

// --- small helpers ------------------------------------------------------------------------------

function b(value: string): Uint8Array {
  return new TextEncoder().encode(value);
}

function text(value: Uint8Array): string;
function text(value: Uint8Array | undefined): string | undefined;
function text(value: Uint8Array | undefined): string | undefined {
  return value === undefined ? undefined : new TextDecoder().decode(value);
}

function hex(value: Uint8Array): string {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex");
}

function hexOrUndefined(value: Uint8Array | undefined): string | undefined {
  return value === undefined ? undefined : hex(value);
}

function unhex(value: string): Uint8Array {
  return new Uint8Array(Buffer.from(value, "hex"));
}

/** Byte equality, whatever Uint8Array subclass (lmdb-js hands out Buffers) each side is. */
function sameBytes(actual: Uint8Array | undefined, expected: Uint8Array): boolean {
  return actual !== undefined && Buffer.compare(actual, expected) === 0;
}

function rowsHex(rows: Iterable<KvEntry>): [string, string][] {
  return [...rows].map(([key, value]) => [hex(key), hex(value)]);
}

function isStoreError(error: unknown, code: StoreErrorCode): boolean {
  return error instanceof StoreError && error.code === code;
}

function assertStoreError(action: () => unknown, code: StoreErrorCode): void {
  assert.throws(action, (error) => isStoreError(error, code));
}
