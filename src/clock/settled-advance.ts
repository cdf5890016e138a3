import type { VirtualClock } from "./virtual-clock.ts";

/**
 * Runs the event loop until nothing is left to do now: every promise callback and every
 * `setImmediate` (peer management and the kernel yield with it), including those they queue.
 * Code driven by a VirtualClock does no real I/O and waits on no real timer, so what it does in
 * here depends only on what ran before: the same seed replays the same run.
 */
export async function settleEventLoop(): Promise<void> {
  do await new Promise<void>((resolve) => setImmediate(resolve));
  while (process.getActiveResourcesInfo().includes("Immediate"));
}

/**
 * Moves `clock` forward by `ms` as real time would move for async code: the event loop settles
 * before, between every two timers and after, so a timer's promise chain has run before the next
 * timer fires. (`VirtualClock.advance` fires timers back to back: enough for synchronous code.)
 *
 * @example
 * const dialing = transport.dial("b");
 * await advanceSettled(clock, 20); // the handshake's frames are delivered and answered
 * const connection = await dialing;
 */
export async function advanceSettled(clock: VirtualClock, ms: number): Promise<void> {
  const targetMs = clock.now() + ms;
  await settleEventLoop();
  while (clock.fireNext(targetMs)) await settleEventLoop();
  clock.advance(targetMs - clock.now());
}
