import assert from "node:assert/strict";
import { test } from "node:test";
import { recordingEnvironment } from "../../test/fixtures/wasm/guest-runtime.ts";
import { watToWasm } from "../../test/fixtures/wasm/wat-fixtures.ts";
import { silentLogger } from "../observe/logger.ts";
import { FUEL_TABLE_EXPORT, INSTANCE_ID_EXPORT } from "./guest-exports.ts";
import { GuestInstance } from "./guest-instance.ts";
import { loadGuestModuleBytes } from "./load-guest-module.ts";
import { ModuleCache } from "./module-cache.ts";

const SPIN_WAT = `(module
  (memory (export "memory") 1)
  (func (export "run") (loop $forever (br $forever))))`;

test("one refill trampoline serves every instance, each refill reaching its own instance's governor", async () => {
  const cache = new ModuleCache({ directory: undefined, logger: silentLogger });
  const module = await loadGuestModuleBytes(await watToWasm(SPIN_WAT), "spin", {
    memoryMaxBytes: 1024 * 1024,
    cache,
    logger: silentLogger,
  });
  const guests = [0, 1, 2].map(() =>
    GuestInstance.create(module, { env: recordingEnvironment("spin"), cpuMsPerRun: undefined }),
  );
  const slots = guests.map((guest) =>
    (guest.instance.exports[FUEL_TABLE_EXPORT] as WebAssembly.Table).get(0),
  );
  assert.ok(
    slots.every((slot) => slot === slots[0]),
    "the same trampoline in every fuel table",
  );
  const ids = guests.map((guest) => (guest.instance.exports[INSTANCE_ID_EXPORT] as WebAssembly.Global).value);
  assert.equal(new Set(ids).size, guests.length, `distinct instance ids: ${ids.join(", ")}`);

  // All three spin, yielding through their refills; killing the middle one stops it alone.
  const runs = guests.map((guest) => guest.run());
  await new Promise((resolve) => setTimeout(resolve, 20));
  guests[1]!.kill("test");
  const stopped = await runs[1]!;
  assert.equal(stopped.ok ? "ok" : stopped.failure.kind, "killed");
  assert.ok(guests[0]!.governor.yields > 0 && guests[2]!.governor.yields > 0, "the others yielded on");
  const yieldsBefore = guests[0]!.governor.yields;
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.ok(guests[0]!.governor.yields > yieldsBefore, "and still run after the kill");
  guests[0]!.kill("test");
  guests[2]!.kill("test");
  const rest = await Promise.all([runs[0]!, runs[2]!]);
  assert.deepEqual(
    rest.map((result) => (result.ok ? "ok" : result.failure.kind)),
    ["killed", "killed"],
  );
});
