import assert from "node:assert/strict";
import { test } from "node:test";
import { RecordingCrdtHost } from "../../test/abi/recording-crdt-host.ts";
import { loadFixtureModule, recordingEnvironment } from "../../test/fixtures/wasm/guest-runtime.ts";
import { watToWasm } from "../../test/fixtures/wasm/wat-fixtures.ts";
import { advanceSettled } from "../clock/settled-advance.ts";
import { createVirtualClock } from "../clock/virtual-clock.ts";
import { silentLogger } from "../observe/logger.ts";
import { createQuotaGate } from "../policy/quota-gate.ts";
import { createGuestStore } from "../store/guest-store.ts";
import { createMemoryBackend } from "../store/memory-backend.ts";
import { GuestUsage } from "./abi/host-call-quota.ts";
import { GuestInstance } from "./guest-instance.ts";
import { loadGuestModuleBytes } from "./load-guest-module.ts";
import { ModuleCache } from "./module-cache.ts";

const encoder = new TextEncoder();

test("a guest over bytes_written_per_sec waits in its db_set (not CPU time), and every write lands", async () => {
  // bench-crdt: [0] op (1: db_set of the 10-byte key and a 100-byte value), [4] iterations, [8] sum of the results.
  const module = await loadFixtureModule("bench-crdt");
  const store = createGuestStore(createMemoryBackend());
  const usage = new GuestUsage();
  const bytesPerCall = 110;
  const env = {
    ...recordingEnvironment("writer", store),
    usage,
    // One second holds 20 calls: the burst goes at once, the next 20 take 50 ms each.
    quota: createQuotaGate("writer", { bytesWrittenPerSec: 20 * bytesPerCall }, usage, silentLogger, () =>
      performance.now(),
    ),
  };
  const guest = GuestInstance.create(module, { env, cpuMsPerRun: 500 });
  const view = new DataView(guest.memory.buffer);
  view.setUint32(0, 1, true);
  view.setUint32(4, 40, true);
  const started = performance.now();
  assert.deepEqual(await guest.run(), { ok: true });
  const elapsedMs = performance.now() - started;
  assert.equal(view.getInt32(8, true), 0, "every db_set answered 0");
  // 4400 bytes at 2200 a second with a 2200-byte burst: at least a second, however fast or slow the guest ran.
  assert.ok(elapsedMs >= 900, `20 calls past the burst took ${elapsedMs} ms`);
  assert.ok(guest.governor.usedMs < 500, "the waits did not count against the CPU budget");
  assert.equal(usage.bytesWritten, 40 * bytesPerCall);
  // About 20 calls waited (fewer when the guest ran slowly enough for the bucket to refill meanwhile).
  const waited = usage.quotaHits.get("bytes_written_per_sec") ?? 0;
  assert.ok(waited >= 10 && waited <= 20, `${waited} calls waited`);
  assert.equal(store.get(encoder.encode("bench/hits"))?.length, 100);
});

test("a quota's waits run on the instance's clock: virtual time lets the throttled guest through", async () => {
  const module = await loadFixtureModule("bench-crdt");
  const clock = createVirtualClock();
  const usage = new GuestUsage();
  const bytesPerCall = 110;
  const env = {
    ...recordingEnvironment("writer", createGuestStore(createMemoryBackend())),
    usage,
    quota: createQuotaGate("writer", { bytesWrittenPerSec: 20 * bytesPerCall }, usage, silentLogger, () =>
      clock.now(),
    ),
  };
  const guest = GuestInstance.create(module, { env, cpuMsPerRun: 500, clock });
  const view = new DataView(guest.memory.buffer);
  view.setUint32(0, 1, true);
  view.setUint32(4, 40, true);
  let result: unknown;
  const running = guest.run().then((r) => {
    result = r;
  });
  // 20 calls past the burst wait 50 ms each, on virtual time only: a second of it lets them all through.
  for (let step = 0; step < 30 && result === undefined; step++) await advanceSettled(clock, 50);
  assert.deepEqual(result, { ok: true }, "the run ended as virtual time passed");
  await running;
  assert.ok(clock.now() >= 950, `ended at virtual ${clock.now()} ms`);
  assert.equal(usage.bytesWritten, 40 * bytesPerCall);
});

test("a call that answers an error code uses none of the quota: refused db_sets leave the bucket full", async () => {
  // 20 db_set of the reserved key __nx/x (-4, nothing written), then one of key k: 100 bytes each,
  // as much as one second of the quota holds. The answers go to [0] (-4 count) and [4] (last).
  const wat = `(module
    (import "nx" "db_set" (func $db_set (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 64) "__nx/x")
    (data (i32.const 80) "k")
    (func (export "run")
      (local $i i32)
      (loop $refused
        (if (i32.eq (call $db_set (i32.const 64) (i32.const 6) (i32.const 256) (i32.const 94)) (i32.const -4))
          (then (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $refused (i32.lt_u (local.get $i) (i32.const 20))))
      (i32.store (i32.const 4) (call $db_set (i32.const 80) (i32.const 1) (i32.const 256) (i32.const 99)))))`;
  const module = await loadGuestModuleBytes(
    await watToWasm(wat, "refused-writes.wat"),
    "refused-writes.wasm",
    {
      memoryMaxBytes: 1024 * 1024,
      cache: new ModuleCache({ directory: undefined, logger: silentLogger }),
      logger: silentLogger,
    },
  );
  const clock = createVirtualClock();
  const usage = new GuestUsage();
  const store = createGuestStore(createMemoryBackend());
  const env = {
    ...recordingEnvironment("writer", store),
    usage,
    quota: createQuotaGate("writer", { bytesWrittenPerSec: 100 }, usage, silentLogger, () => clock.now()),
  };
  const guest = GuestInstance.create(module, { env, cpuMsPerRun: 500, clock });
  let result: unknown;
  const running = guest.run().then((r) => {
    result = r;
  });
  // Virtual time does not move: a call made to wait would never return.
  await advanceSettled(clock, 0);
  assert.deepEqual(result, { ok: true }, "no call waited");
  await running;
  const view = new DataView(guest.memory.buffer);
  assert.equal(view.getInt32(0, true), 20, "every reserved-key db_set answered -4");
  assert.equal(view.getInt32(4, true), 0, "the valid db_set ran at once");
  assert.equal(usage.quotaHits.get("bytes_written_per_sec"), undefined);
  assert.equal(usage.bytesWritten, 100);
  assert.equal(store.get(encoder.encode("k"))?.length, 99);
});

test("an RGA insert whose id does not fit still made its op: it keeps its ops_per_sec token", async () => {
  // 40 crdt_rga_insert of distinct one-byte values with out_id_cap 0: each inserts an element and
  // answers -2 (the id does not fit). [0] counts the -2 answers.
  const wat = `(module
    (import "nx" "crdt_rga_insert" (func $insert (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 64) "seq")
    (func (export "run")
      (local $i i32)
      (loop $insert
        (i32.store8 (i32.const 128) (local.get $i))
        (if (i32.eq (call $insert (i32.const 64) (i32.const 3) (i32.const 0) (i32.const 0)
                              (i32.const 128) (i32.const 1) (i32.const 256) (i32.const 0))
                    (i32.const -2))
          (then (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $insert (i32.lt_u (local.get $i) (i32.const 40))))))`;
  const module = await loadGuestModuleBytes(await watToWasm(wat, "rga-flood.wat"), "rga-flood.wasm", {
    memoryMaxBytes: 1024 * 1024,
    cache: new ModuleCache({ directory: undefined, logger: silentLogger }),
    logger: silentLogger,
  });
  const clock = createVirtualClock();
  const usage = new GuestUsage();
  const crdt = new RecordingCrdtHost();
  const env = {
    ...recordingEnvironment("flooder", createGuestStore(createMemoryBackend())),
    crdt,
    usage,
    quota: createQuotaGate("flooder", { opsPerSec: 20 }, usage, silentLogger, () => clock.now()),
  };
  const guest = GuestInstance.create(module, { env, cpuMsPerRun: 500, clock });
  let result: unknown;
  const running = guest.run().then((r) => {
    result = r;
  });
  const inserts = () => crdt.calls.filter(([call]) => call === "rgaInsert").length;
  // Virtual time does not move: the burst (20 ops) goes through, the 21st waits.
  await advanceSettled(clock, 0);
  assert.equal(result, undefined, "the insert past the burst waits");
  assert.equal(inserts(), 20, "a second of the quota made 20 elements");
  for (let step = 0; step < 30 && result === undefined; step++) await advanceSettled(clock, 50);
  assert.deepEqual(result, { ok: true });
  await running;
  assert.equal(new DataView(guest.memory.buffer).getInt32(0, true), 40, "every insert answered -2");
  assert.equal(inserts(), 40);
  assert.ok(clock.now() >= 950, `40 ops at 20/s ended at virtual ${clock.now()} ms`);
  assert.equal(usage.ops, 40, "each insert counts as an op");
});
