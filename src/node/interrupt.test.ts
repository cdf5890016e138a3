import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Interrupt, type InterruptSignal } from "./interrupt.ts";

describe("Interrupt", () => {
  test("calls each listener added and not removed once, in order, at the first abort", () => {
    const interrupt = new Interrupt();
    const calls: string[] = [];
    const removed = () => calls.push("removed");
    interrupt.addEventListener("abort", () => calls.push(`first ${String(interrupt.reason)}`));
    interrupt.addEventListener("abort", removed);
    interrupt.addEventListener("abort", () => calls.push(`second ${interrupt.aborted}`), { once: true });
    interrupt.removeEventListener("abort", removed);
    assert.equal(interrupt.aborted, false);
    assert.equal(interrupt.reason, undefined);
    interrupt.abort("interrupted by SIGINT");
    interrupt.abort("again");
    assert.deepEqual(calls, ["first interrupted by SIGINT", "second true"]);
    assert.equal(interrupt.reason, "interrupted by SIGINT");
    interrupt.addEventListener("abort", () => calls.push("after"));
    interrupt.abort("a third time");
    assert.equal(calls.length, 2);
  });

  test("skips a listener an earlier one removed, as an AbortSignal does", () => {
    for (const target of [new Interrupt(), new AbortController()]) {
      const signal: InterruptSignal = target instanceof Interrupt ? target : target.signal;
      const calls: string[] = [];
      const removed = () => calls.push("removed");
      signal.addEventListener("abort", () => signal.removeEventListener("abort", removed));
      signal.addEventListener("abort", removed);
      signal.addEventListener("abort", () => calls.push("last"));
      target.abort("stop");
      assert.deepEqual(calls, ["last"], target.constructor.name);
    }
  });

  test("runs every listener when one throws (an AbortSignal does too), then throws its error", () => {
    const interrupt = new Interrupt();
    const calls: string[] = [];
    interrupt.addEventListener("abort", () => {
      calls.push("throws");
      throw new Error("listener failed");
    });
    interrupt.addEventListener("abort", () => calls.push("last"));
    assert.throws(() => interrupt.abort("stop"), /listener failed/);
    assert.deepEqual(calls, ["throws", "last"]);
    assert.equal(interrupt.aborted, true);
  });

  test("an AbortSignal is an InterruptSignal too", () => {
    const controller = new AbortController();
    const signal: InterruptSignal = controller.signal;
    let reason: unknown;
    signal.addEventListener("abort", () => (reason = signal.reason), { once: true });
    controller.abort("stop");
    assert.equal(reason, "stop");
  });
});
