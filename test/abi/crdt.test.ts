import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { NodeId } from "../../src/identity/node-id.ts";
import { createMemoryBackend } from "../../src/store/memory-backend.ts";
import { opBytesMaxOf } from "../../src/sync/op-wire-budget.ts";
import { openReplicatedState } from "../../src/sync/replica/replicated-state.ts";
import { ERR_OP_TOO_LARGE } from "../../src/wasm/abi/abi-codes.ts";
import { KEY_BYTES_MAX, VALUE_BYTES_MAX } from "../../src/wasm/abi/abi-limits.ts";
import { NX_FUNCTION_SIGNATURES } from "../../src/wasm/abi/nx-imports.ts";
import { type Guest, recordingEnvironment, text, trampolineGuest, utf8 } from "./harness.ts";
import { RecordingCrdtHost } from "./recording-crdt-host.ts";

const KEY = 1024;
const ARG = 4096;
const ARG2 = 8192;
const OUT = 65536;

async function setup() {
  const crdt = new RecordingCrdtHost();
  const { env, recorded } = recordingEnvironment({ crdt });
  const guest = await trampolineGuest(env);
  return { guest, crdt, recorded };
}

/** Writes `key` at KEY and returns [KEY, length]. */
function key(guest: Guest, name: string): [number, number] {
  const bytes = utf8(name);
  guest.write(KEY, bytes);
  return [KEY, bytes.length];
}

function arg(guest: Guest, at: number, value: string): [number, number] {
  const bytes = utf8(value);
  guest.write(at, bytes);
  return [at, bytes.length];
}

/** u32 count, then per item u32 len, bytes. */
function decodeList(guest: Guest, at: number): string[] {
  const items: string[] = [];
  let p = at + 4;
  for (let i = guest.u32(at); i > 0; i--) {
    const len = guest.u32(p);
    items.push(text(guest.read(p + 4, len)));
    p += 4 + len;
  }
  return items;
}

describe("without sync", () => {
  test("every crdt_* and net_* function answers -5, whatever its arguments", async () => {
    const { env } = recordingEnvironment();
    const guest = await trampolineGuest(env);
    const names = [...NX_FUNCTION_SIGNATURES.keys()].filter(
      (n) => n.startsWith("crdt_") || n.startsWith("net_"),
    );
    assert.equal(names.length, 21);
    for (const name of names) {
      const type = NX_FUNCTION_SIGNATURES.get(name)![0]!;
      const valid = type.params.map((t) => (t === "i64" ? 1n : 16));
      const hostile = type.params.map((t) => (t === "i64" ? -1n : -1));
      assert.equal(guest.call(name, ...valid), -5, name);
      assert.equal(guest.call(name, ...hostile), -5, name);
    }
  });
});

describe("counters", () => {
  test("gcounter: u64 delta reaches the host unsigned; value is u64 LE, returns 8", async () => {
    const { guest, crdt } = await setup();
    const [kp, kl] = key(guest, "visits");
    assert.equal(guest.call("crdt_gcounter_inc", kp, kl, 5n), 0);
    assert.equal(guest.call("crdt_gcounter_inc", kp, kl, -1n), 0, "u64 max arrives as -1n");
    assert.deepEqual(crdt.calls, [
      ["gcounterInc", "visits", 5n],
      ["gcounterInc", "visits", (1n << 64n) - 1n],
    ]);
    crdt.counters.set("visits", 0x0102030405060708n);
    assert.equal(guest.call("crdt_gcounter_value", kp, kl, OUT, 8), 8);
    assert.deepEqual([...guest.read(OUT, 8)], [8, 7, 6, 5, 4, 3, 2, 1]);
    crdt.counters.set("visits", 1n << 70n);
    assert.equal(guest.call("crdt_gcounter_value", kp, kl, OUT, 8), 8);
    assert.equal(
      new DataView(guest.read(OUT, 8).buffer).getBigUint64(0, true),
      (1n << 64n) - 1n,
      "saturates",
    );
  });

  test("pncounter: inc / dec; value is i64 LE", async () => {
    const { guest, crdt } = await setup();
    const [kp, kl] = key(guest, "stock");
    assert.equal(guest.call("crdt_pncounter_inc", kp, kl, 3n), 0);
    assert.equal(guest.call("crdt_pncounter_dec", kp, kl, 10n), 0);
    assert.deepEqual(crdt.calls, [
      ["pncounterInc", "stock", 3n],
      ["pncounterDec", "stock", 10n],
    ]);
    assert.equal(guest.call("crdt_pncounter_value", kp, kl, OUT, 16), 8);
    assert.equal(new DataView(guest.read(OUT, 8).buffer).getBigInt64(0, true), -7n);
  });

  test("counter values answer -2 below 8 bytes, writing the required size", async () => {
    const { guest } = await setup();
    const [kp, kl] = key(guest, "c");
    assert.equal(guest.call("crdt_gcounter_value", kp, kl, OUT, 7), -2);
    assert.equal(guest.u32(OUT), 8);
    assert.equal(guest.call("crdt_pncounter_value", kp, kl, OUT, 0), -2);
  });
});

describe("keys", () => {
  test("invalid UTF-8, empty or 1025-byte keys answer -3; 1024 bytes work", async () => {
    const { guest, crdt } = await setup();
    guest.write(KEY, new Uint8Array([0xc3, 0x28]));
    assert.equal(guest.call("crdt_gcounter_inc", KEY, 2, 1n), -3);
    assert.equal(guest.call("crdt_lww_get", KEY, 2, OUT, 16), -3);
    assert.equal(guest.call("crdt_gcounter_inc", KEY, 0, 1n), -3);
    guest.write(KEY, new Uint8Array(KEY_BYTES_MAX + 1).fill(0x6b));
    assert.equal(guest.call("crdt_orset_add", KEY, KEY_BYTES_MAX + 1, ARG, 1), -3);
    assert.equal(guest.call("crdt_orset_add", KEY, KEY_BYTES_MAX, ARG, 1), 0);
    assert.equal(crdt.calls.length, 1);
    assert.equal(guest.call("crdt_gcounter_inc", -1, 4, 1n), -3);
    assert.equal(guest.call("crdt_lww_get", KEY, 1, -1, 16), -3);
  });
});

describe("lww register and map", () => {
  test("lww_set / lww_get: bytes, -1 unset, -2 then retry", async () => {
    const { guest, crdt } = await setup();
    const [kp, kl] = key(guest, "title");
    assert.equal(guest.call("crdt_lww_get", kp, kl, OUT, 64), -1);
    const [vp, vl] = arg(guest, ARG, "Numax");
    assert.equal(guest.call("crdt_lww_set", kp, kl, vp, vl), 0);
    guest.write(ARG, "XXXXX");
    assert.equal(text(crdt.registers.get("title")!), "Numax", "the host got a copy");
    assert.equal(guest.call("crdt_lww_get", kp, kl, OUT, 4), -2);
    assert.equal(guest.u32(OUT), 5);
    assert.equal(guest.call("crdt_lww_get", kp, kl, OUT, 5), 5);
    assert.equal(text(guest.read(OUT, 5)), "Numax");
  });

  test("value limit: 1 MiB works, 1 MiB + 1 answers -3", async () => {
    const { guest } = await setup();
    guest.grow(16);
    const [kp, kl] = key(guest, "big");
    assert.equal(guest.call("crdt_lww_set", kp, kl, OUT, VALUE_BYTES_MAX + 1), -3);
    assert.equal(guest.call("crdt_lww_set", kp, kl, OUT, VALUE_BYTES_MAX), 0);
    assert.equal(guest.call("crdt_orset_add", kp, kl, OUT, VALUE_BYTES_MAX + 1), -3);
  });

  test("lww_map: set, get, contains, remove, entries in field order (interleaved layout)", async () => {
    const { guest, crdt } = await setup();
    const [kp, kl] = key(guest, "settings");
    const [fp, fl] = arg(guest, ARG, "theme");
    const [vp, vl] = arg(guest, ARG2, "dark");
    assert.equal(guest.call("crdt_lww_map_contains", kp, kl, fp, fl), 0);
    assert.equal(guest.call("crdt_lww_map_get", kp, kl, fp, fl, OUT, 64), -1);
    assert.equal(guest.call("crdt_lww_map_set", kp, kl, fp, fl, vp, vl), 0);
    assert.equal(guest.call("crdt_lww_map_contains", kp, kl, fp, fl), 1);
    assert.equal(guest.call("crdt_lww_map_get", kp, kl, fp, fl, OUT, 64), 4);
    assert.equal(text(guest.read(OUT, 4)), "dark");
    const [ap, al] = arg(guest, ARG, "lang");
    const [bp, bl] = arg(guest, ARG2, "it");
    guest.call("crdt_lww_map_set", kp, kl, ap, al, bp, bl);
    const written = guest.call("crdt_lww_map_entries", kp, kl, OUT, 256);
    // u32 count, per entry u32 field_len, field, u32 value_len, value
    const expected = [2, 0, 0, 0, 4, 0, 0, 0, ...utf8("lang"), 2, 0, 0, 0, ...utf8("it")];
    expected.push(5, 0, 0, 0, ...utf8("theme"), 4, 0, 0, 0, ...utf8("dark"));
    assert.equal(written, expected.length);
    assert.deepEqual([...guest.read(OUT, expected.length)], expected);
    assert.equal(guest.call("crdt_lww_map_entries", kp, kl, OUT, expected.length - 1), -2);
    assert.equal(guest.u32(OUT), expected.length);
    assert.equal(guest.call("crdt_lww_map_remove", kp, kl, ap, al), 0);
    assert.equal(guest.call("crdt_lww_map_contains", kp, kl, ap, al), 0);
    assert.equal(guest.call("crdt_lww_map_get", kp, kl, ap, al, OUT, 64), -1);
    assert.deepEqual(crdt.calls.at(-1), ["lwwMapRemove", "settings", utf8("lang")]);
    assert.equal(guest.call("crdt_lww_map_set", kp, kl, ARG, KEY_BYTES_MAX + 1, vp, vl), -3, "field limit");
  });
});

describe("orset", () => {
  test("add, contains, remove, elements sorted (u32 count, per element u32 len, bytes)", async () => {
    const { guest } = await setup();
    const [kp, kl] = key(guest, "tags");
    for (const tag of ["zeta", "alpha", "mu"]) {
      const [ep, el] = arg(guest, ARG, tag);
      assert.equal(guest.call("crdt_orset_add", kp, kl, ep, el), 0);
    }
    const [ep, el] = arg(guest, ARG, "mu");
    assert.equal(guest.call("crdt_orset_contains", kp, kl, ep, el), 1);
    assert.equal(guest.call("crdt_orset_elements", kp, kl, OUT, 256), 4 + 3 * 4 + 4 + 2 + 5);
    assert.deepEqual(decodeList(guest, OUT), ["alpha", "mu", "zeta"]);
    assert.equal(guest.call("crdt_orset_remove", kp, kl, ep, el), 0);
    assert.equal(guest.call("crdt_orset_contains", kp, kl, ep, el), 0);
    guest.call("crdt_orset_elements", kp, kl, OUT, 256);
    assert.deepEqual(decodeList(guest, OUT), ["alpha", "zeta"]);
    assert.equal(guest.call("crdt_orset_elements", kp, kl, OUT, 5), -2);
  });
});

describe("rga", () => {
  test("insert at the head and after a parent; values in sequence order; delete tombstones", async () => {
    const { guest } = await setup();
    const [kp, kl] = key(guest, "doc");
    const [vp, vl] = arg(guest, ARG, "b");
    const idLen = guest.call("crdt_rga_insert", kp, kl, 0, 0, vp, vl, ARG2, 64) as number;
    assert.ok(idLen > 0);
    const idB = guest.read(ARG2, idLen);
    arg(guest, ARG, "a");
    assert.ok((guest.call("crdt_rga_insert", kp, kl, 0, 0, ARG, 1, ARG2, 64) as number) > 0);
    guest.write(ARG2 + 100, idB);
    arg(guest, ARG, "c");
    const idC = guest.call("crdt_rga_insert", kp, kl, ARG2 + 100, idLen, ARG, 1, ARG2, 64) as number;
    assert.ok(idC > 0);
    assert.equal(guest.call("crdt_rga_values", kp, kl, OUT, 256), 4 + 3 * 5);
    assert.deepEqual(decodeList(guest, OUT), ["a", "b", "c"]);
    assert.equal(guest.call("crdt_rga_delete", kp, kl, ARG2 + 100, idLen), 0);
    guest.call("crdt_rga_values", kp, kl, OUT, 256);
    assert.deepEqual(decodeList(guest, OUT), ["a", "c"]);
    assert.equal(guest.call("crdt_rga_values", kp, kl, OUT, 3), -2);
  });

  test("unknown parent or id: -1; empty id: -3", async () => {
    const { guest } = await setup();
    const [kp, kl] = key(guest, "doc");
    const [pp, pl] = arg(guest, ARG2, "no-such-id");
    assert.equal(guest.call("crdt_rga_insert", kp, kl, pp, pl, ARG, 1, OUT, 64), -1);
    assert.equal(guest.call("crdt_rga_delete", kp, kl, pp, pl), -1);
    assert.equal(guest.call("crdt_rga_delete", kp, kl, pp, 0), -3);
  });

  test("out_id_cap too small: -2 with the id length; the same call again returns that id, no second insert", async () => {
    const { guest, crdt } = await setup();
    const [kp, kl] = key(guest, "doc");
    const [vp, vl] = arg(guest, ARG, "x");
    assert.equal(guest.call("crdt_rga_insert", kp, kl, 0, 0, vp, vl, OUT, 4), -2);
    const needed = guest.u32(OUT);
    assert.equal(guest.call("crdt_rga_insert", kp, kl, 0, 0, vp, vl, OUT, needed), needed);
    assert.equal(crdt.calls.filter((c) => c[0] === "rgaInsert").length, 1);
    guest.call("crdt_rga_values", kp, kl, ARG2, 64);
    assert.deepEqual(decodeList(guest, ARG2), ["x"]);
    // after the retry was served, the same call inserts again
    assert.equal(guest.call("crdt_rga_insert", kp, kl, 0, 0, vp, vl, OUT, needed), needed);
    assert.equal(crdt.calls.filter((c) => c[0] === "rgaInsert").length, 2);
  });
});

describe("net", () => {
  test("net_node_id writes 32 hex characters; net_peers layout", async () => {
    const { guest, crdt } = await setup();
    assert.equal(guest.call("net_node_id", OUT, 64), 32);
    assert.equal(text(guest.read(OUT, 32)), crdt.nodeId());
    assert.equal(guest.call("net_node_id", OUT, 31), -2);
    assert.equal(guest.call("net_peers", OUT, 64), 4);
    assert.equal(guest.u32(OUT), 0);
    crdt.peerList = [{ address: "127.0.0.1:7001", nodeId: "ffffffffffffffffffffffffffffffff" as NodeId }];
    const written = guest.call("net_peers", OUT, 128);
    assert.equal(written, 4 + 8 + 14 + 32);
    assert.deepEqual([guest.u32(OUT), guest.u32(OUT + 4), guest.u32(OUT + 8)], [1, 14, 32]);
    assert.equal(text(guest.read(OUT + 12, 14)), "127.0.0.1:7001");
    assert.equal(text(guest.read(OUT + 26, 32)), "ffffffffffffffffffffffffffffffff");
    assert.equal(guest.call("net_peers", OUT, 57), -2);
    assert.equal(guest.call("net_peers", -4, 8), -3);
  });
});

describe("host failures", () => {
  test("a CrdtHost error answers -3 and logs a line", async () => {
    const { guest, crdt, recorded } = await setup();
    crdt.gcounterInc = () => {
      throw new Error("sync queue full");
    };
    const [kp, kl] = key(guest, "c");
    assert.equal(guest.call("crdt_gcounter_inc", kp, kl, 1n), -3);
    assert.match(recorded.logs.at(-1)!.message, /crdt_gcounter_inc failed: Error: sync queue full/);
  });

  test("the replica keeps copies of what lww_set, lww_map_set and lww_map_remove hand it: a guest's later writes to its buffers change nothing", async () => {
    // The ABI passes views of guest memory (crdt-host.ts); the replica copies them, with map
    // writes coalesced into one op or not.
    for (const coalesceMapWrites of [false, true]) {
      const crdt = openReplicatedState({
        backend: createMemoryBackend(),
        nodeId: "ab".repeat(16) as NodeId,
        coalesceMapWrites,
      });
      const { env } = recordingEnvironment({ crdt });
      const guest = await trampolineGuest(env);
      const [kp, kl] = key(guest, "doc");
      const [vp, vl] = arg(guest, ARG, "value");
      const [fp, fl] = arg(guest, ARG2, "field");
      assert.equal(guest.call("crdt_lww_set", kp, kl, vp, vl), 0);
      assert.equal(guest.call("crdt_lww_map_set", kp, kl, fp, fl, vp, vl), 0);
      const [gp, gl] = arg(guest, ARG2 + 64, "gone");
      assert.equal(guest.call("crdt_lww_map_remove", kp, kl, gp, gl), 0);
      guest.write(ARG, "XXXXX");
      guest.write(ARG2, "YYYYY");
      guest.write(ARG2 + 64, "ZZZZ");
      assert.equal(text(crdt.lwwGet("doc")!), "value");
      assert.deepEqual(
        crdt.lwwMapEntries("doc").map(([field, value]) => [text(field), text(value)]),
        [["field", "value"]],
        `coalesceMapWrites ${coalesceMapWrites}`,
      );
      const ops = crdt.opsSince(new Map(), 10);
      assert.deepEqual(
        ops.flatMap((op) => {
          const kind = op.kind as { field?: Uint8Array; entries?: { field: Uint8Array }[] };
          return kind.entries?.map((entry) => text(entry.field)) ?? (kind.field ? [text(kind.field)] : []);
        }),
        ["field", "gone"],
        "the ops carry the written bytes too",
      );
    }
  });

  test("a write whose op would not fit one sync message answers -10, logs a line naming key and sizes, changes nothing", async () => {
    // The node's replica, its budget as the sync service sets it for a max_message_size of 4 KiB.
    const crdt = openReplicatedState({ backend: createMemoryBackend(), nodeId: "ab".repeat(16) as NodeId });
    crdt.setSyncHooks({ opBytesMax: opBytesMaxOf(4096) });
    const { env, recorded } = recordingEnvironment({ crdt });
    const guest = await trampolineGuest(env);
    const [kp, kl] = key(guest, "doc");
    const [vp, vl] = arg(guest, ARG, "small");
    assert.equal(guest.call("crdt_lww_set", kp, kl, vp, vl), 0);
    guest.write(ARG, new Uint8Array(3000).fill(120));
    assert.equal(guest.call("crdt_lww_set", kp, kl, ARG, 3000), ERR_OP_TOO_LARGE);
    assert.equal(ERR_OP_TOO_LARGE, -10);
    assert.match(
      recorded.logs.at(-1)!.message,
      /crdt_lww_set: write to CRDT key "doc" refused: its op takes up to 4530 bytes on the wire, over the 3968 /,
    );
    assert.equal(text(crdt.lwwGet("doc")!), "small");
    // Refusals have a log budget of their own: a guest that keeps asking cannot silence its failures.
    for (let i = 0; i < 200; i++) guest.call("crdt_lww_set", kp, kl, ARG, 3000);
    crdt.gcounterInc = () => {
      throw new Error("sync queue full");
    };
    const [cp, cl] = key(guest, "c");
    assert.equal(guest.call("crdt_gcounter_inc", cp, cl, 1n), -3);
    assert.match(recorded.logs.at(-1)!.message, /crdt_gcounter_inc failed: Error: sync queue full/);
  });
});
