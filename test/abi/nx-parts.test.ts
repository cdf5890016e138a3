import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AbiContext } from "../../src/wasm/abi/abi-context.ts";
import { createNxImports, NX_FUNCTION_SIGNATURES, NX_PARTS } from "../../src/wasm/abi/nx-imports.ts";
import { WASI_MODULE } from "../../src/wasm/abi/wasi-signatures.ts";
import { buildStandardImports, checkImports } from "../../src/wasm/guest-imports.ts";
import type { ImportDescriptor } from "../../src/wasm/module-imports.ts";
import { ModuleLoadError } from "../../src/wasm/module-load-error.ts";
import { recordingEnvironment } from "./harness.ts";

const noType = () => undefined;

function functionImport(module: string, name: string): ImportDescriptor {
  return { kind: "function", module, name, typeIndex: 0, type: { params: [], results: [] } };
}

describe("the parts of the nx import object", () => {
  test("each nx function is provided by exactly one part, which makes it and nothing it does not provide", () => {
    const { env } = recordingEnvironment();
    const ctx = new AbiContext(env, { memory: undefined });
    const made = NX_PARTS.map((part) => Object.keys(part.create(ctx, noType)));
    for (const name of NX_FUNCTION_SIGNATURES.keys()) {
      const providers = NX_PARTS.flatMap((part, index) => (part.provides(name) ? [index] : []));
      assert.equal(providers.length, 1, `${name} is provided by parts ${providers.join(", ")}`);
      assert.ok(made[providers[0]!]!.includes(name), `the part providing ${name} does not make it`);
    }
    NX_PARTS.forEach((part, index) => {
      for (const name of made[index]!)
        assert.ok(part.provides(name), `part ${index} makes ${name}, not its own`);
    });
    assert.equal(made.flat().length, NX_FUNCTION_SIGNATURES.size);
  });

  test("a guest's import object holds only the modules, nx parts and WASI functions it imports", () => {
    const { env } = recordingEnvironment();
    const wasiOnly = buildStandardImports(env, { memory: undefined }, [
      functionImport(WASI_MODULE, "fd_write"),
    ]);
    assert.deepEqual(Object.keys(wasiOnly), [WASI_MODULE]);
    assert.deepEqual(Object.keys(wasiOnly[WASI_MODULE]!), ["fd_write"]);
    const store = buildStandardImports(env, { memory: undefined }, [functionImport("nx", "db_get")]);
    assert.deepEqual(Object.keys(store), ["nx"]);
    assert.deepEqual(
      Object.keys(store.nx!).sort(),
      [...NX_FUNCTION_SIGNATURES.keys()].filter((n) => n.startsWith("db_")).sort(),
    );
    // Without the names, every part (an embedder's or a test's full import object).
    const every = createNxImports(env, { memory: undefined }, noType);
    assert.deepEqual(Object.keys(every).sort(), [...NX_FUNCTION_SIGNATURES.keys()].sort());
  });

  test("an import named across the lines of a signature table is unknown, not the function on the next line", () => {
    const crafted = functionImport("nx", "db_get: i32 i32 i32 i32 -> i32\ndb_set");
    assert.throws(
      () => checkImports("crafted", [crafted]),
      (error) => error instanceof ModuleLoadError && /unknown import/.test(error.message),
    );
  });
});
