/**
 * A module whose start function calls no import gets a start image: pooled instances are
 * restored to the state the start function leaves and their lives skip it (src/wasm/process/
 * start-image.ts). One that calls an import, loops past the trial's fuel (even catching what it
 * can catch) or grows its memory runs its start function in every life, as before. Either way
 * every life starts from the state a fresh instance has after its start function.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { silentLogger } from "../../src/observe/logger.ts";
import { type GuestModule, loadGuestModuleBytes } from "../../src/wasm/load-guest-module.ts";
import { ModuleCache } from "../../src/wasm/module-cache.ts";
import { START_IMAGE_FUEL_UNITS_MAX, startImageOf } from "../../src/wasm/process/start-image.ts";
import { watToWasm } from "../fixtures/wasm/wat-fixtures.ts";
import { MIB, testHost } from "./harness.ts";

const cache = new ModuleCache({ directory: undefined, logger: silentLogger });

/**
 * `run` traps unless the start function's work is there exactly once (global 1, memory word 42),
 * then dirties both, so a life that saw a previous one's state would trap.
 */
function guest(startBody: string, imports = ""): string {
  return `(module
    ${imports}
    (memory (export "memory") 1)
    (global $g (mut i32) (i32.const 0))
    (func $start
      (global.set $g (i32.add (global.get $g) (i32.const 1)))
      (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 42)))
      ${startBody})
    (start $start)
    (func (export "run")
      (if (i32.ne (global.get $g) (i32.const 1)) (then unreachable))
      (if (i32.ne (i32.load (i32.const 0)) (i32.const 42)) (then unreachable))
      (global.set $g (i32.const 7))
      (i32.store (i32.const 0) (i32.const 99))))`;
}

async function load(name: string, wat: string): Promise<GuestModule> {
  const bytes = await watToWasm(wat, `${name}.wat`);
  return loadGuestModuleBytes(bytes, name, { memoryMaxBytes: 16 * MIB, cache, logger: silentLogger });
}

/** Five processes of `module` on a pool of one instance: each must end normally. */
async function fiveLives(module: GuestModule): Promise<void> {
  const local = testHost([module], { idleInstancesMax: 4 });
  try {
    for (let life = 0; life < 5; life++) {
      const pid = local.kernel.spawn(local.host.spawnable(module));
      assert.equal(await local.kernel.whenExited(pid), "normal", `life ${life}`);
    }
    const stats = local.host.stats();
    assert.equal(stats.instancesCreated, 1);
    assert.equal(stats.instancesReused, 4);
  } finally {
    await local.kernel.shutdown({ timeoutMs: 1_000 });
  }
}

describe("start images", () => {
  test("a start function that calls no import leaves an image; every life starts from it", async () => {
    const module = await load("pure_start", guest(""));
    const image = startImageOf(module);
    assert.ok(image !== undefined);
    assert.equal(new DataView(image.memory.buffer).getInt32(0, true), 42);
    assert.ok([...image.globals.values()].includes(1), "the start function's global value is in the image");
    await fiveLives(module);
  });

  test("a start function that calls an import runs in every life", async () => {
    const module = await load(
      "import_start",
      guest("(drop (call $now))", `(import "nx" "time_now" (func $now (result i64)))`),
    );
    assert.equal(startImageOf(module), undefined);
    await fiveLives(module);
  });

  test("a start function that catches the import's failure is still seen calling it", async () => {
    const module = await load(
      "caught_import_start",
      guest("(try (do (drop (call $now))) (catch_all))", `(import "nx" "time_now" (func $now (result i64)))`),
    );
    assert.equal(startImageOf(module), undefined);
    await fiveLives(module);
  });

  test(`a start function past ${START_IMAGE_FUEL_UNITS_MAX} fuel units is stopped, even one that catches`, async () => {
    const looping = await load(
      "looping_start",
      `(module (import "nx" "time_now" (func $now (result i64)))
        (memory (export "memory") 1)
        (func $start (loop $again (try (do (drop (call $now))) (catch_all)) (br $again)))
        (start $start) (func (export "run")))`,
    );
    assert.equal(startImageOf(looping), undefined);
  });

  test("a start function that grows its memory runs in every life", async () => {
    const module = await load("growing_start", guest("(drop (memory.grow (i32.const 1)))"));
    assert.equal(startImageOf(module), undefined);
  });
});
