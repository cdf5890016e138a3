import { GateError } from "./gate-error.ts";

/**
 * Polls `check` every `pollMs` until it answers `true` (done) or a string (a failure, thrown as
 * GATE_NODE_FAILED); rejects with GATE_TIMEOUT after `timeoutMs` saying what it waited for, and
 * with GATE_INTERRUPTED when `signal` aborts.
 */
export async function waitUntil(
  what: string,
  check: () => boolean | string | Promise<boolean | string>,
  options: { readonly timeoutMs: number; readonly signal?: AbortSignal; readonly pollMs?: number },
): Promise<void> {
  const deadline = performance.now() + options.timeoutMs;
  const pollMs = options.pollMs ?? 50;
  for (;;) {
    if (options.signal?.aborted)
      throw new GateError("GATE_INTERRUPTED", `interrupted while waiting for ${what}`);
    const outcome = await check();
    if (outcome === true) return;
    if (typeof outcome === "string") throw new GateError("GATE_NODE_FAILED", outcome);
    if (performance.now() >= deadline) {
      throw new GateError(
        "GATE_TIMEOUT",
        `timed out after ${options.timeoutMs / 1000} s waiting for ${what}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** `promise`'s value, or undefined when it did not settle within `timeoutMs` (the timer is cleared either way). */
export async function withinMs<T>(promise: Promise<T>, timeoutMs: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits `ms` (nothing for ms <= 0); rejects with GATE_INTERRUPTED when `signal` aborts. */
export function sleepMs(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(new GateError("GATE_INTERRUPTED", "interrupted"));
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new GateError("GATE_INTERRUPTED", "interrupted"));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
