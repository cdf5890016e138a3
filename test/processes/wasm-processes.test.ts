/**
 * WebAssembly guests as kernel processes: messages both ways, spawning from a guest (own module,
 * other entries, the spawn argument), registry, exit reasons (normal, proc_exit, traps, aborts),
 * and the instance pool giving every process a fresh state.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Pid, ProcessInfo } from "../../src/kernel/index.ts";
import { GuestFailure } from "../../src/wasm/guest-failure.ts";
import type { GuestModule } from "../../src/wasm/load-guest-module.ts";
import { WasmProcessError } from "../../src/wasm/process/index.ts";
import { ask, loadTestGuest, type TestHost, tell, testHost } from "./harness.ts";

let actor: GuestModule;
let noop: GuestModule;
let t: TestHost;

before(async () => {
  actor = await loadTestGuest("proc_actor");
  noop = await loadTestGuest("proc_noop");
  t = testHost([actor, noop]);
});
after(() => t.kernel.shutdown({ timeoutMs: 1_000 }));

function spawnActor(profile?: string): Pid {
  return t.kernel.spawn(t.host.spawnable(actor, { profile }));
}

describe("a guest process", () => {
  test("answers messages, knows its pid, and introspection shows it as wasm", async () => {
    const pid = spawnActor();
    assert.equal(await ask(t.kernel, pid, "ping"), "pong");
    assert.equal(await ask(t.kernel, pid, "self"), String(pid));
    assert.equal(await ask(t.kernel, pid, "count"), "3");
    const info = t.kernel.processInfo(pid);
    assert.ok(info !== undefined && info.status !== "exited");
    assert.equal(info.kind, "wasm");
    assert.equal(info.label, "proc_actor");
    assert.equal(info.status, "waiting", "parked in proc_receive");
    assert.ok(info.memoryBytes >= 65_536, "linear memory counts");
    tell(t.kernel, pid, "stop");
    assert.equal(await t.kernel.whenExited(pid), "normal");
  });

  test("spawns a child of its own module, whose first message is the spawn argument", async () => {
    const parent = spawnActor();
    const child = Number(await ask(t.kernel, parent, "spawn:sandboxed"));
    assert.ok(child > parent, `child pid ${child}`);
    assert.equal(await ask(t.kernel, child as Pid, "first"), `child of ${parent}`);
    assert.equal(t.kernel.processInfo(child as Pid)?.status, "waiting");
    tell(t.kernel, child as Pid, "stop");
    tell(t.kernel, parent, "stop");
    await t.kernel.whenExited(parent);
  });

  test("runs another exported function as the entry point, from JS and from a guest", async () => {
    const worker = t.kernel.spawn(t.host.spawnable(actor, { entry: "worker" }));
    assert.equal((t.kernel.processInfo(worker) as ProcessInfo).label, "proc_actor:worker");
    assert.equal(await ask(t.kernel, worker, "anything"), "worker");
    assert.equal(await t.kernel.whenExited(worker), "normal");

    const parent = spawnActor();
    const child = Number(await ask(t.kernel, parent, "spawn-entry:worker"));
    assert.ok(child > 0);
    assert.equal(await ask(t.kernel, child as Pid, "hello"), "worker");
    assert.equal(await ask(t.kernel, parent, "spawn-entry:no_such_export"), "-1");
    assert.equal(
      await ask(t.kernel, parent, "spawn-entry:__nx_fuel"),
      "-1",
      "runtime exports are not entries",
    );
    tell(t.kernel, parent, "stop");
  });

  test("registers a name, which others resolve and which is released at exit", async () => {
    const a = spawnActor();
    const b = spawnActor();
    assert.equal(await ask(t.kernel, a, "register:svc"), "ok");
    assert.equal(t.kernel.whereis("svc"), a);
    assert.equal(await ask(t.kernel, b, "whereis:svc"), String(a));
    assert.equal(await ask(t.kernel, b, "register:svc"), "no", "a name is held once");
    assert.equal(await ask(t.kernel, b, "register:__nx.system"), "no", "the runtime's prefix is reserved");
    tell(t.kernel, a, "stop");
    await t.kernel.whenExited(a);
    assert.equal(t.kernel.whereis("svc"), undefined);
    assert.equal(await ask(t.kernel, b, "whereis:svc"), "-1");
    tell(t.kernel, b, "stop");
  });

  test("proc_exit ends the process with the guest's reason", async () => {
    const a = spawnActor();
    tell(t.kernel, a, "exit:shutdown");
    assert.equal(await t.kernel.whenExited(a), "shutdown");
    const b = spawnActor();
    tell(t.kernel, b, "exit:normal");
    assert.equal(await t.kernel.whenExited(b), "normal");
    const c = spawnActor();
    tell(t.kernel, c, "exit:gave up");
    assert.equal(await t.kernel.whenExited(c), "gave up");
  });

  test("a trap or an abort becomes the exit reason: a GuestFailure with its kind and message", async () => {
    const a = spawnActor();
    tell(t.kernel, a, "crash");
    const trapped = await t.kernel.whenExited(a);
    assert.ok(trapped instanceof GuestFailure);
    assert.equal(trapped.kind, "unreachable");
    assert.match(trapped.message, /^guest trapped: unreachable executed in function /);

    const b = spawnActor();
    tell(t.kernel, b, "abort");
    const aborted = await t.kernel.whenExited(b);
    assert.ok(aborted instanceof GuestFailure);
    assert.equal(aborted.kind, "abort");
    assert.match(aborted.message, /asked to abort/);
  });

  test("every process starts from the module's initial state, pooled instance or not", async () => {
    for (const idleInstancesMax of [0, 4]) {
      const local = testHost([actor], { idleInstancesMax });
      for (let round = 0; round < 3; round++) {
        const pid = local.kernel.spawn(local.host.spawnable(actor));
        assert.equal(await ask(local.kernel, pid, "ping"), "pong");
        assert.equal(await ask(local.kernel, pid, "count"), "2", `round ${round}: memory was reset`);
        // Leave dirt behind: a trap in the middle of a life.
        tell(local.kernel, pid, "crash");
        await local.kernel.whenExited(pid);
      }
      const stats = local.host.stats();
      if (idleInstancesMax === 0) {
        assert.equal(stats.instancesCreated, 3);
        assert.equal(stats.instancesReused, 0);
      } else {
        assert.equal(stats.instancesCreated, 1, "one instance served every process");
        assert.equal(stats.instancesReused, 2);
      }
      await local.kernel.shutdown({ timeoutMs: 1_000 });
    }
  });

  test("JavaScript spawns of unknown modules, entries or profiles fail with one clear error", () => {
    assert.throws(
      () => t.host.spawnable("nope"),
      (error: unknown) => error instanceof WasmProcessError && error.code === "WASM_PROCESS_UNKNOWN_MODULE",
    );
    assert.throws(
      () => t.host.spawnable(actor, { entry: "missing" }),
      (error: unknown) =>
        error instanceof WasmProcessError &&
        error.code === "WASM_PROCESS_UNKNOWN_ENTRY" &&
        /exports no function "missing"/.test(error.message),
    );
    assert.throws(
      () => t.host.spawnable(actor, { profile: "root" }),
      (error: unknown) => error instanceof WasmProcessError && error.code === "WASM_PROCESS_INVALID_PROFILE",
    );
  });

  test("the process limit refuses spawns beyond it, from JS and from guests", async () => {
    const local = testHost([actor], { processesMax: 2 });
    const a = local.kernel.spawn(local.host.spawnable(actor));
    assert.equal(await ask(local.kernel, a, "spawn:sandboxed").then((r) => Number(r) > 0), true);
    assert.equal(await ask(local.kernel, a, "spawn:sandboxed"), "code:-3");
    assert.throws(
      () => local.kernel.spawn(local.host.spawnable(actor)),
      (error: unknown) => error instanceof WasmProcessError && error.code === "WASM_PROCESS_LIMIT",
    );
    await local.kernel.shutdown({ timeoutMs: 1_000 });
    assert.equal(local.host.stats().liveProcesses, 0);
  });

  test("a process that asks for its pid and ends: the smallest spawn-to-exit", async () => {
    const pids = Array.from({ length: 50 }, () => t.kernel.spawn(t.host.spawnable(noop)));
    const reasons = await Promise.all(pids.map((pid) => t.kernel.whenExited(pid)));
    assert.deepEqual(new Set(reasons), new Set(["normal"]));
  });
});
