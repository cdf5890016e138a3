import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { behaviour } from "./behaviour.ts";
import { createKernel } from "./kernel.ts";

/** Iterations after which a flooding process gives up: far more than fairness should need. */
const FLOOD_CAP = 2_000_000;

describe("fairness", () => {
  it("a process looping on its own full mailbox (async receive) lets a waiting process and a timer run", async () => {
    const kernel = createKernel({ reductionBudget: 200 });
    let floodIterations = 0;
    let otherRanAt = -1;
    let timerFiredAt = -1;
    let stop = false;
    const flood = kernel.spawn(async (ctx) => {
      for (let i = 0; i < 100; i++) ctx.send(ctx.self, i);
      while (!stop && floodIterations < FLOOD_CAP) {
        const n = (await ctx.receive()) as number;
        floodIterations++;
        ctx.send(ctx.self, n + 1); // the mailbox never empties
      }
    });
    const other = kernel.spawn(async (ctx) => {
      await ctx.receive();
      otherRanAt = floodIterations;
    });
    // A real macrotask: it only runs if the flood lets the event loop breathe.
    setTimeout(() => {
      timerFiredAt = floodIterations;
      kernel.send(other, "ping");
    }, 5);
    await kernel.whenExited(other);
    stop = true;
    await kernel.whenExited(flood);
    assert.ok(
      timerFiredAt >= 0 && timerFiredAt < FLOOD_CAP,
      `the timer fired during the flood (at ${timerFiredAt})`,
    );
    assert.ok(
      otherRanAt >= 0 && otherRanAt < FLOOD_CAP,
      `the other process ran during the flood (at ${otherRanAt})`,
    );
    assert.ok(floodIterations > otherRanAt, "the flood was still going when the other process ran");
  });

  it("a push-mode process flooding itself lets others run, one budget at a time", async () => {
    const kernel = createKernel({ reductionBudget: 100 });
    let handled = 0;
    let otherRanAt = -1;
    let stop = false;
    const flood = kernel.spawn(
      behaviour({
        init: (ctx) => {
          for (let i = 0; i < 100; i++) ctx.send(ctx.self, i);
          return 0;
        },
        handle: (message, state, ctx) => {
          handled++;
          if (stop || handled >= FLOOD_CAP) ctx.exit("normal");
          ctx.send(ctx.self, message);
          return state + 1;
        },
      }),
    );
    const other = kernel.spawn(async (ctx) => {
      await ctx.receive();
      otherRanAt = handled;
    });
    setTimeout(() => kernel.send(other, "ping"), 5);
    await kernel.whenExited(other);
    stop = true;
    await kernel.whenExited(flood);
    assert.ok(
      otherRanAt >= 0 && otherRanAt < FLOOD_CAP,
      `the other process ran during the flood (at ${otherRanAt})`,
    );
    assert.ok(handled > otherRanAt);
  });

  it("two push-mode processes flooding themselves take turns of at most one budget", async () => {
    const budget = 50;
    const kernel = createKernel({ reductionBudget: budget });
    const rounds = 5_000;
    let last = -1;
    let run = 0;
    let longestRun = 0;
    const flooder = (index: number) =>
      behaviour({
        init: (ctx) => {
          ctx.send(ctx.self, 0);
          return 0;
        },
        handle: (_message, handled: number, ctx) => {
          run = last === index ? run + 1 : 1;
          last = index;
          longestRun = Math.max(longestRun, run);
          if (handled + 1 === rounds) ctx.exit("normal");
          ctx.send(ctx.self, handled);
          return handled + 1;
        },
      });
    const a = kernel.spawn(flooder(0));
    const b = kernel.spawn(flooder(1));
    await Promise.all([kernel.whenExited(a), kernel.whenExited(b)]);
    assert.equal(longestRun, budget, `the longest uninterrupted run was ${longestRun} messages`);
  });

  it("yield lets every other runnable process go first", async () => {
    const kernel = createKernel();
    const order: string[] = [];
    kernel.spawn(async (ctx) => {
      order.push("a1");
      await ctx.yield();
      order.push("a2");
    });
    kernel.spawn(() => {
      order.push("b");
    });
    await kernel.idle();
    assert.deepEqual(order, ["a1", "b", "a2"]);
  });
});
