import { AbiContext } from "./abi-context.ts";
import type { GuestEnvironment } from "./guest-environment.ts";
import type { GuestMemoryRef } from "./guest-memory.ts";
import { WASI_EBADF, WASI_EFAULT, WASI_EINVAL, WASI_EIO, WASI_ESUCCESS } from "./wasi-errno.ts";

const SUBSCRIPTION_BYTES = 48;
const EVENT_BYTES = 32;
const EVENTTYPE_CLOCK = 0;
const EVENTTYPE_FD_READ = 1;
const EVENTTYPE_FD_WRITE = 2;
const CLOCK_REALTIME = 0;
const CLOCK_MONOTONIC = 1;
const SUBCLOCKFLAG_ABSTIME = 1;
const FD_READWRITE_HANGUP = 1;
/** Longest single timer Node accepts; longer sleeps wait in several steps. */
const TIMER_MS_MAX = 2 ** 31 - 1;
/** One poll waits for at most this many subscriptions (wasi-libc's sleep uses one). */
export const POLL_SUBSCRIPTIONS_MAX = 1024;

/** One decoded subscription: a clock that fires after `delayMs`, or an fd that is ready now. */
export type PollSubscription =
  | { readonly userdata: bigint; readonly kind: "clock"; readonly delayMs: number }
  | { readonly userdata: bigint; readonly kind: "fd"; readonly type: 1 | 2; readonly fd: number }
  | { readonly userdata: bigint; readonly kind: "invalid"; readonly type: number };

export interface PollEvent {
  readonly userdata: bigint;
  readonly error: number;
  readonly type: number;
  readonly hangup: boolean;
}

/**
 * What a poll answers, without I/O: fd subscriptions are decided at once (stdin is at end of
 * file, stdout and stderr are always writable, every other fd is EBADF); if any of those exist
 * the poll returns them without waiting, else it sleeps until the earliest clock and reports the
 * clocks due by then.
 */
export function planPoll(subscriptions: readonly PollSubscription[]): {
  sleepMs: number;
  due: (elapsedMs: number) => PollEvent[];
} {
  const immediate: PollEvent[] = [];
  for (const sub of subscriptions) {
    if (sub.kind === "invalid")
      immediate.push({ userdata: sub.userdata, error: WASI_EINVAL, type: sub.type, hangup: false });
    else if (sub.kind === "fd") {
      const stdio = sub.type === EVENTTYPE_FD_READ ? sub.fd === 0 : sub.fd === 1 || sub.fd === 2;
      immediate.push({
        userdata: sub.userdata,
        error: stdio ? WASI_ESUCCESS : WASI_EBADF,
        type: sub.type,
        hangup: sub.fd === 0,
      });
    }
  }
  const clocks = subscriptions.filter((s) => s.kind === "clock");
  if (immediate.length > 0 || clocks.length === 0) return { sleepMs: 0, due: () => immediate };
  const sleepMs = Math.min(...clocks.map((c) => c.delayMs));
  return {
    sleepMs,
    due: (elapsedMs) =>
      clocks
        .filter((c) => c.delayMs <= Math.max(elapsedMs, sleepMs))
        .map((c) => ({ userdata: c.userdata, error: WASI_ESUCCESS, type: EVENTTYPE_CLOCK, hangup: false })),
  };
}

/**
 * WASI `poll_oneoff` that really waits: the runtime installs it as a suspending import (JSPI),
 * so a sleeping guest parks its stack, the event loop keeps serving, and the wait is not CPU
 * time. This is what wasi-libc's `sleep`/`nanosleep` and a Rust `thread::sleep` call.
 */
export function createWasiPollOneoff(
  env: GuestEnvironment,
  memory: GuestMemoryRef,
): (inPtr: number, outPtr: number, count: number, neventsPtr: number) => Promise<number> {
  const ctx = new AbiContext(env, memory);
  return async (inPtr, outPtr, count, neventsPtr) => {
    try {
      inPtr >>>= 0;
      outPtr >>>= 0;
      count >>>= 0;
      neventsPtr >>>= 0;
      if (count === 0 || count > POLL_SUBSCRIPTIONS_MAX) return WASI_EINVAL;
      const length = ctx.views.bytes().length;
      if (
        inPtr + count * SUBSCRIPTION_BYTES > length ||
        outPtr + count * EVENT_BYTES > length ||
        neventsPtr + 4 > length
      ) {
        return WASI_EFAULT;
      }
      const subscriptions = readSubscriptions(ctx.views.data(), inPtr, count, env);
      const plan = planPoll(subscriptions);
      const started = env.clock.monotonicMs();
      for (let left = plan.sleepMs; left > 0; left -= TIMER_MS_MAX) {
        await new Promise((resolve) => setTimeout(resolve, Math.min(left, TIMER_MS_MAX)));
      }
      const events = plan.due(env.clock.monotonicMs() - started);
      // Memory may have grown (never shrunk) while the guest slept: take fresh views.
      const data = ctx.views.data();
      events.forEach((event, i) => {
        const at = outPtr + i * EVENT_BYTES;
        data.setBigUint64(at, event.userdata, true);
        data.setUint16(at + 8, event.error, true);
        data.setUint8(at + 10, event.type);
        data.setBigUint64(at + 16, 0n, true);
        data.setUint16(at + 24, event.hangup ? FD_READWRITE_HANGUP : 0, true);
      });
      data.setUint32(neventsPtr, events.length, true);
      return WASI_ESUCCESS;
    } catch (error) {
      ctx.logFailure("poll_oneoff", error);
      return WASI_EIO;
    }
  };
}

function readSubscriptions(
  data: DataView,
  inPtr: number,
  count: number,
  env: GuestEnvironment,
): PollSubscription[] {
  const subscriptions: PollSubscription[] = [];
  for (let i = 0; i < count; i++) {
    const at = inPtr + i * SUBSCRIPTION_BYTES;
    const userdata = data.getBigUint64(at, true);
    const type = data.getUint8(at + 8);
    if (type === EVENTTYPE_CLOCK) {
      const clockId = data.getUint32(at + 16, true);
      const timeoutNs = data.getBigUint64(at + 24, true);
      const absolute = (data.getUint16(at + 40, true) & SUBCLOCKFLAG_ABSTIME) !== 0;
      if (clockId !== CLOCK_REALTIME && clockId !== CLOCK_MONOTONIC) {
        subscriptions.push({ userdata, kind: "invalid", type });
        continue;
      }
      // Rounded up: a guest that asks to wait at all waits at least the timer's 1 ms granularity.
      const timeoutMs = Math.ceil(Number(timeoutNs) / 1_000_000);
      const nowMs = clockId === CLOCK_REALTIME ? env.clock.nowMs() : env.clock.monotonicMs();
      subscriptions.push({
        userdata,
        kind: "clock",
        delayMs: Math.max(0, absolute ? timeoutMs - nowMs : timeoutMs),
      });
    } else if (type === EVENTTYPE_FD_READ || type === EVENTTYPE_FD_WRITE) {
      subscriptions.push({ userdata, kind: "fd", type, fd: data.getUint32(at + 16, true) });
    } else {
      subscriptions.push({ userdata, kind: "invalid", type });
    }
  }
  return subscriptions;
}
