/**
 * Thousands of guests parked in receive at once: each waits on its own suspended stack (JSPI),
 * the event loop stays free for timers and other processes, and a message wakes each one.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Pid } from "../../src/kernel/index.ts";
import type { GuestModule } from "../../src/wasm/load-guest-module.ts";
import { guestMessage } from "../../src/wasm/process/index.ts";
import { ask, loadTestGuest, type TestHost, tell, testHost, waitFor } from "./harness.ts";

const PARKED = 2_000;

let idle: GuestModule;
let actor: GuestModule;
let t: TestHost;

before(async () => {
  idle = await loadTestGuest("proc_idle");
  actor = await loadTestGuest("proc_actor");
  t = testHost([idle, actor], { idleInstancesMax: PARKED });
});
after(() => t.kernel.shutdown({ timeoutMs: 5_000 }));

test(`${PARKED} guests parked in receive leave the event loop responsive`, { timeout: 60_000 }, async () => {
  const pids: Pid[] = [];
  for (let i = 0; i < PARKED; i++) pids.push(t.kernel.spawn(t.host.spawnable(idle)));
  await waitFor(
    () => t.kernel.processes().filter((p) => p.kind === "wasm" && p.status === "waiting").length === PARKED,
    20_000,
    "every guest parked",
  );

  // Timers fire on time: nothing is spinning.
  const latenciesMs: number[] = [];
  for (let i = 0; i < 20; i++) {
    const startedMs = performance.now();
    await new Promise((r) => setTimeout(r, 1));
    latenciesMs.push(performance.now() - startedMs);
  }
  latenciesMs.sort((a, b) => a - b);
  assert.ok(latenciesMs[10]! < 20, `median 1 ms timer took ${latenciesMs[10]} ms`);

  // Another wasm process answers at once.
  const server = t.kernel.spawn(t.host.spawnable(actor));
  for (let i = 0; i < 20; i++) assert.equal(await ask(t.kernel, server, "ping"), "pong");
  tell(t.kernel, server, "stop");

  // One message each wakes them all; they end normally and their instances go back to the pool.
  const exits = pids.map((pid) => t.kernel.whenExited(pid));
  for (const pid of pids) t.kernel.send(pid, guestMessage(0 as Pid, "wake"));
  const reasons = await Promise.all(exits);
  assert.deepEqual(new Set(reasons), new Set(["normal"]));
  const stats = t.host.stats();
  assert.equal(stats.liveProcesses, 0);
  assert.ok(stats.idleInstances >= PARKED, `idle instances: ${stats.idleInstances}`);

  // A second wave reuses them: no new instantiation.
  const created = stats.instancesCreated;
  const again = Array.from({ length: 200 }, () => t.kernel.spawn(t.host.spawnable(idle)));
  await waitFor(
    () => again.every((pid) => t.kernel.processInfo(pid)?.status === "waiting"),
    10_000,
    "second wave",
  );
  assert.equal(t.host.stats().instancesCreated, created);
  for (const pid of again) t.kernel.send(pid, "wake");
  await Promise.all(again.map((pid) => t.kernel.whenExited(pid)));
});
