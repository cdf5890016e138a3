import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { behaviour } from "./behaviour.ts";
import type { ExitReason } from "./exit-reason.ts";
import { createKernel } from "./kernel.ts";
import { KernelError } from "./kernel-error.ts";

describe("behaviour (push-mode processes)", () => {
  it("handles casts and calls, one handler call per message, in order", async () => {
    const kernel = createKernel();
    const seen: unknown[] = [];
    const counter = kernel.spawn(
      behaviour({
        init: () => 0,
        handle: (message, count: number) => {
          seen.push(message);
          return message === "inc" ? count + 1 : count;
        },
        handleCall: (request, count: number) => (request === "get" ? [count, count] : [null, 0]),
        label: "counter",
      }),
    );
    for (let i = 0; i < 5; i++) kernel.send(counter, "inc");
    kernel.send(counter, "other");
    assert.equal(await kernel.call(counter, "get"), 5);
    assert.equal(await kernel.call(counter, "reset"), null);
    assert.equal(await kernel.call(counter, "get"), 0);
    assert.deepEqual(seen, ["inc", "inc", "inc", "inc", "inc", "other"]);
    const info = kernel.processInfo(counter);
    assert.ok(info !== undefined && info.status !== "exited");
    assert.equal(info.kind, "behaviour");
    assert.equal(info.label, "counter");
    assert.equal(info.status, "waiting");
    await kernel.shutdown();
  });

  it("pauses delivery while an async handler runs, and may call other processes meanwhile", async () => {
    const kernel = createKernel();
    const doubler = kernel.spawn(
      behaviour({ init: () => null, handleCall: (n, s) => [(n as number) * 2, s] }),
    );
    const log: unknown[] = [];
    const client = kernel.spawn(
      behaviour({
        init: () => 0,
        handle: async (message, handled: number, ctx) => {
          log.push(`start ${String(message)}`);
          // A selective receive inside a push-mode process: the reply overtakes queued messages.
          const doubled = await ctx.call(doubler, message as number);
          log.push(`end ${String(doubled)}`);
          return handled + 1;
        },
      }),
    );
    kernel.send(client, 1);
    kernel.send(client, 2);
    await kernel.idle();
    await kernel.idle();
    assert.deepEqual(log, ["start 1", "end 2", "start 2", "end 4"]);
    await kernel.shutdown();
  });

  it("crashes with the thrown error and runs terminate with the reason and the last state", async () => {
    const kernel = createKernel();
    const ended: [ExitReason, unknown][] = [];
    const pid = kernel.spawn(
      behaviour({
        init: () => ["init"],
        handle: (message, state: string[]) => {
          if (message === "boom") throw new Error("boom");
          return [...state, String(message)];
        },
        terminate: (reason, state) => ended.push([reason, state]),
      }),
    );
    kernel.send(pid, "a");
    kernel.send(pid, "boom");
    kernel.send(pid, "never handled");
    const reason = await kernel.whenExited(pid);
    assert.ok(reason instanceof Error && reason.message === "boom");
    assert.deepEqual(ended, [[reason, ["init", "a"]]]);
  });

  it("stops with ctx.exit from a handler, and a crashing async call handler ends the process", async () => {
    const kernel = createKernel();
    const stopper = kernel.spawn(
      behaviour({
        init: () => 0,
        handle: (_m, s: number, ctx) => ctx.exit({ shutdown: "asked" }) ?? s,
      }),
    );
    kernel.send(stopper, "stop");
    assert.deepEqual(await kernel.whenExited(stopper), { shutdown: "asked" });

    const failing = kernel.spawn(
      behaviour({
        init: () => 0,
        handleCall: async () => {
          throw new Error("no answer");
        },
      }),
    );
    await assert.rejects(
      kernel.call(failing, "q", 1_000),
      (e: unknown) => e instanceof KernelError && e.code === "KERNEL_CALL_TARGET_EXITED",
    );
  });

  it("ignores messages without a handler and times out calls it never answers", async () => {
    const kernel = createKernel();
    const silent = kernel.spawn(behaviour({ init: () => 0 }));
    kernel.send(silent, "dropped");
    await assert.rejects(
      kernel.call(silent, "anyone?", 20),
      (e: unknown) => e instanceof KernelError && e.code === "KERNEL_CALL_TIMEOUT",
    );
    const info = kernel.processInfo(silent);
    assert.ok(info !== undefined && info.status !== "exited" && info.mailboxLength === 0);
    await kernel.shutdown();
  });
});
