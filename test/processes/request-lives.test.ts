/**
 * Request lives (src/wasm/process/wasm-process-backend.ts): a guest run on a pooled instance
 * without a kernel process until its first `proc_*` call, which makes one there and then; its
 * end, its stop, and its exports called through the instance's export loop.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { ExitReason } from "../../src/kernel/index.ts";
import type { GuestModule } from "../../src/wasm/load-guest-module.ts";
import type { WasmProcessExit } from "../../src/wasm/process/index.ts";
import { ask, loadTestGuest, type TestHost, tell, testHost, waitFor } from "./harness.ts";

let actor: GuestModule;
let spin: GuestModule;
let t: TestHost;

before(async () => {
  actor = await loadTestGuest("proc_actor");
  spin = await loadTestGuest("proc_spin");
  t = testHost([actor, spin]);
});
after(() => t.kernel.shutdown({ timeoutMs: 1_000 }));

/** Runs `module`'s `run` as a request life; its exit once it ends. */
function runLife(module: GuestModule) {
  let exit: WasmProcessExit | undefined;
  let resolveEnded!: (exit: WasmProcessExit) => void;
  const ended = new Promise<WasmProcessExit>((resolve) => {
    resolveEnded = resolve;
  });
  const life = t.host.runRequest(
    module,
    {
      profile: "trusted",
      onExit: (each) => {
        exit = each;
        resolveEnded(each);
      },
    },
    (spawnable) => t.kernel.spawnRunning(spawnable),
  );
  return { life, ended, exited: () => exit };
}

function spawned(): number {
  return t.kernel.stats().spawnedTotal;
}

describe("a request life", () => {
  test("gets its process at its first proc_* call, then lives as one: messages, its pid, proc_exit", async () => {
    const before = spawned();
    const { life, ended } = runLife(actor);
    // proc_actor's first call is a receive: the process exists as soon as that call is made.
    await waitFor(() => life.pid !== undefined, 5_000, "the first proc_* call");
    const pid = life.pid!;
    assert.equal(spawned(), before + 1);
    assert.equal(t.kernel.processInfo(pid)?.status, "waiting", "parked in proc_receive, as a process");
    assert.equal(await ask(t.kernel, pid, "ping"), "pong");
    assert.equal(await ask(t.kernel, pid, "self"), String(pid));
    tell(t.kernel, pid, "exit:done");
    const exit = await ended;
    assert.equal(exit.pid, pid);
    assert.equal(exit.reason, "done");
  });

  test("that never calls proc_* ends without a process; stopped, its instance is not reused", async () => {
    const before = spawned();
    const created = t.host.stats().instancesCreated;
    const { life, ended, exited } = runLife(spin);
    // The spin yields to the event loop every slice: other work goes on while it runs.
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(exited(), undefined, "still running");
    assert.equal(life.pid, undefined);
    life.terminate("kill" as ExitReason);
    const exit = await ended;
    assert.equal(exit.reason, "kill");
    assert.equal(exit.pid, undefined);
    assert.equal(spawned(), before, "no kernel process at any point");
    // A killed guest's instance cannot be reset: the next life gets a new one.
    const next = runLife(spin);
    await waitFor(() => t.host.stats().instancesCreated === created + 2, 5_000, "a second instance");
    next.life.terminate("kill" as ExitReason);
    await next.ended;
  });

  test("a trap after the process exists ends the process with the guest's failure", async () => {
    const { life, ended } = runLife(actor);
    await waitFor(() => life.pid !== undefined, 5_000, "the first proc_* call");
    tell(t.kernel, life.pid!, "crash");
    const exit = await ended;
    assert.equal(exit.failure?.kind, "unreachable");
    assert.equal(exit.reason, exit.failure);
  });
});
