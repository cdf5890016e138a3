/**
 * A pooled instance's memory goes back to its image between lives only when the life may have
 * changed it: the guest ran a function that can write memory (the instrumenter's marker,
 * MEMORY_WRITTEN_EXPORT) or a host function reached the memory (GuestMemoryRef.hostAccessed).
 * A life that did neither skips the copy (64 KiB take about 1.3 µs, more than the rest of a
 * pooled spawn); every other life still starts from the image, whoever wrote.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { silentLogger } from "../../src/observe/logger.ts";
import type { GuestMemoryRef } from "../../src/wasm/abi/guest-memory.ts";
import { MEMORY_WRITTEN_EXPORT } from "../../src/wasm/guest-exports.ts";
import { GuestInstance } from "../../src/wasm/guest-instance.ts";
import { type GuestModule, loadGuestModuleBytes } from "../../src/wasm/load-guest-module.ts";
import { ModuleCache } from "../../src/wasm/module-cache.ts";
import { InstanceImage } from "../../src/wasm/process/instance-image.ts";
import { watToWasm } from "../fixtures/wasm/wat-fixtures.ts";
import { MIB, testEnvironment, testHost } from "./harness.ts";

const cache = new ModuleCache({ directory: undefined, logger: silentLogger });

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
    assert.equal(local.host.stats().instancesReused, 4, "one instance served every life");
  } finally {
    await local.kernel.shutdown({ timeoutMs: 1_000 });
  }
}

describe("resetting a pooled instance's memory", () => {
  test("undoes what the guest stored, from any of its functions", async () => {
    // `run` itself stores nothing: the store is in a function it calls through a table.
    const module = await load(
      "stores-in-callee",
      `(module
        (memory (export "memory") 1)
        (table 1 funcref)
        (elem (i32.const 0) $write)
        (type $void (func))
        (func $write (i32.store (i32.const 16) (i32.const 7)))
        (func (export "run")
          (if (i32.load (i32.const 16)) (then unreachable))
          (call_indirect (type $void) (i32.const 0))))`,
    );
    await fiveLives(module);
  });

  test("undoes what a host function wrote into a guest that has no store at all", async () => {
    const module = await load(
      "host-writes",
      `(module
        (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "run")
          (if (i64.ne (i64.load (i32.const 64)) (i64.const 0)) (then unreachable))
          (drop (call $random (i32.const 64) (i32.const 8)))))`,
    );
    await fiveLives(module);
  });

  test("copies nothing after a life that neither stored nor let the host reach the memory", async () => {
    const module = await load(
      "reads-or-writes",
      `(module
        (memory (export "memory") 1)
        (func (export "run") (drop (i32.load (i32.const 0))))
        (func (export "write") (i32.store (i32.const 0) (i32.const 1))))`,
    );
    const memoryRef: GuestMemoryRef = { memory: undefined, hostAccessed: true };
    const guest = GuestInstance.create(module, {
      env: testEnvironment(module, { stdout: "", stderr: "" }),
      cpuMsPerRun: undefined,
      memoryRef,
    });
    const image = InstanceImage.capture(guest.instance, guest.memory, memoryRef, undefined);
    assert.ok(image !== undefined);
    const written = guest.instance.exports[MEMORY_WRITTEN_EXPORT] as WebAssembly.Global;
    const bytes = () => new Uint8Array(guest.memory.buffer);
    // Fresh: marked written, so the first reset copies whatever happened before it.
    assert.equal(written.value, 1);
    assert.ok(image.restore());
    assert.equal(written.value, 0);
    assert.equal(memoryRef.hostAccessed, false);

    assert.deepEqual(await guest.run(), { ok: true });
    assert.equal(written.value, 0, "a function without stores leaves the marker alone");
    // Only a write no guest code and no host function made can survive a reset: none exists.
    bytes()[100] = 5;
    assert.ok(image.restore());
    assert.equal(bytes()[100], 5, "the copy was skipped");

    assert.deepEqual(await guest.run("write"), { ok: true });
    assert.equal(written.value, 1);
    assert.ok(image.restore());
    assert.equal(bytes()[100], 0);
    assert.equal(bytes()[0], 0);

    bytes()[100] = 5;
    memoryRef.hostAccessed = true;
    assert.ok(image.restore());
    assert.equal(bytes()[100], 0, "a host access counts as a write");
  });
});
