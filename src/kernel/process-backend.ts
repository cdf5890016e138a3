import type { ExitReason } from "./exit-reason.ts";
import type { ProcessContext } from "./process-context.ts";

/**
 * The process backend seam: what runs inside a process. The kernel owns the mailbox, links,
 * monitors, registry, timers and scheduling; a backend only runs code. A JS function body is the
 * built-in backend; `behaviour(...)` (push-style handlers) and WebAssembly instances (src/wasm)
 * plug in here.
 *
 * Lifecycle, all on the event loop:
 * 1. `spawn` calls the spawnable's `backend()` factory at once, so each process (and each
 *    supervisor restart) gets a fresh backend. The process is runnable; nothing runs yet.
 * 2. The scheduler calls `start(ctx)` once. Returning a promise makes the process live until it
 *    settles: fulfilled ends it with `"normal"`, rejected ends it with the rejection (a wasm trap
 *    becomes the reason). Returning `undefined` makes it live until `ctx.exit` or an exit signal.
 * 3. Messages reach the backend in one of two ways:
 *    - pull: its code calls `ctx.receive(matcher?, timeoutMs?)` (a JSPI `Suspending` import for
 *      wasm); the result is the message itself when one is queued, else a promise;
 *    - push: if `deliver` exists, the scheduler calls it with each queued message in order, at
 *      most a budget of them per slice (fairness). Returning a promise pauses delivery until it
 *      settles (during which the backend may `ctx.receive` selectively, e.g. for a call reply);
 *      throwing or rejecting ends the process with that error.
 * 4. Long-running code yields with `ctx.yield()` (a wasm fuel check calls it) so others run.
 * 5. When the process ends for any reason, the kernel calls `terminate(reason)` once, after the
 *    process is gone (it can no longer send). A pending `receive`/`yield` promise never settles:
 *    the backend must drop the instance and never resume it.
 *
 * @example
 * const counter: ProcessBackend = {
 *   kind: "counter",
 *   start: () => undefined,            // lives until killed
 *   deliver(message) { count++; },     // push mode
 * };
 * kernel.spawn({ backend: () => counter });
 */
export interface ProcessBackend {
  /** Short kind for introspection: "wasm", "behaviour", ... */
  readonly kind: string;
  /** Introspection label when SpawnOptions.label is not given (e.g. the wasm module's name). */
  readonly label?: string;
  /**
   * Whose code this is (a WebAssembly process: its module's id), as {@link ProcessContext.ownerOf}
   * answers it; absent for code that belongs to the node.
   */
  readonly owner?: string;
  start(ctx: ProcessContext): PromiseLike<unknown> | undefined;
  deliver?(message: unknown): PromiseLike<unknown> | undefined;
  terminate?(reason: ExitReason): void;
  /** Bytes this backend holds beyond the kernel's bookkeeping (e.g. wasm linear memory). */
  memoryBytes?(): number;
}
