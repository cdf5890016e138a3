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

  test("an AbortSignal is an InterruptSignal too", () => {
    const controller = new AbortController();
    const signal: InterruptSignal = controller.signal;
    let reason: unknown;
    signal.addEventListener("abort", () => (reason = signal.reason), { once: true });
    controller.abort("stop");
    assert.equal(reason, "stop");
  });
});
