/**
 * Preemption and per-process limits: a runaway guest yields to the kernel's scheduler at its
 * fuel checks, so JS processes, timers and other wasm processes keep running; the CPU budget and
 * the memory cap end only the process that exceeds them.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { TIMEOUT } from "../../src/kernel/index.ts";
import { GuestFailure } from "../../src/wasm/guest-failure.ts";
import type { GuestModule } from "../../src/wasm/load-guest-module.ts";
import { ask, loadTestGuest, MIB, type TestHost, tell, testHost, waitFor } from "./harness.ts";

let actor: GuestModule;
let spin: GuestModule;
let t: TestHost;

before(async () => {
  actor = await loadTestGuest("proc_actor");
  spin = await loadTestGuest("proc_spin");
  t = testHost([actor, spin]);
});
after(() => t.kernel.shutdown({ timeoutMs: 1_000 }));

describe("a runaway wasm process", () => {
  test("does not starve a JS process waiting on timers and messages", async () => {
    const runaway = t.kernel.spawn(t.host.spawnable(spin));
    const startedMs = performance.now();
    const done = new Promise<number>((resolve) => {
      t.kernel.spawn(async (ctx) => {
        for (let i = 0; i < 40; i++) {
          assert.equal(await ctx.receive(undefined, 2), TIMEOUT);
          ctx.send(ctx.self, i);
          assert.equal(await ctx.receive(), i);
        }
        resolve(performance.now() - startedMs);
      });
    });
    const elapsedMs = await done;
    // 40 waits of 2 ms; with the runaway taking 4 ms slices in between, well under a second
    // (loose for shared CI machines; a starved loop would never get here).
    assert.ok(elapsedMs < 3_000, `JS process took ${Math.round(elapsedMs)} ms`);
    assert.equal(t.kernel.isAlive(runaway), true, "the runaway is still running");
    assert.ok((t.kernel.processInfo(runaway) as { reductions: number }).reductions > 5, "and it got slices");
    const exited = t.kernel.whenExited(runaway);
    t.kernel.exit(runaway, "kill");
    assert.equal(await exited, "killed");
  });

  test("does not starve other wasm processes, and two runaways share the CPU", async () => {
    const a = t.kernel.spawn(t.host.spawnable(spin));
    const b = t.kernel.spawn(t.host.spawnable(spin));
    const server = t.kernel.spawn(t.host.spawnable(actor));
    const latenciesMs: number[] = [];
    for (let i = 0; i < 30; i++) {
      const sentMs = performance.now();
      assert.equal(await ask(t.kernel, server, "ping"), "pong");
      latenciesMs.push(performance.now() - sentMs);
    }
    latenciesMs.sort((x, y) => x - y);
    // Each runaway holds the thread for one 4 ms slice at a time.
    assert.ok(latenciesMs[15]! < 200, `median ping latency ${latenciesMs[15]} ms`);
    const reductions = (pid: number) =>
      (t.kernel.processInfo(pid as never) as { reductions: number }).reductions;
    const [a0, b0] = [reductions(a), reductions(b)];
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(reductions(a) > a0 && reductions(b) > b0, "both runaways keep getting slices");
    for (const pid of [a, b]) t.kernel.exit(pid, "kill");
    tell(t.kernel, server, "stop");
    await t.kernel.whenExited(server);
  });
});

describe("per-process limits", () => {
  test("cpu_ms_per_run ends the process that exceeds it; waiting in receive costs nothing", async () => {
    const limited = testHost([actor, spin], { cpuMsPerRun: 150 });
    const { kernel, host } = limited;
    const patient = kernel.spawn(host.spawnable(actor));
    const runaway = kernel.spawn(host.spawnable(spin));
    const reason = await kernel.whenExited(runaway);
    assert.ok(reason instanceof GuestFailure, String(reason));
    assert.equal(reason.kind, "cpu_budget");
    assert.match(reason.message, /cpu_ms_per_run = 150/);
    // The patient process has been parked in receive longer than the budget: still fine.
    assert.equal(await ask(kernel, patient, "ping"), "pong");
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await ask(kernel, patient, "ping"), "pong");
    await kernel.shutdown({ timeoutMs: 1_000 });
  });

  test("the memory cap ends the process that reaches it; the next process of the module is fresh", async () => {
    const small = await loadTestGuest("proc_actor", 1 * MIB);
    const limited = testHost([small]);
    const { kernel, host } = limited;
    const hog = kernel.spawn(host.spawnable(small));
    const exited = kernel.whenExited(hog);
    tell(kernel, hog, "hog");
    const reason = await exited;
    assert.ok(reason instanceof GuestFailure, String(reason));
    assert.equal(reason.kind, "memory_cap");
    assert.match(reason.message, /memory cap of 1 MiB reached/);
    const next = kernel.spawn(host.spawnable(small));
    assert.equal(await ask(kernel, next, "count"), "1");
    assert.ok((kernel.processInfo(next) as { memoryBytes: number }).memoryBytes < 1 * MIB);
    await kernel.shutdown({ timeoutMs: 1_000 });
  });

  test("a guest in an endless loop stops at once when its process is killed", async () => {
    const server = t.kernel.spawn(t.host.spawnable(actor));
    tell(t.kernel, server, "spin");
    await waitFor(() => (t.kernel.processInfo(server) as { reductions: number }).reductions > 3);
    const exited = t.kernel.whenExited(server);
    t.kernel.exit(server, "kill");
    assert.equal(await exited, "killed");
    assert.equal(t.host.stats().liveProcesses, 0);
  });
});
