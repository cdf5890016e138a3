import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { type ImportDescriptor, ModuleImportsError, readImports } from "../../src/wasm/module-imports.ts";
import { compileWat } from "./harness.ts";

interface WasmModuleApi {
  validate(bytes: Uint8Array): boolean;
  Module: {
    new (bytes: Uint8Array): object;
    imports(module: object): { module: string; name: string; kind: string }[];
  };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmModuleApi }).WebAssembly;

const ALL_KINDS_WAT = `(module
  (type $unused (func))
  (import "nx" "host_log_v2" (func (param i32 i32) (result i32)))
  (import "nx" "db_scan" (func (param i32 i32 i64 i32 i32 i32) (result i32)))
  (import "env" "floats" (func (param f32 f64) (result f64)))
  (import "env" "vec" (func (param v128) (result v128)))
  (import "env" "refs" (func (param funcref externref) (result externref)))
  (import "env" "table" (table 2 10 funcref))
  (import "env" "memory" (memory 1 4))
  (import "env" "g" (global (mut i64)))
  (import "env" "c" (global f32))
  (import "ünï" "cødé" (func))
  (func (export "run")))`;

function header(...sections: number[][]): Uint8Array {
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...sections.flat()]);
}

function assertMalformed(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => readImports(bytes),
    (error: unknown) =>
      error instanceof ModuleImportsError && error.code === "WASM_MALFORMED" && pattern.test(error.message),
  );
}

describe("readImports", () => {
  test("every import kind and value type, with declared function types", async () => {
    const imports = readImports(await compileWat(ALL_KINDS_WAT));
    assert.deepEqual(imports, [
      {
        kind: "function",
        module: "nx",
        name: "host_log_v2",
        typeIndex: 1,
        type: { params: ["i32", "i32"], results: ["i32"] },
      },
      {
        kind: "function",
        module: "nx",
        name: "db_scan",
        typeIndex: 2,
        type: { params: ["i32", "i32", "i64", "i32", "i32", "i32"], results: ["i32"] },
      },
      {
        kind: "function",
        module: "env",
        name: "floats",
        typeIndex: 3,
        type: { params: ["f32", "f64"], results: ["f64"] },
      },
      {
        kind: "function",
        module: "env",
        name: "vec",
        typeIndex: 4,
        type: { params: ["v128"], results: ["v128"] },
      },
      {
        kind: "function",
        module: "env",
        name: "refs",
        typeIndex: 5,
        type: { params: ["funcref", "externref"], results: ["externref"] },
      },
      {
        kind: "table",
        module: "env",
        name: "table",
        elementType: "funcref",
        limits: { minimum: 2n, maximum: 10n },
        table64: false,
      },
      {
        kind: "memory",
        module: "env",
        name: "memory",
        limits: { minimum: 1n, maximum: 4n },
        shared: false,
        memory64: false,
      },
      { kind: "global", module: "env", name: "g", valueType: "i64", mutable: true },
      { kind: "global", module: "env", name: "c", valueType: "f32", mutable: false },
      { kind: "function", module: "ünï", name: "cødé", typeIndex: 0, type: { params: [], results: [] } },
    ] satisfies ImportDescriptor[]);
  });

  test("tag, shared memory and memory64 imports (hand-assembled)", () => {
    const tag = [1, 0x61, 1, 0x74, 4, 0, 0];
    const shared = [1, 0x61, 1, 0x6d, 2, 3, 1, 2];
    const memory64 = [1, 0x61, 1, 0x6e, 2, 4, 0x80, 0x80, 0x04];
    const body = [3, ...tag, ...shared, ...memory64];
    assert.deepEqual(readImports(header([1, 4, 1, 0x60, 0, 0], [2, body.length, ...body])), [
      { kind: "tag", module: "a", name: "t", typeIndex: 0, type: { params: [], results: [] } },
      {
        kind: "memory",
        module: "a",
        name: "m",
        limits: { minimum: 1n, maximum: 2n },
        shared: true,
        memory64: false,
      },
      {
        kind: "memory",
        module: "a",
        name: "n",
        limits: { minimum: 65536n, maximum: undefined },
        shared: false,
        memory64: true,
      },
    ] satisfies ImportDescriptor[]);
    assertMalformed(header([2, 8, 1, 1, 0x61, 1, 0x6d, 2, 2, 1]), /shared memory needs a maximum/);
  });

  test("modules without imports, or with only custom sections", async () => {
    assert.deepEqual(readImports(await compileWat(`(module (func (export "run")))`)), []);
    assert.deepEqual(readImports(header()), []);
    assert.deepEqual(readImports(header([0, 3, 1, 0x61, 0x62])), []);
  });

  test("malformed input raises ModuleImportsError naming what is wrong", () => {
    assertMalformed(new Uint8Array(0), /magic number/);
    assertMalformed(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x02, 0, 0, 0]), /version/);
    assertMalformed(header([1, 5, 1]), /runs past the end/);
    assertMalformed(header([1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), /LEB128/);
    assertMalformed(header([1, 0xff, 0xff, 0xff, 0xff, 0x7f]), /out of range/);
    assertMalformed(header([1, 2, 0xff, 0x0f]), /exceeds the section/);
    assertMalformed(
      header([1, 4, 1, 0x60, 0, 0], [2, 7, 1, 1, 0x61, 1, 0x62, 0, 5]),
      /type index 5 out of range/,
    );
    assertMalformed(header([2, 7, 1, 1, 0xff, 1, 0x62, 0, 0]), /not valid UTF-8/);
    assertMalformed(header([2, 6, 1, 1, 0x61, 1, 0x62, 9]), /unknown import kind/);
    assertMalformed(header([1, 5, 1, 0x60, 1, 0x63, 0]), /unsupported value type 0x63/);
    assertMalformed(header([1, 4, 1, 0x5f, 0, 0]), /unsupported type form/);
    assertMalformed(header([1, 5, 1, 0x60, 0, 0, 0]), /trailing bytes/);
    assertMalformed(header([1, 1, 0], [1, 1, 0]), /out of order or repeated/);
    assertMalformed(header([2, 9, 1, 1, 0x61, 1, 0x62, 2, 0x01, 5, 2]), /maximum is below/);
    assertMalformed(header([2, 7, 1, 1, 0x61, 1, 0x62, 2, 0x08]), /limits flags/);
    assertMalformed(header([2, 8, 1, 1, 0x61, 1, 0x62, 3, 0x7f, 2]), /mutability/);
    assertMalformed(header([14, 0]), /unknown section/);
  });

  test("large declared counts fail fast instead of allocating", () => {
    const started = performance.now();
    assertMalformed(header([1, 6, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x60]), /exceeds the section/);
    assertMalformed(header([1, 8, 1, 0x60, 0xff, 0xff, 0xff, 0xff, 0x0f, 0]), /exceeds the section/);
    assert.ok(performance.now() - started < 50);
  });

  test("fuzz: random bytes after the header either parse or raise ModuleImportsError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (tail) => {
        try {
          readImports(header([...tail]));
        } catch (error) {
          assert.ok(error instanceof ModuleImportsError, String(error));
        }
      }),
      { seed: 7, numRuns: 2000 },
    );
  });

  test("fuzz: mutated real modules parse or fail typed, and agree with V8 whenever both accept them", async () => {
    const seedModule = await compileWat(ALL_KINDS_WAT);
    const mutation = fc.record({
      flips: fc.array(fc.tuple(fc.nat({ max: seedModule.length - 1 }), fc.integer({ min: 0, max: 255 })), {
        maxLength: 4,
      }),
      cut: fc.nat({ max: seedModule.length }),
    });
    let agreed = 0;
    fc.assert(
      fc.property(mutation, ({ flips, cut }) => {
        const bytes = seedModule.slice(0, Math.max(8, cut === 0 ? seedModule.length : cut));
        for (const [at, value] of flips) if (at >= 8 && at < bytes.length) bytes[at] = value;
        let ours: ImportDescriptor[] | undefined;
        try {
          ours = readImports(bytes);
        } catch (error) {
          assert.ok(error instanceof ModuleImportsError, String(error));
        }
        if (ours === undefined || !wasm.validate(bytes)) return;
        const v8 = wasm.Module.imports(new wasm.Module(bytes));
        const kindName = {
          function: "function",
          table: "table",
          memory: "memory",
          global: "global",
          tag: "tag",
        };
        assert.deepEqual(
          ours.map((i) => [i.module, i.name, kindName[i.kind]]),
          v8.map((i) => [i.module, i.name, i.kind]),
        );
        agreed++;
      }),
      { seed: 11, numRuns: 1500 },
    );
    assert.ok(agreed > 0, "some mutants must still be valid modules");
  });
});
