/**
 * WebAssembly processes in supervision trees and in the failure web: a trapping wasm child is
 * restarted by its supervisor with a fresh state; links and monitors work both ways between wasm
 * and JavaScript processes, with exit reasons (the trap kind) intact.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  ExitMessage,
  isDownMessage,
  isExitMessage,
  type Pid,
  supervisor,
  TIMEOUT,
  whichChildren,
} from "../../src/kernel/index.ts";
import { GuestFailure } from "../../src/wasm/guest-failure.ts";
import type { GuestModule } from "../../src/wasm/load-guest-module.ts";
import { ask, loadTestGuest, type TestHost, tell, testHost, waitFor } from "./harness.ts";

let actor: GuestModule;
let t: TestHost;

before(async () => {
  actor = await loadTestGuest("proc_actor");
  t = testHost([actor]);
});
after(() => t.kernel.shutdown({ timeoutMs: 1_000 }));

async function childPid(sup: Pid, id: string): Promise<Pid> {
  const child = (await whichChildren(t.kernel, sup)).find((c) => c.id === id);
  assert.ok(child?.pid, `child ${id} is running`);
  return child.pid;
}

describe("supervised wasm processes", () => {
  test("a trapping child is restarted by its supervisor, with its state reset", async () => {
    const sup = t.kernel.spawn(
      supervisor({
        strategy: "one_for_one",
        maxRestarts: 5,
        periodMs: 10_000,
        children: [{ id: "actor", start: t.host.spawnable(actor) }],
      }),
    );
    const first = await childPid(sup, "actor");
    for (let i = 0; i < 4; i++) assert.equal(await ask(t.kernel, first, "ping"), "pong");
    assert.equal(await ask(t.kernel, first, "count"), "5");
    const reused = t.host.stats().instancesReused;

    const down = t.kernel.whenExited(first);
    tell(t.kernel, first, "crash");
    const reason = await down;
    assert.ok(reason instanceof GuestFailure && reason.kind === "unreachable");

    let second: Pid | undefined;
    await waitFor(() => {
      const infos = t.kernel.processes().filter((p) => p.kind === "wasm" && p.parent === sup);
      second = infos[0]?.pid;
      return second !== undefined && second !== first;
    });
    assert.notEqual(second, first);
    assert.equal(
      await ask(t.kernel, second!, "count"),
      "1",
      "the restarted child starts from a fresh memory",
    );
    assert.ok(t.host.stats().instancesReused > reused, "the restart reused the crashed child's instance");
    t.kernel.exit(sup, "shutdown");
    assert.equal(await t.kernel.whenExited(sup), "shutdown");
    assert.equal(t.kernel.isAlive(second!), false);
  });

  test("restart intensity: a child that keeps trapping makes its supervisor give up", async () => {
    const sup = t.kernel.spawn(
      supervisor({
        maxRestarts: 2,
        periodMs: 60_000,
        children: [{ id: "actor", start: t.host.spawnable(actor) }],
      }),
    );
    const exited = t.kernel.whenExited(sup);
    for (let i = 0; i < 3; i++) {
      const pid = await childPid(sup, "actor");
      const down = t.kernel.whenExited(pid);
      tell(t.kernel, pid, "crash");
      await down;
    }
    assert.deepEqual(await exited, { shutdown: "reached_max_restart_intensity" });
  });
});

describe("links and monitors between wasm and JS processes", () => {
  test("a JS process linked to a wasm process receives its trap as the EXIT reason", async () => {
    const guest = t.kernel.spawn(t.host.spawnable(actor));
    const reason = new Promise<unknown>((resolve) => {
      t.kernel.spawn(
        async (ctx) => {
          ctx.link(guest);
          tell(t.kernel, guest, "crash");
          const exit = await ctx.receive(isExitMessage, 5_000);
          resolve(exit === TIMEOUT ? "timeout" : exit.reason);
        },
        { trapExit: true },
      );
    });
    const got = await reason;
    assert.ok(got instanceof GuestFailure, `got ${String(got)}`);
    assert.equal(got.kind, "unreachable");
  });

  test("a JS monitor of a wasm process sees its proc_exit reason in the DOWN message", async () => {
    const guest = t.kernel.spawn(t.host.spawnable(actor));
    const reason = new Promise<unknown>((resolve) => {
      t.kernel.spawn(async (ctx) => {
        const ref = ctx.monitor(guest);
        tell(t.kernel, guest, "exit:finished");
        const down = await ctx.receive((m) => isDownMessage(m) && m.ref === ref, 5_000);
        resolve(down === TIMEOUT ? "timeout" : (down as { reason: unknown }).reason);
      });
    });
    assert.equal(await reason, "finished");
  });

  test("a wasm process monitoring a JS process receives DOWN with the pid and reason", async () => {
    const guest = t.kernel.spawn(t.host.spawnable(actor));
    const js = t.kernel.spawn(async (ctx) => {
      await ctx.receive((m) => m === "go");
      ctx.exit("done here");
    });
    assert.equal(await ask(t.kernel, guest, `monitor:${js}`), "ok");
    const waiting = ask(t.kernel, guest, "wait-down");
    t.kernel.send(js, "go");
    assert.equal(await waiting, `1:${js}:done here`);
    tell(t.kernel, guest, "stop");
  });

  test("a wasm process trapping exits receives a linked JS process's end as an EXIT message", async () => {
    const guest = t.kernel.spawn(t.host.spawnable(actor, { profile: "sandboxed+link" }));
    const js = t.kernel.spawn(async (ctx) => {
      await ctx.receive((m) => m === "go");
      throw new Error("boom");
    });
    assert.equal(await ask(t.kernel, guest, "trap"), "trapping");
    assert.equal(await ask(t.kernel, guest, `link:${js}`), "ok");
    const waiting = ask(t.kernel, guest, "wait-exit");
    t.kernel.send(js, "go");
    assert.equal(await waiting, `2:${js}:error: boom`);
    assert.equal(t.kernel.isAlive(guest), true, "a trapping process survives");
    tell(t.kernel, guest, "stop");
  });

  test("without trapping, a linked JS process's crash ends the wasm process with the same reason", async () => {
    const guest = t.kernel.spawn(t.host.spawnable(actor, { profile: "sandboxed+link" }));
    const boom = new Error("linked crash");
    const js = t.kernel.spawn(async (ctx) => {
      await ctx.receive((m) => m === "go");
      throw boom;
    });
    assert.equal(await ask(t.kernel, guest, `link:${js}`), "ok");
    const exited = t.kernel.whenExited(guest);
    t.kernel.send(js, "go");
    assert.equal(await exited, boom);
  });

  test("a wasm process killed while parked in receive never runs again; its instance is not reused", async () => {
    const guest = t.kernel.spawn(t.host.spawnable(actor));
    assert.equal(await ask(t.kernel, guest, "ping"), "pong");
    const idleBefore = t.host.stats().idleInstances;
    const exited = t.kernel.whenExited(guest);
    t.kernel.exit(guest, "kill");
    assert.equal(await exited, "killed");
    assert.equal(
      t.host.stats().idleInstances,
      idleBefore,
      "a parked stack keeps its instance out of the pool",
    );
  });

  test("links and monitors on processes that are gone: link answers -1, monitor delivers DOWN noproc", async () => {
    const gone = t.kernel.spawn(() => {});
    await t.kernel.whenExited(gone);
    const guest = t.kernel.spawn(t.host.spawnable(actor, { profile: "sandboxed+link" }));
    assert.equal(await ask(t.kernel, guest, `link:${gone}`), "no:-1");
    assert.equal(t.kernel.isAlive(guest), true, "linking to a dead pid does not kill the guest");
    assert.equal(await ask(t.kernel, guest, `monitor:${gone}`), "ok");
    assert.equal(await ask(t.kernel, guest, "wait-down"), `1:${gone}:noproc`);
    tell(t.kernel, guest, "stop");
  });

  test("demonitor stops the monitor and drops a DOWN already queued", async () => {
    const guest = t.kernel.spawn(t.host.spawnable(actor));
    const js = t.kernel.spawn(async (ctx) => {
      await ctx.receive((m) => m === "go");
    });
    assert.equal(await ask(t.kernel, guest, `monitor:${js}`), "ok");
    t.kernel.send(js, "go");
    await t.kernel.whenExited(js);
    // The DOWN is queued now; demonitor answers "no longer active" and removes it.
    assert.equal(await ask(t.kernel, guest, `demonitor:${js}`), "no");
    assert.equal(await ask(t.kernel, guest, "drain"), "", "no DOWN left in the mailbox");
    const other = t.kernel.spawn(async (ctx) => {
      await ctx.receive((m) => m === "go");
    });
    assert.equal(await ask(t.kernel, guest, `monitor:${other}`), "ok");
    assert.equal(await ask(t.kernel, guest, `demonitor:${other}`), "ok", "an active monitor was stopped");
    t.kernel.send(other, "go");
    await t.kernel.whenExited(other);
    assert.equal(await ask(t.kernel, guest, "drain"), "");
    tell(t.kernel, guest, "stop");
  });

  test("spawn_link and spawn_monitor from a guest (flags) are atomic with the spawn", async () => {
    // Kernel-level check of what proc_spawn's flags do: a JS process plays the guest's role.
    const seen = new Promise<unknown[]>((resolve) => {
      t.kernel.spawn(
        async (ctx) => {
          const linked = ctx.spawnLink(t.host.spawnable(actor));
          tell(t.kernel, linked, "crash");
          const exit = await ctx.receive(isExitMessage, 5_000);
          resolve([
            exit instanceof ExitMessage ? exit.from === linked : "no exit",
            (exit as ExitMessage).reason,
          ]);
        },
        { trapExit: true },
      );
    });
    const [fromLinked, reason] = await seen;
    assert.equal(fromLinked, true);
    assert.ok(reason instanceof GuestFailure);
  });
});
