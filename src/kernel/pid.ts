/**
 * A process identifier. Pids are small positive integers, unique for the life of a kernel (never
 * reused), so they travel by value inside messages and through the wasm ABI as a plain i32/f64.
 * Pid 0 is the kernel itself: exit signals and messages sent from outside any process come from it.
 */
export type Pid = number & { readonly __brand: "Pid" };

/** A reference made by `monitor`, `makeRef` or `call`: unique for the life of a kernel. */
export type Ref = number & { readonly __brand: "Ref" };

/** A timer made by `sendAfter`, for `cancelTimer`. */
export type TimerRef = number & { readonly __brand: "TimerRef" };

/** The sender of signals that do not come from a process (`kernel.exit`, `kernel.send`). */
export const KERNEL_PID = 0 as Pid;

/** True for a value shaped like a pid (a positive safe integer, or 0 for the kernel). */
export function isPid(value: unknown): value is Pid {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** Erlang-style text for logs and introspection: `<0.42>`. */
export function formatPid(pid: Pid): string {
  return `<0.${pid}>`;
}
