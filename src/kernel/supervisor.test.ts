import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createVirtualClock } from "../clock/virtual-clock.ts";
import type { ExitReason } from "./exit-reason.ts";
import { createKernel, type Kernel } from "./kernel.ts";
import { KernelError } from "./kernel-error.ts";
import type { Pid } from "./pid.ts";
import type { ProcessContext } from "./process-context.ts";
import {
  type ChildSpec,
  restartChild,
  startChild,
  supervisor,
  terminateChild,
  whichChildren,
} from "./supervisor.ts";
import { MAX_RESTART_INTENSITY_REASON, type RestartStrategy } from "./supervisor-decide.ts";
import { isDownMessage, isExitMessage } from "./system-messages.ts";

/** A worker that crashes on "crash", ends normally on "stop", and otherwise waits. */
async function worker(ctx: ProcessContext): Promise<void> {
  for (;;) {
    const m = await ctx.receive();
    if (m === "crash") throw new Error("crash");
    if (m === "stop") return;
  }
}

function child(id: string, extra: Partial<ChildSpec> = {}): ChildSpec {
  return { id, start: worker, options: { name: id }, ...extra };
}

function pids(kernel: Kernel, ids: readonly string[]): (Pid | undefined)[] {
  return ids.map((id) => kernel.whereis(id));
}

/** Sends `message` to the named child and waits until the supervisor has dealt with its end. */
async function endChild(kernel: Kernel, id: string, message: "crash" | "stop" = "crash"): Promise<void> {
  const pid = kernel.whereis(id);
  assert.ok(pid !== undefined, `${id} is running`);
  kernel.send(pid, message);
  await kernel.whenExited(pid);
  await kernel.idle();
}

async function strategyRun(strategy: RestartStrategy): Promise<{ before: unknown[]; after: unknown[] }> {
  const kernel = createKernel();
  const ids = ["a", "b", "c"];
  kernel.spawn(supervisor({ strategy, maxRestarts: 5, children: ids.map((id) => child(id)) }));
  await kernel.idle();
  const before = pids(kernel, ids);
  await endChild(kernel, "b");
  const after = pids(kernel, ids);
  await kernel.shutdown();
  return { before, after };
}

describe("supervisor strategies", () => {
  it("one_for_one restarts only the crashed child", async () => {
    const { before, after } = await strategyRun("one_for_one");
    assert.ok(before.every((p) => p !== undefined));
    assert.equal(after[0], before[0]);
    assert.notEqual(after[1], before[1]);
    assert.ok(after[1] !== undefined);
    assert.equal(after[2], before[2]);
  });

  it("one_for_all restarts every child", async () => {
    const { before, after } = await strategyRun("one_for_all");
    for (let i = 0; i < 3; i++) {
      assert.ok(after[i] !== undefined);
      assert.notEqual(after[i], before[i]);
    }
  });

  it("rest_for_one restarts the crashed child and those started after it", async () => {
    const { before, after } = await strategyRun("rest_for_one");
    assert.equal(after[0], before[0]);
    assert.notEqual(after[1], before[1]);
    assert.notEqual(after[2], before[2]);
    assert.ok(after.every((p) => p !== undefined));
  });

  it("honours restart types: transient after a normal exit and temporary children stay down", async () => {
    const kernel = createKernel();
    const sup = kernel.spawn(
      supervisor({
        children: [child("t", { restart: "transient" }), child("tmp", { restart: "temporary" }), child("p")],
        maxRestarts: 5,
      }),
    );
    await kernel.idle();
    await endChild(kernel, "t", "stop");
    assert.equal(kernel.whereis("t"), undefined, "transient: a normal exit is not restarted");
    await endChild(kernel, "tmp", "crash");
    assert.equal(kernel.whereis("tmp"), undefined, "temporary: never restarted");
    await endChild(kernel, "p", "stop");
    assert.ok(kernel.whereis("p") !== undefined, "permanent: restarted even after a normal exit");
    const rows = await whichChildren(kernel, sup);
    assert.deepEqual(
      rows.map((r) => [r.id, r.pid === null]),
      [
        ["t", true],
        ["p", false],
      ],
      "the temporary child is forgotten",
    );
    const restarted = await restartChild(kernel, sup, "t");
    assert.equal(kernel.whereis("t"), restarted);
    await kernel.shutdown();
  });
});

describe("restart intensity", () => {
  it("exits with reached_max_restart_intensity once restarts exceed maxRestarts within periodMs", async () => {
    const clock = createVirtualClock();
    const kernel = createKernel({ clock });
    const sup = kernel.spawn(supervisor({ maxRestarts: 2, periodMs: 1_000, children: [child("w")] }));
    const supEnd = kernel.whenExited(sup);
    await kernel.idle();
    await endChild(kernel, "w");
    clock.advance(400);
    await endChild(kernel, "w");
    assert.equal(kernel.isAlive(sup), true, "two restarts within the window are allowed");
    clock.advance(400);
    await endChild(kernel, "w");
    assert.deepEqual(await supEnd, MAX_RESTART_INTENSITY_REASON);
    assert.equal(kernel.stats().processCount, 0);
  });

  it("keeps going when crashes are spread wider than the window", async () => {
    const clock = createVirtualClock();
    const kernel = createKernel({ clock });
    const sup = kernel.spawn(supervisor({ maxRestarts: 1, periodMs: 1_000, children: [child("w")] }));
    await kernel.idle();
    for (let i = 0; i < 5; i++) {
      await endChild(kernel, "w");
      clock.advance(1_001);
    }
    assert.equal(kernel.isAlive(sup), true);
    assert.ok(kernel.whereis("w") !== undefined);
    await kernel.shutdown();
  });

  it("a child that crashes at once exhausts the intensity instead of looping", async () => {
    const kernel = createKernel();
    let starts = 0;
    const sup = kernel.spawn(
      supervisor({
        maxRestarts: 3,
        children: [
          {
            id: "doomed",
            start: () => {
              starts++;
              throw new Error("cannot start");
            },
          },
        ],
      }),
    );
    assert.deepEqual(await kernel.whenExited(sup), MAX_RESTART_INTENSITY_REASON);
    assert.equal(starts, 4, "the first start and three restarts");
  });

  it("nested trees escalate: a child supervisor that gives up is restarted by its parent", async () => {
    const kernel = createKernel();
    const root = kernel.spawn(
      supervisor({
        maxRestarts: 5,
        children: [
          {
            id: "inner",
            type: "supervisor",
            start: supervisor({ maxRestarts: 0, children: [child("leaf")] }),
            options: { name: "inner" },
          },
        ],
      }),
    );
    await kernel.idle();
    const inner = kernel.whereis("inner");
    const leaf = kernel.whereis("leaf");
    await endChild(kernel, "leaf");
    await kernel.idle();
    assert.equal(kernel.isAlive(root), true);
    assert.ok(kernel.whereis("inner") !== undefined && kernel.whereis("inner") !== inner, "inner restarted");
    assert.ok(
      kernel.whereis("leaf") !== undefined && kernel.whereis("leaf") !== leaf,
      "leaf restarted with it",
    );
    await kernel.shutdown();
  });
});

describe("shutdown", () => {
  it("stops a whole tree gracefully in reverse start order", async () => {
    const kernel = createKernel();
    const sup = kernel.spawn(
      supervisor({
        children: [
          child("a"),
          child("b"),
          {
            id: "sub",
            type: "supervisor",
            start: supervisor({ children: [child("c"), child("d")] }),
            options: { name: "sub" },
          },
          child("e"),
        ],
      }),
    );
    await kernel.idle();
    const names = ["a", "b", "sub", "c", "d", "e"];
    const byPid = new Map(names.map((n) => [kernel.whereis(n)!, n]));
    const order: string[] = [];
    const observer = kernel.spawn(async (ctx) => {
      for (const pid of byPid.keys()) ctx.monitor(pid);
      ctx.monitor(sup);
      for (;;) {
        const m = await ctx.receive(isDownMessage);
        order.push(byPid.get(m.pid) ?? "root");
        assert.equal(m.reason, "shutdown");
      }
    });
    await kernel.idle();
    const supEnd = kernel.whenExited(sup);
    kernel.exit(sup, "shutdown");
    assert.equal(await supEnd, "shutdown");
    await kernel.idle();
    assert.deepEqual(order, ["e", "d", "c", "sub", "b", "a", "root"]);
    kernel.exit(observer, "kill");
  });

  it("kills a child that does not stop within its shutdown timeout, and brutal_kill kills at once", async () => {
    const clock = createVirtualClock();
    const kernel = createKernel({ clock });
    const stubborn = async (ctx: ProcessContext) => {
      ctx.trapExit(true);
      for (;;) await ctx.receive(); // ignores the EXIT from its supervisor
    };
    const sup = kernel.spawn(
      supervisor({
        children: [
          { id: "slow", start: stubborn, shutdown: 1_000, options: { name: "slow" } },
          { id: "brutal", start: stubborn, shutdown: "brutal_kill", options: { name: "brutal" } },
        ],
      }),
    );
    await kernel.idle();
    const ends = new Map<string, ExitReason>();
    for (const id of ["slow", "brutal"]) {
      kernel.whenExited(kernel.whereis(id)!).then((reason) => ends.set(id, reason));
    }
    kernel.exit(sup, "shutdown");
    await kernel.idle();
    assert.equal(ends.get("brutal"), "killed", "brutal_kill does not wait");
    assert.equal(ends.has("slow"), false);
    clock.advance(999);
    await kernel.idle();
    assert.equal(ends.has("slow"), false, "still within its shutdown timeout");
    clock.advance(1);
    await kernel.idle();
    assert.equal(ends.get("slow"), "killed");
    assert.equal(kernel.isAlive(sup), false);
  });

  it("shuts its children down when its parent exits, even normally", async () => {
    const kernel = createKernel();
    const parent = kernel.spawn(async (ctx) => {
      ctx.spawnLink(supervisor({ children: [child("x")] }), { name: "sup" });
      await ctx.receive((m) => m === "go");
    });
    await kernel.idle();
    const sup = kernel.whereis("sup")!;
    const x = kernel.whereis("x")!;
    const supEnd = kernel.whenExited(sup);
    kernel.send(parent, "go");
    assert.equal(await supEnd, "normal");
    assert.equal(kernel.isAlive(x), false);
  });

  it("an exit signal from an unrelated process stops it only when abnormal", async () => {
    const kernel = createKernel();
    const sup = kernel.spawn(supervisor({ children: [child("y")] }));
    await kernel.idle();
    const stranger = kernel.spawn(async (ctx) => {
      ctx.link(sup);
      await ctx.receive();
    });
    await kernel.idle();
    kernel.send(stranger, "done");
    await kernel.whenExited(stranger);
    await kernel.idle();
    assert.equal(kernel.isAlive(sup), true, "a linked stranger ending normally is ignored");
    const other = kernel.spawn(async (ctx) => {
      ctx.link(sup);
      throw new Error("stranger crashed");
    });
    await kernel.whenExited(other);
    const reason = await kernel.whenExited(sup);
    assert.ok(reason instanceof Error && reason.message === "stranger crashed");
    assert.equal(kernel.whereis("y"), undefined);
  });
});

describe("dynamic children and bad specs", () => {
  it("starts, terminates and restarts children at run time", async () => {
    const kernel = createKernel();
    const sup = kernel.spawn(supervisor({ children: [] }), { name: "dyn" });
    await kernel.idle();
    const pid = await startChild(kernel, "dyn", child("late"));
    assert.equal(kernel.whereis("late"), pid);
    await assert.rejects(startChild(kernel, sup, child("late")), (e: unknown) => e instanceof KernelError);
    await terminateChild(kernel, sup, "late");
    assert.equal(kernel.isAlive(pid), false);
    assert.deepEqual(
      (await whichChildren(kernel, sup)).map((r) => r.pid),
      [null],
    );
    const again = await restartChild(kernel, sup, "late");
    assert.ok(kernel.isAlive(again));
    await assert.rejects(
      terminateChild(kernel, sup, "nope"),
      (e: unknown) => e instanceof KernelError && e.code === "KERNEL_UNKNOWN_CHILD",
    );
    await kernel.shutdown();
  });

  it("refuses malformed specs with one clear line", () => {
    const bad = [
      { strategy: "one_for_some" as RestartStrategy, children: [] },
      { maxRestarts: -1, children: [] },
      { periodMs: 0, children: [] },
      { children: [child("x"), child("x")] },
      { children: [{ id: "", start: worker }] },
      { children: [{ id: "s", start: 5 as never }] },
      { children: [child("r", { restart: "sometimes" as never })] },
      { children: [child("sd", { shutdown: -5 })] },
    ];
    for (const spec of bad) {
      assert.throws(
        () => supervisor(spec),
        (e: unknown) =>
          e instanceof KernelError &&
          e.code === "KERNEL_INVALID_SUPERVISOR_SPEC" &&
          !e.message.includes("\n"),
        JSON.stringify(spec),
      );
    }
  });

  it("exits with KERNEL_CHILD_START_FAILED when a child cannot be spawned at start, stopping the started ones", async () => {
    const kernel = createKernel();
    const squatter = kernel.spawn(async (ctx) => ctx.receive(), { name: "taken" });
    const sup = kernel.spawn(
      supervisor({ children: [child("first"), { id: "second", start: worker, options: { name: "taken" } }] }),
    );
    const reason = await kernel.whenExited(sup);
    assert.ok(reason instanceof KernelError && reason.code === "KERNEL_CHILD_START_FAILED");
    assert.equal(kernel.whereis("first"), undefined);
    assert.equal(kernel.isAlive(squatter), true);
    kernel.exit(squatter, "kill");
  });

  it("ignores stale EXIT messages and unknown messages", async () => {
    const kernel = createKernel();
    const sup = kernel.spawn(
      supervisor({ strategy: "one_for_all", maxRestarts: 10, children: [child("p"), child("q")] }),
    );
    await kernel.idle();
    // Both crash at once: q's EXIT is queued while one_for_all is restarting after p.
    const [p, q] = [kernel.whereis("p")!, kernel.whereis("q")!];
    kernel.send(p, "crash");
    kernel.send(q, "crash");
    kernel.send(sup, { unexpected: true });
    await kernel.idle();
    const rows = await whichChildren(kernel, sup);
    assert.ok(rows.every((r) => r.pid !== null && kernel.isAlive(r.pid)));
    assert.ok(!rows.some((r) => r.pid === p || r.pid === q));
    const info = kernel.processInfo(sup);
    assert.ok(info !== undefined && info.status !== "exited" && info.mailboxLength === 0);
    assert.ok(!isExitMessage({}), "plain objects are never EXIT messages");
    await kernel.shutdown();
  });
});
