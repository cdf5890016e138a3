import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createVirtualClock } from "../clock/virtual-clock.ts";
import { createKernel, type Kernel } from "./kernel.ts";
import { KernelError } from "./kernel-error.ts";
import { MAILBOX_CAPACITY_DEFAULT } from "./kernel-options.ts";
import { KERNEL_PID, type Pid } from "./pid.ts";
import { type ProcessContext, type SpawnOptions, TIMEOUT } from "./process-context.ts";
import { isProcessExit, ProcessExit } from "./process-exit.ts";
import { DownMessage, ExitMessage } from "./system-messages.ts";

/** Spawns `body` and resolves with what it returns (rejects with what it throws). */
function runIn<T>(kernel: Kernel, body: (ctx: ProcessContext) => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    kernel.spawn(async (ctx) => {
      try {
        resolve(await body(ctx));
      } catch (error) {
        reject(error);
        throw error;
      }
    });
  });
}

function hasCode(code: string): (error: unknown) => boolean {
  return (error) => error instanceof KernelError && error.code === code;
}

describe("processes and messages", () => {
  it("runs a body, delivers messages in order and ends with normal", async () => {
    const kernel = createKernel();
    const received: unknown[] = [];
    const pid = kernel.spawn(async (ctx) => {
      for (let i = 0; i < 3; i++) received.push(await ctx.receive());
    });
    kernel.send(pid, "a");
    kernel.send(pid, { b: [1, 2] });
    kernel.send(pid, 3);
    assert.equal(await kernel.whenExited(pid), "normal");
    assert.deepEqual(received, ["a", { b: [1, 2] }, 3]);
    assert.equal(kernel.isAlive(pid), false);
  });

  it("does not run a child before spawn returns", async () => {
    const kernel = createKernel();
    const order: string[] = [];
    kernel.spawn(() => {
      order.push("child");
    });
    order.push("after spawn");
    await kernel.idle();
    assert.deepEqual(order, ["after spawn", "child"]);
  });

  it("sends by value: the receiver's copy is not the sender's object", async () => {
    const kernel = createKernel();
    const sent = { list: [1] };
    const got = await runIn(kernel, async (ctx) => {
      ctx.send(ctx.self, sent);
      sent.list.push(2);
      return ctx.receive();
    });
    assert.deepEqual(got, { list: [1] });
  });

  it("selective receive takes the first match and keeps the others in order", async () => {
    const kernel = createKernel();
    const got = await runIn(kernel, async (ctx) => {
      for (const m of ["x1", 1, "x2", 2, "x3"]) ctx.send(ctx.self, m);
      const numbers = [
        await ctx.receive((m) => typeof m === "number"),
        await ctx.receive((m) => typeof m === "number"),
      ];
      const rest = [await ctx.receive(), await ctx.receive(), await ctx.receive()];
      return { numbers, rest };
    });
    assert.deepEqual(got, { numbers: [1, 2], rest: ["x1", "x2", "x3"] });
  });

  it("a waiting selective receive skips non-matching arrivals and wakes on a match", async () => {
    const kernel = createKernel();
    const pid = kernel.spawn(async (ctx) => {
      const first = await ctx.receive((m) => m === "wanted");
      const later = [await ctx.receive(), await ctx.receive()];
      ctx.send(KERNEL_PID, "unused");
      return [first, later];
    });
    await kernel.idle();
    kernel.send(pid, "other-1");
    kernel.send(pid, "other-2");
    assert.equal(kernel.processInfo(pid)?.status, "waiting");
    kernel.send(pid, "wanted");
    assert.equal(await kernel.whenExited(pid), "normal");
  });

  it("times out a receive with the injected clock, and a message before the timeout wins", async () => {
    const clock = createVirtualClock();
    const kernel = createKernel({ clock });
    const results: unknown[] = [];
    const pid = kernel.spawn(async (ctx) => {
      results.push(await ctx.receive(undefined, 100));
      results.push(await ctx.receive(undefined, 100));
      results.push(await ctx.receive(undefined, 0));
    });
    await kernel.idle();
    clock.advance(99);
    await kernel.idle();
    assert.deepEqual(results, []);
    clock.advance(1);
    await kernel.idle();
    assert.deepEqual(results, [TIMEOUT]);
    clock.advance(50);
    kernel.send(pid, "in time");
    await kernel.idle();
    assert.deepEqual(results, [TIMEOUT, "in time", TIMEOUT], "timeout 0 polls");
    assert.equal(clock.pendingTimers(), 0, "a receive that got its message cancels its timer");
  });

  it("refuses a second receive while one is pending, and a negative timeout", async () => {
    const kernel = createKernel();
    await runIn(kernel, async (ctx) => {
      const pending = ctx.receive();
      assert.throws(() => ctx.receive(), hasCode("KERNEL_RECEIVE_IN_PROGRESS"));
      ctx.send(ctx.self, 1);
      await pending;
      assert.throws(() => ctx.receive(undefined, -1), hasCode("KERNEL_INVALID_OPTION"));
    });
  });

  it("ends a process whose body throws with the error, and wraps a non-Error throw", async () => {
    const kernel = createKernel();
    const boom = new Error("boom");
    const a = kernel.spawn(async () => {
      throw boom;
    });
    const b = kernel.spawn(() => {
      throw "text";
    });
    const [reasonA, reason] = await Promise.all([kernel.whenExited(a), kernel.whenExited(b)]);
    assert.equal(reasonA, boom);
    assert.ok(reason instanceof Error);
    assert.equal(reason.cause, "text");
  });

  it("ctx.exit ends the process at once, and a dead process's calls throw ProcessExit", async () => {
    const kernel = createKernel();
    let caught: unknown;
    let ctxAfter: ProcessContext | undefined;
    const pid = kernel.spawn(async (ctx) => {
      ctxAfter = ctx;
      try {
        ctx.exit("done");
      } catch (error) {
        caught = error;
      }
    });
    assert.equal(await kernel.whenExited(pid), "done");
    assert.ok(isProcessExit(caught));
    assert.equal((caught as ProcessExit).reason, "done");
    assert.throws(() => ctxAfter!.send(pid, 1), ProcessExit);
    assert.throws(() => ctxAfter!.spawn(() => {}), ProcessExit);
    let settled = false;
    Promise.resolve(ctxAfter!.receive()).then(() => {
      settled = true;
    });
    await kernel.idle();
    assert.equal(settled, false, "receive of an ended process never settles");
  });

  it("drops sends to a pid that is not alive, and refuses an unregistered name", async () => {
    const kernel = createKernel();
    const pid = kernel.spawn(() => {});
    await kernel.whenExited(pid);
    kernel.send(pid, "nobody");
    assert.throws(() => kernel.send("ghost", 1), hasCode("KERNEL_NOT_REGISTERED"));
  });

  it("rejects bad spawn input with one clear line", () => {
    const kernel = createKernel();
    assert.throws(() => kernel.spawn(42 as never), hasCode("KERNEL_INVALID_OPTION"));
    assert.throws(() => kernel.spawn(() => {}, { mailboxCapacity: 0 }), hasCode("KERNEL_INVALID_OPTION"));
    assert.throws(() => kernel.spawn(() => {}, { name: "" }), hasCode("KERNEL_INVALID_NAME"));
    assert.throws(() => createKernel({ reductionBudget: 0 }), hasCode("KERNEL_INVALID_OPTION"));
  });
});

describe("bounded mailboxes", () => {
  /** A process that takes no message until the returned release is called, then takes them all. */
  function idleReceiver(kernel: Kernel, options?: SpawnOptions): { pid: Pid; release: () => void } {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const pid = kernel.spawn(async (ctx) => {
      await gate;
      while ((await ctx.receive(undefined, 0)) !== TIMEOUT) {}
    }, options);
    return { pid, release };
  }

  /** User messages shed so far by a live process's mailbox. */
  function dropped(kernel: Kernel, pid: Pid): number | undefined {
    const info = kernel.processInfo(pid);
    return info !== undefined && info.status !== "exited" ? info.droppedMessages : undefined;
  }

  it("mailboxLength says what processInfo says, and undefined once the process ended", async () => {
    const kernel = createKernel();
    const { pid, release } = idleReceiver(kernel);
    await kernel.idle();
    for (let i = 0; i < 3; i++) kernel.send(pid, i);
    const info = kernel.processInfo(pid);
    assert.ok(info !== undefined && info.status !== "exited");
    assert.equal(kernel.mailboxLength(pid), 3);
    assert.equal(kernel.mailboxLength(pid), info.mailboxLength);
    release();
    await kernel.whenExited(pid);
    assert.equal(kernel.mailboxLength(pid), undefined);
    assert.equal(kernel.mailboxLength(9_999 as Pid), undefined);
  });

  it("bound every mailbox by default (MAILBOX_CAPACITY_DEFAULT)", async () => {
    const kernel = createKernel();
    const { pid, release } = idleReceiver(kernel);
    await kernel.idle();
    for (let i = 0; i < MAILBOX_CAPACITY_DEFAULT + 5; i++) kernel.send(pid, i);
    const info = kernel.processInfo(pid);
    assert.ok(info !== undefined && info.status !== "exited");
    assert.equal(info.mailboxLength, MAILBOX_CAPACITY_DEFAULT);
    assert.equal(info.droppedMessages, 5);
    release();
    await kernel.whenExited(pid);
  });

  it("take the default bound from the kernel's mailboxCapacity, a spawn's own bound first", async () => {
    const kernel = createKernel({ mailboxCapacity: 2 });
    const byKernel = idleReceiver(kernel);
    const byOwn = idleReceiver(kernel, { mailboxCapacity: 4 });
    await kernel.idle();
    for (let i = 0; i < 10; i++) {
      kernel.send(byKernel.pid, i);
      kernel.send(byOwn.pid, i);
    }
    assert.equal(dropped(kernel, byKernel.pid), 8);
    assert.equal(dropped(kernel, byOwn.pid), 6);
    byKernel.release();
    byOwn.release();
    await Promise.all([kernel.whenExited(byKernel.pid), kernel.whenExited(byOwn.pid)]);
    assert.throws(() => createKernel({ mailboxCapacity: 0 }), hasCode("KERNEL_INVALID_OPTION"));
  });

  it("shed user messages when full, count them, and never drop EXIT or DOWN messages", async () => {
    const kernel = createKernel();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const watched = kernel.spawn(async (ctx) => ctx.receive());
    const received: unknown[] = [];
    const owner = kernel.spawn(
      async (ctx) => {
        ctx.monitor(watched);
        await gate; // not receiving while the mailbox fills up
        for (;;) {
          const m = await ctx.receive(undefined, 0);
          if (m === TIMEOUT) return;
          received.push(m);
        }
      },
      { mailboxCapacity: 3, trapExit: true },
    );
    const linked = kernel.spawn(async (ctx) => {
      ctx.link(owner);
      await ctx.receive();
    });
    await kernel.idle();
    for (let i = 0; i < 10; i++) kernel.send(owner, `user-${i}`);
    kernel.exit(linked, "boom");
    kernel.exit(watched, "gone");
    kernel.exit(owner, "signal-from-kernel");
    for (let i = 10; i < 12; i++) kernel.send(owner, `user-${i}`);
    const info = kernel.processInfo(owner);
    assert.ok(info !== undefined && info.status !== "exited");
    assert.equal(info.mailboxLength, 6);
    assert.equal(info.droppedMessages, 9);
    assert.equal(kernel.stats().droppedMessagesTotal, 9);
    release();
    await kernel.whenExited(owner);
    assert.deepEqual(received.slice(0, 3), ["user-0", "user-1", "user-2"]);
    const [exitLinked, down, exitKernel] = received.slice(3);
    assert.ok(
      exitLinked instanceof ExitMessage && exitLinked.from === linked && exitLinked.reason === "boom",
    );
    assert.ok(down instanceof DownMessage && down.pid === watched && down.reason === "gone");
    assert.ok(
      exitKernel instanceof ExitMessage &&
        exitKernel.from === KERNEL_PID &&
        exitKernel.reason === "signal-from-kernel",
    );
    assert.equal(received.length, 6);
  });
});

describe("registry", () => {
  it("registers, looks up, refuses duplicates and releases the name on exit", async () => {
    const kernel = createKernel();
    const a = kernel.spawn(async (ctx) => ctx.receive());
    const b = kernel.spawn(async (ctx) => ctx.receive());
    kernel.register("svc", a);
    assert.equal(kernel.whereis("svc"), a);
    assert.throws(() => kernel.register("svc", b), hasCode("KERNEL_NAME_TAKEN"));
    assert.throws(() => kernel.register("other", a), hasCode("KERNEL_ALREADY_REGISTERED"));
    kernel.send("svc", "by name");
    assert.equal(await kernel.whenExited(a), "normal");
    assert.equal(kernel.whereis("svc"), undefined, "released on exit");
    kernel.register("svc", b);
    assert.equal(kernel.unregister("svc"), true);
    assert.equal(kernel.unregister("svc"), false);
    assert.equal(kernel.whereis("svc"), undefined);
    assert.throws(() => kernel.register("dead", a), hasCode("KERNEL_NO_PROCESS"));
    const named = kernel.spawn(async (ctx) => ctx.receive(), { name: "atomic" });
    assert.equal(kernel.whereis("atomic"), named);
    assert.throws(() => kernel.spawn(() => {}, { name: "atomic" }), hasCode("KERNEL_NAME_TAKEN"));
    kernel.exit(named, "kill");
    assert.equal(kernel.whereis("atomic"), undefined);
    assert.equal(kernel.stats().registeredNames, 0);
    kernel.exit(b, "kill");
  });
});

describe("timers", () => {
  it("sendAfter delivers a copy taken at call time, after the delay, and cancelTimer stops it", async () => {
    const clock = createVirtualClock();
    const kernel = createKernel({ clock });
    const received: unknown[] = [];
    const pid = kernel.spawn(async (ctx) => {
      for (;;) received.push(await ctx.receive());
    });
    const payload = { n: 1 };
    kernel.sendAfter(100, pid, payload);
    payload.n = 2;
    const cancelled = kernel.sendAfter(50, pid, "never");
    clock.advance(20);
    assert.equal(kernel.cancelTimer(cancelled), 30, "the remaining ms");
    assert.equal(kernel.cancelTimer(cancelled), false);
    clock.advance(79);
    await kernel.idle();
    assert.deepEqual(received, []);
    clock.advance(1);
    await kernel.idle();
    assert.deepEqual(received, [{ n: 1 }]);
    assert.equal(kernel.stats().pendingTimers, 0);
    kernel.exit(pid, "kill");
  });

  it("cancels timers aimed at a process when it ends, and resolves names when they fire", async () => {
    const clock = createVirtualClock();
    const kernel = createKernel({ clock });
    const doomed = kernel.spawn(async (ctx) => ctx.receive());
    kernel.sendAfter(100, doomed, "late");
    assert.equal(clock.pendingTimers(), 1);
    kernel.exit(doomed, "kill");
    assert.equal(clock.pendingTimers(), 0);
    assert.equal(kernel.stats().pendingTimers, 0);

    const got: unknown[] = [];
    kernel.sendAfter(10, "later-name", "hello");
    const named = kernel.spawn(
      async (ctx) => {
        got.push(await ctx.receive());
      },
      { name: "later-name" },
    );
    clock.advance(10);
    assert.equal(await kernel.whenExited(named), "normal");
    assert.deepEqual(got, ["hello"]);
    assert.throws(() => kernel.sendAfter(-1, named, 1), hasCode("KERNEL_INVALID_OPTION"));
  });
});

describe("introspection", () => {
  it("lists processes as plain data with status, mailbox, reductions, memory, links and monitors", async () => {
    const kernel = createKernel();
    const worker = kernel.spawn(async function worker(ctx) {
      await ctx.receive((m) => m === "never");
    });
    const watcher = kernel.spawn(
      async (ctx) => {
        ctx.link(worker);
        ctx.monitor(worker);
        await ctx.receive((m) => m === "never");
      },
      { name: "watcher", label: "the-watcher", trapExit: true },
    );
    await kernel.idle();
    kernel.send(worker, { payload: "x".repeat(1000) });
    const infos = kernel.processes();
    assert.deepEqual(
      infos.map((i) => i.pid),
      [worker, watcher],
    );
    const [w, v] = infos;
    assert.equal(w.label, "worker");
    assert.equal(w.kind, "js");
    assert.equal(w.status, "waiting");
    assert.equal(w.mailboxLength, 1);
    assert.ok(w.memoryBytes > 2000, "the queued message counts");
    assert.deepEqual(w.links, [watcher]);
    assert.deepEqual(w.monitoredBy, [watcher]);
    assert.equal(v.name, "watcher");
    assert.equal(v.label, "the-watcher");
    assert.equal(v.trapExit, true);
    assert.deepEqual(v.monitors, [worker]);
    assert.ok(v.reductions >= 1);
    assert.deepEqual(JSON.parse(JSON.stringify(infos)), infos, "plain data");
    kernel.exit(worker, "kill");
    assert.deepEqual(kernel.processInfo(worker), { pid: worker, status: "exited" });
    assert.equal(kernel.processInfo(9999 as Pid), undefined);
    const stats = kernel.stats();
    assert.equal(stats.processCount, 1);
    assert.equal(stats.spawnedTotal, 2);
    assert.equal(stats.exitedTotal, 1);
    // The watcher traps exits and ignores the shutdown: it is killed once the timeout passes.
    const watcherEnd = kernel.whenExited(watcher);
    await kernel.shutdown({ timeoutMs: 20 });
    assert.equal(await watcherEnd, "killed");
    assert.equal(kernel.stats().processCount, 0);
    assert.throws(() => kernel.spawn(() => {}), hasCode("KERNEL_SHUT_DOWN"));
  });
});
