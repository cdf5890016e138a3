import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fixtureWasm } from "../../test/fixtures/wasm/wat-fixtures.ts";
import { silentLogger } from "../observe/logger.ts";
import { loadGuestModuleBytes, loadGuestModuleFile, moduleIdOf } from "./load-guest-module.ts";
import { ModuleCache } from "./module-cache.ts";
import { ModuleLoadError } from "./module-load-error.ts";

const dir = mkdtempSync(join(tmpdir(), "nx-load-module-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const MIB = 1024 * 1024;

describe("loadGuestModule", () => {
  test("instruments once, then hits the process cache, then (new process) the disk cache", async () => {
    const bytes = await fixtureWasm("start-function");
    const cacheDir = join(dir, "cache");
    const options = {
      memoryMaxBytes: 16 * MIB,
      cache: new ModuleCache({ directory: cacheDir, logger: silentLogger }),
      logger: silentLogger,
    };
    const first = await loadGuestModuleBytes(bytes, "apps/start-function.wasm", options);
    assert.equal(first.origin, "instrumented");
    assert.equal(first.moduleId, "start-function");
    assert.equal(first.hasStart, true);
    assert.equal(readdirSync(cacheDir).length, 1);
    const second = await loadGuestModuleBytes(bytes, "start-function.wasm", options);
    assert.equal(second.origin, "process-cache");
    assert.equal(second.module, first.module);
    const fresh = { ...options, cache: new ModuleCache({ directory: cacheDir, logger: silentLogger }) };
    const third = await loadGuestModuleBytes(bytes, "start-function.wasm", fresh);
    assert.equal(third.origin, "disk-cache");
    assert.equal(third.hasStart, true);
    assert.deepEqual(third.imports, first.imports);
    assert.deepEqual([...third.exportedFunctions.values()], ["run"]);
  });

  test("the memory cap is part of the cache key", async () => {
    const bytes = await fixtureWasm("hello");
    const cache = new ModuleCache({ directory: undefined, logger: silentLogger });
    const small = await loadGuestModuleBytes(bytes, "hello.wasm", {
      memoryMaxBytes: 1 * MIB,
      cache,
      logger: silentLogger,
    });
    const large = await loadGuestModuleBytes(bytes, "hello.wasm", {
      memoryMaxBytes: 2 * MIB,
      cache,
      logger: silentLogger,
    });
    assert.equal(large.origin, "instrumented");
    assert.notEqual(small.module, large.module);
  });

  test("load failures are ModuleLoadErrors naming the file", async () => {
    const options = {
      memoryMaxBytes: MIB,
      cache: new ModuleCache({ directory: undefined, logger: silentLogger }),
      logger: silentLogger,
    };
    await assert.rejects(loadGuestModuleFile(join(dir, "none.wasm"), options), (error: unknown) => {
      return (
        error instanceof ModuleLoadError && error.failure === "not_found" && error.code === "MODULE_NOT_FOUND"
      );
    });
    await assert.rejects(loadGuestModuleFile(dir, options), /is a directory/);
    writeFileSync(join(dir, "empty.wasm"), "");
    await assert.rejects(
      loadGuestModuleFile(join(dir, "empty.wasm"), options),
      /is empty, not a WebAssembly module/,
    );
  });

  test("module ids drop the .wasm extension only", () => {
    assert.equal(moduleIdOf("a/b/kv_counter.wasm"), "kv_counter");
    assert.equal(moduleIdOf("guest"), "guest");
  });
});

describe("reactive modules at load", () => {
  const options = () => ({
    memoryMaxBytes: 16 * MIB,
    cache: new ModuleCache({ directory: join(dir, "reactive-cache"), logger: silentLogger }),
    logger: silentLogger,
  });

  test("a module with callbacks and no run loads; a mistyped callback is refused naming it", async () => {
    const { compileWat } = await import("../../test/abi/harness.ts");
    const reactive = await compileWat(
      `(module (memory (export "memory") 1) (func (export "init")) (func (export "on_message") (param i32 i32)))`,
    );
    const module = await loadGuestModuleBytes(reactive, "reactive.wasm", options());
    assert.equal(module.moduleId, "reactive");
    for (const [wat, name] of [
      [`(func (export "on_message") (param i32))`, "on_message"],
      [`(func (export "on_tick") (param i64))`, "on_tick"],
      [`(func (export "init") (result i32) (i32.const 0))`, "init"],
      [`(func (export "on_remote_op") (param i64 i32))`, "on_remote_op"],
    ] as const) {
      const bytes = await compileWat(`(module (memory (export "memory") 1) ${wat})`);
      await assert.rejects(loadGuestModuleBytes(bytes, "bad.wasm", options()), (error: unknown) => {
        assert.ok(error instanceof ModuleLoadError);
        assert.equal(error.code, "MODULE_BAD_CALLBACK");
        assert.match(
          error.message,
          new RegExp(`^module bad\\.wasm exports the callback ${name} with another signature than`),
        );
        return true;
      });
    }
  });
});
