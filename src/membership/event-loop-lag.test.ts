import assert from "node:assert/strict";
import { test } from "node:test";
import { createVirtualClock } from "../clock/virtual-clock.ts";
import { silentLogger } from "../observe/logger.ts";
import { type EventLoopLag, monitorEventLoopLag } from "./event-loop-lag.ts";
import { MEMBERSHIP_TICK_MS, MembershipService } from "./membership-service.ts";
import { DEFAULT_SWIM_OPTIONS } from "./swim-options.ts";
import { nodeIdOf } from "./testing/swim-cluster.ts";

test("monitorEventLoopLag sees a blocked event loop, however soon after a read it begins", async () => {
  const lag = monitorEventLoopLag();
  try {
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (const afterReadMs of [0, 10, 30]) {
      await new Promise<void>((resolve) =>
        setTimeout(() => {
          lag.takeStalledMs();
          setTimeout(() => {
            const start = performance.now();
            while (performance.now() - start < 300) {
              // the event loop is blocked: nothing else runs
            }
            resolve();
          }, afterReadMs);
        }, 0),
      );
      await new Promise((resolve) => setTimeout(resolve, 60));
      const stalledMs = lag.takeStalledMs();
      assert.ok(stalledMs >= 250, `${afterReadMs} ms after a read: measured ${stalledMs} ms`);
    }
  } finally {
    lag.stop();
  }
});

test("the membership service feeds the event-loop lag to local health", () => {
  const clock = createVirtualClock();
  let next = 0;
  const loopLag: EventLoopLag = {
    takeStalledMs: () => {
      const ms = next;
      next = 0;
      return ms;
    },
    stop: () => {},
  };
  const service = new MembershipService({
    self: nodeIdOf(1, 0),
    swim: DEFAULT_SWIM_OPTIONS,
    peers: { connectedPeers: () => [], sendTo: () => {}, neighboursLinkedTo: () => [] },
    clock,
    random: () => 0,
    logger: silentLogger,
    loopLag,
  });
  service.start(undefined);
  clock.advance(5 * MEMBERSHIP_TICK_MS);
  assert.equal(service.localHealth(), 0);
  next = DEFAULT_SWIM_OPTIONS.loopLagMaxMs + 1;
  clock.advance(MEMBERSHIP_TICK_MS);
  assert.equal(service.localHealth(), 1);
  service.leave();
});
