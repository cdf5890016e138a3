/**
 * Property: whatever (ptr, len) pairs a guest passes, no host function throws into it (except
 * abort, with a GuestAbortError) and none writes a byte outside the output range it was given.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { GuestAbortError } from "../../src/wasm/abi/guest-errors.ts";
import { NX_FUNCTION_SIGNATURES } from "../../src/wasm/abi/nx-imports.ts";
import { WASI_FUNCTION_SIGNATURES } from "../../src/wasm/abi/wasi.ts";
import type { ValueType } from "../../src/wasm/module-imports.ts";
import { recordingEnvironment, trampolineGuest } from "./harness.ts";
import { memoryGuestStore } from "./memory-guest-store.ts";
import { RecordingCrdtHost } from "./recording-crdt-host.ts";

const MEMORY_BYTES = 2 * 65536;
const RUNS = Number(process.env.NX_PROPERTY_RUNS ?? 400);

/** Argument positions of (out_ptr, out_cap) per nx function; functions not listed write nothing. */
const OUTPUT_ARGS: Readonly<Record<string, readonly [number, number]>> = {
  db_get: [2, 3],
  db_scan: [4, 5],
  db_keys: [4, 5],
  db_scan_after: [5, 6],
  db_keys_after: [5, 6],
  crdt_gcounter_value: [2, 3],
  crdt_pncounter_value: [2, 3],
  crdt_lww_get: [2, 3],
  crdt_lww_map_get: [4, 5],
  crdt_lww_map_entries: [2, 3],
  crdt_orset_elements: [2, 3],
  crdt_rga_insert: [6, 7],
  crdt_rga_values: [2, 3],
  random_bytes: [0, 1],
  hash_sha256: [2, 3],
  hash_blake3: [2, 3],
  env_get: [2, 3],
  module_id: [0, 1],
  host_capabilities: [0, 1],
  net_node_id: [0, 1],
  net_peers: [0, 1],
};

const LIMIT_EDGES = [1024, 1025, 8192, 8193, 1 << 20, (1 << 20) + 1, 10 << 20, (10 << 20) + 1];
const MEMORY_EDGES = [MEMORY_BYTES - 8, MEMORY_BYTES - 1, MEMORY_BYTES, MEMORY_BYTES + 1];

/** i32 arguments biased towards the values that break naive bounds checks. */
const i32Arg = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 64 }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: MEMORY_BYTES + 16 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      ...LIMIT_EDGES,
      ...MEMORY_EDGES,
      -1,
      -2,
      0x7fffffff,
      0x80000000 | 0,
      0xfffffff0 | 0,
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) },
);
const i64Arg = fc.oneof(
  fc.bigInt({ min: 0n, max: 8n }),
  fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
);

function argsFor(types: readonly ValueType[]) {
  return fc.tuple(...types.map((t) => (t === "i64" ? i64Arg : i32Arg))) as fc.Arbitrary<(number | bigint)[]>;
}

async function populatedGuest() {
  const { store } = memoryGuestStore();
  const crdt = new RecordingCrdtHost();
  // every one-byte key exists, so random ranges often hit real rows and real output paths
  for (let b = 0; b < 256; b++) store.set(new Uint8Array([b]), new Uint8Array(b % 40).fill(b));
  const { env } = recordingEnvironment({ store, crdt, env: { NX_A: "a", NX_B: "bb" } });
  const guest = await trampolineGuest(env);
  const pattern = guest.memory();
  for (let i = 0; i < pattern.length; i++) pattern[i] = (i * 7) & 0xff;
  return guest;
}

describe("hostile pointers and lengths", () => {
  test("nx functions never throw (except abort) and write only inside [out_ptr, out_ptr + out_cap)", async () => {
    const guest = await populatedGuest();
    const names = [...NX_FUNCTION_SIGNATURES.keys()];
    const call = fc
      .constantFrom(...names)
      .chain((name) => argsFor(NX_FUNCTION_SIGNATURES.get(name)![0]!.params).map((args) => ({ name, args })));
    fc.assert(
      fc.property(call, ({ name, args }) => {
        const before = guest.memory().slice();
        let result: unknown;
        try {
          result = guest.call(name, ...args);
        } catch (error) {
          assert.equal(name, "abort", `${name}(${args.join(", ")}) threw ${String(error)}`);
          assert.ok(error instanceof GuestAbortError);
          return;
        }
        if (name === "time_now" || name === "time_monotonic") assert.equal(typeof result, "bigint");
        else if (name === "host_log_v2") assert.equal(result, undefined);
        else assert.ok(Number.isInteger(result) && (result as number) >= -5, `${name} answered ${result}`);
        const after = guest.memory();
        if (Buffer.compare(before, after) === 0) return;
        const output = OUTPUT_ARGS[name];
        assert.ok(output !== undefined, `${name} wrote to memory without an output range`);
        const outPtr = (args[output[0]] as number) >>> 0;
        const outCap = (args[output[1]] as number) >>> 0;
        for (let i = 0; i < after.length; i++) {
          if (before[i] !== after[i]) {
            assert.ok(i >= outPtr && i < outPtr + outCap, `${name}(${args.join(", ")}) wrote byte ${i}`);
          }
        }
        guest.write(0, before);
      }),
      { seed: 20_260_101, numRuns: RUNS },
    );
  });

  test("WASI functions never throw (except proc_exit) and answer an errno", async () => {
    const guest = await populatedGuest();
    const names = [...WASI_FUNCTION_SIGNATURES.keys()].filter((n) => n !== "proc_exit");
    const call = fc
      .constantFrom(...names)
      .chain((name) =>
        argsFor(WASI_FUNCTION_SIGNATURES.get(name)![0]!.params).map((args) => ({ name, args })),
      );
    fc.assert(
      fc.property(call, ({ name, args }) => {
        const result = guest.call(name, ...args);
        assert.ok(
          Number.isInteger(result) && (result as number) >= 0 && (result as number) <= 76,
          `${name} -> ${result}`,
        );
      }),
      { seed: 20_260_102, numRuns: RUNS },
    );
  });
});
