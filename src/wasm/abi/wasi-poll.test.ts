import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fixtureGuest } from "../../../test/fixtures/wasm/guest-runtime.ts";
import { WASI_EBADF, WASI_EINVAL, WASI_ESUCCESS } from "./wasi-errno.ts";
import { planPoll } from "./wasi-poll.ts";

describe("WASI poll_oneoff", () => {
  test("a guest sleeps without burning CPU or blocking the event loop", async () => {
    const { guest, env } = await fixtureGuest("sleep", { cpuMsPerRun: 50 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const started = performance.now();
    const result = await guest.run();
    clearInterval(timer);
    const elapsedMs = performance.now() - started;
    assert.ok(result.ok, result.ok ? "" : result.failure.message);
    assert.equal(env.written.stdout, "woke\n");
    assert.ok(elapsedMs >= 190, `slept ${Math.round(elapsedMs)} ms`);
    assert.ok(ticks >= 5, `the event loop ran ${ticks} timer ticks meanwhile`);
    assert.ok(guest.governor.usedMs < 50, "a 200 ms sleep is not CPU time: a 50 ms budget allows it");
  });

  test("planPoll: fds answer at once, otherwise the earliest clock decides", () => {
    const fdPlan = planPoll([
      { userdata: 1n, kind: "clock", delayMs: 1000 },
      { userdata: 2n, kind: "fd", type: 2, fd: 1 },
      { userdata: 3n, kind: "fd", type: 1, fd: 7 },
      { userdata: 4n, kind: "invalid", type: 9 },
    ]);
    assert.equal(fdPlan.sleepMs, 0);
    assert.deepEqual(
      fdPlan.due(0).map((e) => [e.userdata, e.error]),
      [
        [2n, WASI_ESUCCESS],
        [3n, WASI_EBADF],
        [4n, WASI_EINVAL],
      ],
    );
    const clockPlan = planPoll([
      { userdata: 1n, kind: "clock", delayMs: 300 },
      { userdata: 2n, kind: "clock", delayMs: 100 },
    ]);
    assert.equal(clockPlan.sleepMs, 100);
    assert.deepEqual(
      clockPlan.due(100).map((e) => e.userdata),
      [2n],
    );
    assert.deepEqual(
      clockPlan.due(400).map((e) => e.userdata),
      [1n, 2n],
    );
  });
});
