import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { KEY_BYTES_MAX, OUTPUT_BYTES_MAX, VALUE_BYTES_MAX } from "../../src/wasm/abi/abi-limits.ts";
import { type Guest, recordingEnvironment, text, trampolineGuest, utf8 } from "./harness.ts";
import { memoryGuestStore } from "./memory-guest-store.ts";

const KEY = 1024;
const VAL = 4096;
const OUT = 65536;
const PAGE = 65536;

async function setup(stores = memoryGuestStore()) {
  const { env, recorded } = recordingEnvironment({ store: stores.store });
  const guest = await trampolineGuest(env);
  return { guest, store: stores.store, backend: stores.backend, recorded };
}

function put(guest: Guest, key: string, value: string | Uint8Array): number {
  const k = utf8(key);
  const v = typeof value === "string" ? utf8(value) : value;
  guest.write(KEY, k);
  guest.write(VAL, v);
  return guest.call("db_set", KEY, k.length, VAL, v.length) as number;
}

function get(guest: Guest, key: string, cap = 1024): number {
  const k = utf8(key);
  guest.write(KEY, k);
  return guest.call("db_get", KEY, k.length, OUT, cap) as number;
}

/** Decodes db_scan output: u32 count, per row u32 key_len, u32 value_len, key, value. */
function decodeRows(guest: Guest, at: number): [string, string][] {
  const count = guest.u32(at);
  const rows: [string, string][] = [];
  let p = at + 4;
  for (let i = 0; i < count; i++) {
    const kl = guest.u32(p);
    const vl = guest.u32(p + 4);
    rows.push([text(guest.read(p + 8, kl)), text(guest.read(p + 8 + kl, vl))]);
    p += 8 + kl + vl;
  }
  return rows;
}

/** Decodes db_keys output: u32 count, per key u32 key_len, key. */
function decodeKeys(guest: Guest, at: number): string[] {
  const count = guest.u32(at);
  const keys: string[] = [];
  let p = at + 4;
  for (let i = 0; i < count; i++) {
    const kl = guest.u32(p);
    keys.push(text(guest.read(p + 4, kl)));
    p += 4 + kl;
  }
  return keys;
}

describe("db_get / db_set", () => {
  test("round trip, not found, overwrite", async () => {
    const { guest, store } = await setup();
    assert.equal(put(guest, "greeting", "hello"), 0);
    assert.equal(get(guest, "greeting"), 5);
    assert.equal(text(guest.read(OUT, 5)), "hello");
    assert.equal(get(guest, "absent"), -1);
    assert.equal(put(guest, "greeting", "bye"), 0);
    assert.equal(get(guest, "greeting"), 3);
    assert.equal(text(store.get(utf8("greeting"))!), "bye");
  });

  test("the store keeps a copy: later guest writes to the value buffer do not change it", async () => {
    const { guest, store } = await setup();
    put(guest, "k", "abc");
    guest.write(VAL, "zzz");
    guest.write(KEY, "x");
    assert.equal(text(store.get(utf8("k"))!), "abc");
  });

  test("empty values are allowed", async () => {
    const { guest } = await setup();
    assert.equal(put(guest, "empty", ""), 0);
    assert.equal(get(guest, "empty", 0), 0);
  });

  test("-2 when out_cap is too small: the required size is written, then a retry succeeds", async () => {
    const { guest } = await setup();
    put(guest, "k", "0123456789");
    guest.write(OUT, new Uint8Array(16).fill(0xee));
    assert.equal(get(guest, "k", 4), -2);
    assert.equal(guest.u32(OUT), 10);
    assert.deepEqual([...guest.read(OUT + 4, 12)], new Array(12).fill(0xee), "only the size is written");
    assert.equal(get(guest, "k", guest.u32(OUT)), 10);
    assert.equal(text(guest.read(OUT, 10)), "0123456789");
  });

  test("-2 with out_cap < 4 writes nothing", async () => {
    const { guest } = await setup();
    put(guest, "k", "0123456789");
    guest.write(OUT, new Uint8Array(4).fill(0xee));
    assert.equal(get(guest, "k", 3), -2);
    assert.deepEqual([...guest.read(OUT, 4)], [0xee, 0xee, 0xee, 0xee]);
    assert.equal(get(guest, "k", 0), -2);
  });

  test("key length: 0 and 1025 answer -3, 1024 works", async () => {
    const { guest } = await setup();
    assert.equal(guest.call("db_set", KEY, 0, VAL, 1), -3);
    assert.equal(guest.call("db_get", KEY, 0, OUT, 16), -3);
    guest.write(KEY, new Uint8Array(KEY_BYTES_MAX + 1).fill(0x61));
    assert.equal(guest.call("db_set", KEY, KEY_BYTES_MAX + 1, VAL, 1), -3);
    assert.equal(guest.call("db_get", KEY, KEY_BYTES_MAX + 1, OUT, 16), -3);
    assert.equal(guest.call("db_delete", KEY, KEY_BYTES_MAX + 1), -3);
    assert.equal(guest.call("db_exists", KEY, KEY_BYTES_MAX + 1), -3);
    assert.equal(guest.call("db_set", KEY, KEY_BYTES_MAX, VAL, 1), 0);
    assert.equal(guest.call("db_exists", KEY, KEY_BYTES_MAX), 1);
  });

  test("value length: 1 MiB works, 1 MiB + 1 answers -3; output above 10 MiB answers -3", async () => {
    const { guest } = await setup();
    guest.grow(176); // 178 pages: room for a 10 MiB output buffer
    guest.write(KEY, "big");
    assert.equal(guest.call("db_set", KEY, 3, PAGE, VALUE_BYTES_MAX + 1), -3);
    assert.equal(guest.call("db_set", KEY, 3, PAGE, VALUE_BYTES_MAX), 0);
    assert.equal(guest.call("db_get", KEY, 3, 2 * PAGE, VALUE_BYTES_MAX), VALUE_BYTES_MAX);
    assert.equal(guest.call("db_get", KEY, 3, 2 * PAGE, OUTPUT_BYTES_MAX), VALUE_BYTES_MAX);
    assert.equal(guest.call("db_get", KEY, 3, 2 * PAGE, OUTPUT_BYTES_MAX + 1), -3, "out_cap above 10 MiB");
    // eleven 1 MiB rows make a listing above 10 MiB: no buffer can hold it
    for (let i = 0; i < 10; i++) {
      guest.write(KEY, `big${i}`);
      assert.equal(guest.call("db_set", KEY, 4, PAGE, VALUE_BYTES_MAX), 0);
    }
    guest.write(KEY, "big");
    assert.equal(guest.call("db_scan", KEY, 3, 0n, 100, 2 * PAGE, OUTPUT_BYTES_MAX), -3);
    assert.equal(
      (guest.call("db_scan", KEY, 3, 0n, 9, 2 * PAGE, OUTPUT_BYTES_MAX) as number) > 9 * VALUE_BYTES_MAX,
      true,
    );
  });

  test("hostile pointers answer -3 and write nothing", async () => {
    const { guest } = await setup();
    put(guest, "k", "value");
    const size = guest.memory().length;
    const before = guest.memory().slice();
    guest.write(KEY, "k");
    const cases: [number, number, number, number][] = [
      [-1, 1, OUT, 16], // key ptr 0xffffffff
      [KEY, -1, OUT, 16], // key len 0xffffffff
      [0xfffffff0 | 0, 0x20, OUT, 16], // ptr + len wraps past 4 GiB
      [size - 0, 1, OUT, 16], // just past the end
      [KEY, 1, -1, 16], // out ptr 0xffffffff
      [KEY, 1, OUT, -1], // out cap 0xffffffff
      [KEY, 1, size - 15, 16], // out range one byte past the end
      [KEY, 1, 0x7fffffff, 0x7fffffff],
    ];
    for (const [kp, kl, op, oc] of cases) {
      assert.equal(guest.call("db_get", kp, kl, op, oc), -3, `db_get(${kp}, ${kl}, ${op}, ${oc})`);
      assert.equal(guest.call("db_set", kp, kl, op, oc), -3, `db_set(${kp}, ${kl}, ${op}, ${oc})`);
    }
    assert.equal(guest.call("db_delete", -1, 4), -3);
    assert.equal(guest.call("db_exists", size - 1, 2), -3);
    assert.deepEqual(guest.memory(), before);
    // the last byte of memory is a valid one-byte key
    guest.write(size - 1, "k");
    assert.equal(guest.call("db_get", size - 1, 1, size - 5, 5), 5);
  });

  test("memory.grow between calls: the host sees the new memory", async () => {
    const { guest } = await setup();
    put(guest, "k", "grown");
    const oldSize = guest.memory().length;
    assert.equal(get(guest, "k"), 5);
    guest.grow(1);
    assert.equal(guest.call("db_get", KEY, 1, oldSize + 10, 16), 5);
    assert.equal(text(guest.read(oldSize + 10, 5)), "grown");
  });
});

describe("db_delete / db_exists", () => {
  test("delete answers 0 present or absent; exists 1 / 0", async () => {
    const { guest } = await setup();
    put(guest, "k", "v");
    assert.equal(guest.call("db_exists", KEY, 1), 1);
    assert.equal(guest.call("db_delete", KEY, 1), 0);
    assert.equal(guest.call("db_exists", KEY, 1), 0);
    assert.equal(guest.call("db_delete", KEY, 1), 0);
    assert.equal(get(guest, "k"), -1);
  });
});

describe("reserved keys", () => {
  test("every db function answers -4 for a key or prefix under __nx/", async () => {
    const stores = memoryGuestStore();
    stores.backend.put(utf8("__nx/secret"), utf8("s"));
    const { guest } = await setup(stores);
    const key = utf8("__nx/secret");
    guest.write(KEY, key);
    assert.equal(guest.call("db_get", KEY, key.length, OUT, 64), -4);
    assert.equal(guest.call("db_set", KEY, key.length, VAL, 1), -4);
    assert.equal(guest.call("db_delete", KEY, key.length), -4);
    assert.equal(guest.call("db_exists", KEY, key.length), -4);
    for (const prefix of ["__nx/", "__nx/se"]) {
      guest.write(KEY, prefix);
      assert.equal(guest.call("db_scan", KEY, prefix.length, 0n, 10, OUT, 1024), -4, prefix);
      assert.equal(guest.call("db_keys", KEY, prefix.length, 0n, 10, OUT, 1024), -4, prefix);
      assert.equal(guest.call("db_scan_after", KEY, prefix.length, KEY, 0, 10, OUT, 1024), -4, prefix);
      assert.equal(guest.call("db_keys_after", KEY, prefix.length, KEY, 0, 10, OUT, 1024), -4, prefix);
    }
    assert.equal(text(stores.backend.get(key)!), "s", "the reserved row is untouched");
    // an `after` key inside the namespace is refused too
    guest.write(VAL, key);
    assert.equal(guest.call("db_scan_after", KEY + 100, 0, VAL, key.length, 10, OUT, 1024), -4);
    assert.equal(guest.call("db_keys_after", KEY + 100, 0, VAL, key.length, 10, OUT, 1024), -4);
  });

  test("listings never show reserved rows", async () => {
    const stores = memoryGuestStore();
    stores.backend.put(utf8("__nx/secret"), utf8("s"));
    stores.backend.put(utf8("__nw"), utf8("visible"));
    stores.backend.put(utf8("a"), utf8("1"));
    const { guest } = await setup(stores);
    for (const prefix of ["", "_", "__", "__n", "__nx"]) {
      guest.write(KEY, prefix);
      assert.ok((guest.call("db_scan", KEY, prefix.length, 0n, 100, OUT, 4096) as number) > 0);
      assert.ok(!decodeRows(guest, OUT).some(([k]) => k.startsWith("__nx/")), prefix);
      assert.ok((guest.call("db_keys_after", KEY, prefix.length, KEY, 0, 100, OUT, 4096) as number) > 0);
      assert.ok(!decodeKeys(guest, OUT).some((k) => k.startsWith("__nx/")), prefix);
    }
    guest.write(KEY, "");
    guest.call("db_keys", KEY, 0, 0n, 100, OUT, 4096);
    assert.deepEqual(decodeKeys(guest, OUT), ["__nw", "a"]);
  });
});

describe("db_scan / db_keys / *_after", () => {
  async function seeded() {
    const ctx = await setup();
    for (const [k, v] of [
      ["user/2", "bob"],
      ["user/1", "ann"],
      ["user/3", "cy"],
      ["other", "x"],
    ] as const) {
      put(ctx.guest, k, v);
    }
    ctx.guest.write(KEY, "user/");
    return ctx;
  }

  test("db_scan layout: u32 count, per row u32 key_len, u32 value_len, key, value; key order", async () => {
    const { guest } = await seeded();
    const written = guest.call("db_scan", KEY, 5, 0n, 10, OUT, 1024) as number;
    const rows = decodeRows(guest, OUT);
    assert.deepEqual(rows, [
      ["user/1", "ann"],
      ["user/2", "bob"],
      ["user/3", "cy"],
    ]);
    assert.equal(written, 4 + rows.reduce((n, [k, v]) => n + 8 + k.length + v.length, 0));
    // exact bytes of the first row
    assert.deepEqual([...guest.read(OUT, 12)], [3, 0, 0, 0, 6, 0, 0, 0, 3, 0, 0, 0]);
  });

  test("cursor is a row offset (u64), limit bounds the rows, limit 0 lists nothing", async () => {
    const { guest } = await seeded();
    guest.call("db_scan", KEY, 5, 1n, 1, OUT, 1024);
    assert.deepEqual(decodeRows(guest, OUT), [["user/2", "bob"]]);
    guest.call("db_keys", KEY, 5, 2n, 10, OUT, 1024);
    assert.deepEqual(decodeKeys(guest, OUT), ["user/3"]);
    assert.equal(guest.call("db_keys", KEY, 5, 3n, 10, OUT, 1024), 4);
    assert.equal(guest.u32(OUT), 0);
    assert.equal(guest.call("db_scan", KEY, 5, 0n, 0, OUT, 1024), 4);
    assert.equal(guest.u32(OUT), 0);
    // u64 cursors beyond 2^63 arrive as negative BigInts: still just "past the end"
    assert.equal(guest.call("db_scan", KEY, 5, -1n, 10, OUT, 1024), 4);
    assert.equal(guest.call("db_keys", KEY, 5, 1n << 62n, 10, OUT, 1024), 4);
    // limit 0xffffffff (negative i32) is a large limit, not an error
    guest.call("db_keys", KEY, 5, 0n, -1, OUT, 1024);
    assert.deepEqual(decodeKeys(guest, OUT), ["user/1", "user/2", "user/3"]);
  });

  test("db_keys layout: u32 count, per key u32 key_len, key", async () => {
    const { guest } = await seeded();
    const written = guest.call("db_keys", KEY, 5, 0n, 10, OUT, 1024);
    assert.equal(written, 4 + 3 * (4 + 6));
    assert.deepEqual(decodeKeys(guest, OUT), ["user/1", "user/2", "user/3"]);
  });

  test("*_after: rows with key > after; after_len 0 starts at the first", async () => {
    const { guest } = await seeded();
    guest.write(VAL, "user/1");
    guest.call("db_scan_after", KEY, 5, VAL, 6, 10, OUT, 1024);
    assert.deepEqual(decodeRows(guest, OUT), [
      ["user/2", "bob"],
      ["user/3", "cy"],
    ]);
    guest.call("db_keys_after", KEY, 5, VAL, 0, 2, OUT, 1024);
    assert.deepEqual(decodeKeys(guest, OUT), ["user/1", "user/2"]);
    guest.write(VAL, "user/3");
    assert.equal(guest.call("db_keys_after", KEY, 5, VAL, 6, 10, OUT, 1024), 4);
    guest.write(VAL, "user/10");
    guest.call("db_keys_after", KEY, 5, VAL, 7, 10, OUT, 1024);
    assert.deepEqual(decodeKeys(guest, OUT), ["user/2", "user/3"]);
  });

  test("listings answer -2 with the required size, and the retry with that size succeeds", async () => {
    const { guest } = await seeded();
    for (const [fn, extra] of [
      ["db_scan", [0n, 10]],
      ["db_keys", [0n, 10]],
      ["db_scan_after", [VAL, 0, 10]],
      ["db_keys_after", [VAL, 0, 10]],
    ] as const) {
      assert.equal(guest.call(fn, KEY, 5, ...extra, OUT, 8), -2, fn);
      const required = guest.u32(OUT);
      assert.equal(guest.call(fn, KEY, 5, ...extra, OUT, required - 1), -2, fn);
      assert.equal(guest.call(fn, KEY, 5, ...extra, OUT, required), required, fn);
      assert.equal(guest.u32(OUT), 3, fn);
    }
    assert.equal(guest.call("db_scan", KEY, 5, 0n, 10, OUT, 0), -2);
  });

  test("invalid ranges of prefix, after and output answer -3", async () => {
    const { guest } = await seeded();
    const size = guest.memory().length;
    assert.equal(guest.call("db_scan", -1, 5, 0n, 10, OUT, 1024), -3);
    assert.equal(guest.call("db_keys", KEY, KEY_BYTES_MAX + 1, 0n, 10, OUT, 1024), -3);
    assert.equal(guest.call("db_scan", KEY, 5, 0n, 10, size - 100, 101), -3);
    assert.equal(guest.call("db_scan", KEY, 5, 0n, 10, OUT, OUTPUT_BYTES_MAX + 1), -3);
    assert.equal(guest.call("db_scan_after", KEY, 5, size, 1, 10, OUT, 1024), -3);
    assert.equal(guest.call("db_keys_after", KEY, 5, VAL, KEY_BYTES_MAX + 1, 10, OUT, 1024), -3);
    assert.equal(guest.call("db_keys_after", KEY, 5, -8, 16, 10, OUT, 1024), -3);
  });
});

describe("without a store, and when the store fails", () => {
  test("db_* answer -3 without a store and say so once in the log", async () => {
    const { env, recorded } = recordingEnvironment();
    const guest = await trampolineGuest(env);
    guest.write(KEY, "k");
    assert.equal(guest.call("db_get", KEY, 1, OUT, 16), -3);
    assert.equal(guest.call("db_set", KEY, 1, VAL, 1), -3);
    assert.equal(guest.call("db_delete", KEY, 1), -3);
    assert.equal(guest.call("db_exists", KEY, 1), -3);
    assert.equal(guest.call("db_scan", KEY, 1, 0n, 1, OUT, 16), -3);
    assert.equal(guest.call("db_scan_after", KEY, 1, KEY, 0, 1, OUT, 16), -3);
    assert.equal(guest.call("db_keys", KEY, 1, 0n, 1, OUT, 16), -3);
    assert.equal(guest.call("db_keys_after", KEY, 1, KEY, 0, 1, OUT, 16), -3);
    assert.equal(recorded.logs.filter((l) => l.level === "warn").length, 1);
    assert.match(recorded.logs[0]!.message, /no store/);
  });

  test("an unexpected store error answers -3 with a log line, never a throw", async () => {
    const stores = memoryGuestStore();
    stores.store.get = () => {
      throw new Error("disk on fire");
    };
    const { guest, recorded } = await setup(stores);
    guest.write(KEY, "k");
    assert.equal(guest.call("db_get", KEY, 1, OUT, 16), -3);
    assert.match(recorded.logs.at(-1)!.message, /db_get failed: Error: disk on fire/);
  });

  test("host failure log lines are bounded", async () => {
    const stores = memoryGuestStore();
    stores.store.exists = () => {
      throw new Error("boom");
    };
    const { guest, recorded } = await setup(stores);
    guest.write(KEY, "k");
    for (let i = 0; i < 500; i++) assert.equal(guest.call("db_exists", KEY, 1), -3);
    assert.ok(recorded.logs.length <= 102, `${recorded.logs.length} lines`);
    assert.match(recorded.logs.at(-1)!.message, /not logged/);
  });
});
