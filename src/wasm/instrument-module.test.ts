import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { watToWasm } from "../../test/fixtures/wasm/wat-fixtures.ts";
import { EXPORT_FUNCTION, EXPORT_TABLE, readModuleLayout, SECTION_START } from "./binary/module-layout.ts";
import {
  CATCHES_MARKER_EXPORT,
  FUEL_TABLE_EXPORT,
  INSTANCE_ID_EXPORT,
  MEMORY_WRITTEN_EXPORT,
  START_EXPORT,
} from "./guest-exports.ts";
import { instrumentModule } from "./instrument-module.ts";
import { ModuleLoadError } from "./module-load-error.ts";
import { refillTrampoline } from "./refill-trampoline.ts";

const MIB = 1024 * 1024;
const options = { moduleLabel: "test.wasm", memoryMaxBytes: 16 * MIB };

/**
 * Instantiates instrumented bytes with a refill function that always grants `refillUnits`.
 * Code that may run out of fuel must be called through `WebAssembly.promising`.
 */
function instantiateInstrumented(
  bytes: Uint8Array,
  imports: WebAssembly.Imports = {},
  refillUnits = 1000,
): { exports: WebAssembly.Exports; refills: () => number } {
  let refills = 0;
  const refill = refillTrampoline(() => {
    refills++;
    return refillUnits;
  });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), imports);
  (instance.exports[FUEL_TABLE_EXPORT] as WebAssembly.Table).set(0, refill);
  return { exports: instance.exports, refills: () => refills };
}

const COMPUTE_WAT = `(module
  (memory (export "memory") 1)
  (func $sum (export "sum") (param $n i32) (result i32) (local $i i32) (local $acc i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $acc (i32.add (local.get $acc) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.get $acc))
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  (func $leaf (export "leaf") (param $x i32) (result i32) (i32.mul (local.get $x) (local.get $x)))
  (func (export "run")))`;

describe("instrumentModule", () => {
  test("keeps results and counts loop iterations and calls as fuel", async () => {
    const original = await watToWasm(COMPUTE_WAT);
    const instrumented = instrumentModule(original, options);
    assert.ok(WebAssembly.validate(instrumented.bytes));
    // sum: one loop head; fib: entry (it calls itself); leaf and run: nothing
    assert.equal(instrumented.fuelChecks, 2);
    const { exports, refills } = instantiateInstrumented(instrumented.bytes, {}, 1000);
    const sum = WebAssembly.promising(exports.sum as (n: number) => number);
    const fib = WebAssembly.promising(exports.fib as (n: number) => number);
    assert.equal(await sum(100_000), 4_999_950_000 | 0);
    // 100k iterations from an initial 10k units, then 1000 per refill
    assert.ok(refills() >= 90 && refills() <= 100, `refills ${refills()}`);
    assert.equal(await fib(20), 6765);
    assert.equal((exports.leaf as (x: number) => number)(12), 144);
  });

  test("clamps memory maxima to the cap so memory.grow fails inside the guest", async () => {
    const original = await watToWasm(`(module
      (memory (export "memory") 2)
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
      (func (export "run")))`);
    const instrumented = instrumentModule(original, { ...options, memoryMaxBytes: 4 * MIB });
    const layout = readModuleLayout(instrumented.bytes);
    assert.deepEqual(layout.definedMemories, [{ flags: 1, initialPages: 2n, maximumPages: 64n }]);
    const { exports } = instantiateInstrumented(instrumented.bytes);
    const grow = exports.grow as (pages: number) => number;
    assert.equal(grow(62), 2);
    assert.equal(grow(1), -1);
    assert.equal((exports.memory as WebAssembly.Memory).buffer.byteLength, 4 * MIB);
  });

  test("keeps a smaller declared maximum", async () => {
    const original = await watToWasm(`(module (memory (export "memory") 1 3) (func (export "run")))`);
    const layout = readModuleLayout(instrumentModule(original, options).bytes);
    assert.equal(layout.definedMemories[0]?.maximumPages, 3n);
  });

  test("refuses initial memory above the cap", async () => {
    const original = await watToWasm(`(module (memory (export "memory") 100) (func (export "run")))`);
    assert.throws(
      () => instrumentModule(original, { ...options, memoryMaxBytes: 2 * MIB }),
      (error: unknown) => error instanceof ModuleLoadError && error.failure === "memory_above_cap",
    );
  });

  test("moves the start function to an export and appends without moving indices", async () => {
    const original = await watToWasm(`(module
      (import "host" "note" (func $note (param i32)))
      (memory (export "memory") 1)
      (table 2 funcref)
      (global $counter (mut i32) (i32.const 0))
      (elem (i32.const 0) $bump $init)
      (func $init (call $note (i32.const 7)))
      (func $bump (export "bump") (result i32)
        (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
        (global.get $counter))
      (func (export "viaTable") (result i32) (call_indirect (result i32) (i32.const 0)))
      (start $init)
      (func (export "run")))`);
    const instrumented = instrumentModule(original, options);
    assert.equal(instrumented.hasStart, true);
    const layout = readModuleLayout(instrumented.bytes);
    assert.equal(
      layout.sections.some((section) => section.id === SECTION_START),
      false,
    );
    const startExport = layout.exports.find((entry) => entry.name === START_EXPORT);
    assert.deepEqual(startExport, { name: START_EXPORT, kind: EXPORT_FUNCTION, index: 1 });
    const tableExport = layout.exports.find((entry) => entry.name === FUEL_TABLE_EXPORT);
    assert.deepEqual(tableExport, { name: FUEL_TABLE_EXPORT, kind: EXPORT_TABLE, index: 1 });

    const notes: number[] = [];
    const { exports } = instantiateInstrumented(instrumented.bytes, {
      host: { note: (n: number) => notes.push(n) },
    });
    assert.deepEqual(notes, [], "the start function no longer runs at instantiation");
    (exports[START_EXPORT] as () => void)();
    assert.deepEqual(notes, [7]);
    assert.equal((exports.bump as () => number)(), 1);
    assert.equal((exports.viaTable as () => number)(), 2);
  });

  test("keeps the name section, so traps name the guest's functions", async () => {
    const original = await watToWasm(`(module
      (memory (export "memory") 1)
      (func $deep_inside (loop $l (br_if $l (i32.const 0))) unreachable)
      (func (export "run") (call $deep_inside)))`);
    const { exports } = instantiateInstrumented(instrumentModule(original, options).bytes);
    assert.throws(
      () => (exports.run as () => void)(),
      (error: Error) => /at deep_inside \(wasm:/.test(error.stack ?? ""),
    );
  });

  test("decodes every instruction family V8 ships and keeps behaviour", async () => {
    const original = await watToWasm(`(module
      (type $binop (func (param i32 i32) (result i32)))
      (tag $oops (param i32))
      (memory (export "memory") 1)
      (table $t 4 funcref)
      (elem (table $t) (i32.const 0) func $add $sub)
      (func $add (type $binop) (i32.add (local.get 0) (local.get 1)))
      (func $sub (type $binop) (i32.sub (local.get 0) (local.get 1)))
      (func $simd (param $x i32) (result i32)
        (local $v v128)
        (local.set $v (i32x4.splat (local.get $x)))
        (local.set $v (i32x4.add (local.get $v) (v128.const i32x4 1 2 3 4)))
        (local.set $v (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 (local.get $v) (local.get $v)))
        (v128.store offset=16 align=4 (i32.const 0) (local.get $v))
        (v128.store32_lane 1 (i32.const 48) (local.get $v))
        (i32.add (i32x4.extract_lane 3 (v128.load (i32.const 16))) (i32.load (i32.const 48))))
      (func $bulk (result i32)
        (memory.fill (i32.const 100) (i32.const 7) (i32.const 10))
        (memory.copy (i32.const 200) (i32.const 100) (i32.const 10))
        (i32.load8_u (i32.const 209)))
      (func $branches (param $k i32) (result i32)
        (block $b2 (block $b1 (block $b0
          (br_table $b0 $b1 $b2 (local.get $k)))
          (return (i32.const 10)))
          (return (i32.const 20)))
        (i32.const 30))
      (func $multi (param $n i32) (result i32 i32)
        (local.get $n)
        (loop $l (param i32) (result i32)
          (i32.sub (i32.const 1))
          (local.tee $n)
          (br_if $l (i32.gt_s (local.get $n) (i32.const 0))))
        (i64.const -1) (drop)
        (f64.const 1.5) (drop)
        (f32.const 2.5) (drop)
        (i32.const 42))
      (func $tail (param $n i32) (result i32)
        (if (result i32) (i32.eqz (local.get $n)) (then (i32.const 99))
          (else (return_call $tail (i32.sub (local.get $n) (i32.const 1))))))
      (func $catching (result i32)
        (block $handler (result i32)
          (try_table (catch $oops $handler)
            (throw $oops (i32.const 5)))
          (i32.const -1)))
      (func $atomics (result i32)
        (drop (i32.atomic.rmw.add (i32.const 64) (i32.const 3)))
        (atomic.fence)
        (i32.atomic.load (i32.const 64)))
      (func $select (param $c i32) (result i64)
        (select (result i64) (i64.const 1) (i64.const 2) (local.get $c)))
      (func $refs (result i32)
        (ref.is_null (ref.func $add)))
      (func (export "check") (result i32)
        (i32.add (call_indirect $t (type $binop) (i32.const 5) (i32.const 3) (i32.const 1)) (i32.const 0))
        (call $simd (i32.const 1)) (i32.add)
        (call $bulk) (i32.add)
        (call $branches (i32.const 1)) (i32.add)
        (call $multi (i32.const 5)) (i32.add) (i32.add)
        (call $tail (i32.const 20000)) (i32.add)
        (call $catching) (i32.add)
        (call $atomics) (i32.add)
        (i32.wrap_i64 (call $select (i32.const 0))) (i32.add)
        (call $refs) (i32.add))
      (func (export "run")))`);
    const expected = (
      new WebAssembly.Instance(new WebAssembly.Module(original), {}).exports.check as () => number
    )();
    const instrumented = instrumentModule(original, options);
    assert.ok(WebAssembly.validate(instrumented.bytes));
    const { exports, refills } = instantiateInstrumented(instrumented.bytes, {}, 10);
    assert.equal(await WebAssembly.promising(exports.check as () => number)(), expected);
    assert.ok(refills() > 0, "the tail-recursive function spent fuel");
  });

  test("marks memory written at the entry of every function that can write it, and only those", async () => {
    const writers = {
      store: "(i32.store8 (i32.const 0) (i32.const 1))",
      grow: "(drop (memory.grow (i32.const 0)))",
      fill: "(memory.fill (i32.const 0) (i32.const 1) (i32.const 4))",
      copy: "(memory.copy (i32.const 0) (i32.const 8) (i32.const 4))",
      simd_store: "(v128.store (i32.const 0) (v128.const i64x2 1 1))",
      simd_lane_store: "(v128.store8_lane 0 (i32.const 0) (v128.const i64x2 1 1))",
      atomic_store: "(i32.atomic.store (i32.const 0) (i32.const 1))",
      atomic_rmw: "(drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))",
    };
    const readers = {
      load: "(drop (i32.load (i32.const 0)))",
      atomic_load: "(drop (i32.atomic.load (i32.const 0)))",
      simd_load: "(drop (v128.load (i32.const 0)))",
      call_host: "(call $host)",
    };
    const functions = Object.entries({ ...writers, ...readers })
      .map(([name, body]) => `(func (export "${name}") ${body})`)
      .join("\n");
    const original = await watToWasm(`(module
      (import "env" "host" (func $host))
      (memory (export "memory") 1 2)
      ${functions}
      (func (export "run")))`);
    const { exports } = instantiateInstrumented(instrumentModule(original, options).bytes, {
      env: { host: () => {} },
    });
    const written = exports[MEMORY_WRITTEN_EXPORT] as WebAssembly.Global;
    assert.equal(written.value, 1, "written from instantiation on");
    for (const [name, marks] of [
      ...Object.keys(writers).map((name) => [name, 1] as const),
      ...Object.keys(readers).map((name) => [name, 0] as const),
    ]) {
      written.value = 0;
      (exports[name] as () => void)();
      assert.equal(written.value, marks, name);
    }
  });

  test("passes the instance id to every refill, and marks a module that may catch", async () => {
    const loop = `(func (export "spin") (param $n i32) (loop $l
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n))))`;
    const plain = instrumentModule(await watToWasm(`(module ${loop})`), options);
    const catching = instrumentModule(
      await watToWasm(`(module ${loop} (func (export "guarded")
        (block $caught (try_table (catch_all $caught) (nop)))))`),
      options,
    );
    const exportNames = (bytes: Uint8Array) => readModuleLayout(bytes).exports.map((entry) => entry.name);
    assert.ok(!exportNames(plain.bytes).includes(CATCHES_MARKER_EXPORT), "no try: no marker");
    assert.ok(exportNames(catching.bytes).includes(CATCHES_MARKER_EXPORT), "a try_table: the marker");
    // A legacy `try ... catch_all` in a function no export names, reached only through a table.
    const legacy = instrumentModule(
      await watToWasm(`(module ${loop} (type $v (func)) (table 1 funcref) (elem (i32.const 0) $hidden)
        (func $hidden (try (do (nop)) (catch_all)))
        (func (export "indirect") (call_indirect (type $v) (i32.const 0))))`),
      options,
    );
    assert.ok(exportNames(legacy.bytes).includes(CATCHES_MARKER_EXPORT), "a legacy try: the marker");
    const ids: number[] = [];
    const instance = new WebAssembly.Instance(new WebAssembly.Module(plain.bytes), {});
    (instance.exports[FUEL_TABLE_EXPORT] as WebAssembly.Table).set(
      0,
      refillTrampoline((id) => {
        ids.push(id);
        return 1000;
      }),
    );
    (instance.exports[INSTANCE_ID_EXPORT] as WebAssembly.Global).value = 42;
    await WebAssembly.promising(instance.exports.spin as (n: number) => void)(50_000);
    assert.ok(ids.length > 0, "it refilled");
    assert.deepEqual(new Set(ids), new Set([42]));
  });

  test("refuses exports named like the runtime's", async () => {
    const original = await watToWasm(
      `(module (memory (export "memory") 1) (func (export "run")) (func (export "${START_EXPORT}")))`,
    );
    assert.throws(() => instrumentModule(original, options), /reserves/);
  });

  test("every example guest built from AssemblyScript or C instruments into a valid module", () => {
    const examples = join(import.meta.dirname, "..", "..", "examples");
    const built = readdirSync(examples, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => join(examples, entry.name, "build", `${entry.name}.wasm`))
      .filter((path) => {
        try {
          readFileSync(path);
          return true;
        } catch {
          return false;
        }
      });
    assert.ok(built.length >= 5, `example guests are built by npm install / pretest (found ${built.length})`);
    for (const path of built) {
      const instrumented = instrumentModule(readFileSync(path), {
        moduleLabel: path,
        memoryMaxBytes: 256 * MIB,
      });
      assert.ok(WebAssembly.validate(instrumented.bytes), path);
      assert.ok(instrumented.fuelChecks > 0, path);
    }
  });
});
