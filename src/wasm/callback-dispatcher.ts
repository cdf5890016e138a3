import type { GuestInstance } from "./guest-instance.ts";

/**
 * Calls a reactive module's event callbacks from inside WebAssembly, one JSPI entry for many
 * events. Entering a guest through `WebAssembly.promising` costs about a microsecond, more than
 * a callback that only counts; a host call that a guest makes costs a few tens of nanoseconds.
 * So a small module of our own (below) loops: it asks the host for the next event (`next`, a
 * suspending import: it returns at once when an event waits, else the whole stack parks until
 * one comes) and calls the guest's callback export directly (a call between two instances, no
 * JavaScript in between), with its arguments from `arg0` / `arg1`. A callback that suspends
 * (`proc_receive`, a fuel check's yield) suspends the whole stack, as it would alone; a trap
 * ends the loop with it.
 *
 * ```wat
 * (module
 *   (type $v (func)) (type $i (func (param i32))) (type $ii (func (param i32 i32))) (type $r (func (result i32)))
 *   (import "h" "next" (func $next (type $r)))
 *   (import "h" "a0" (func $a0 (type $r)))
 *   (import "h" "a1" (func $a1 (type $r)))
 *   (import "g" "on_tick" (func $tick (type $v)))
 *   (import "g" "on_remote_op" (func $remote (type $ii)))
 *   (import "g" "on_peer_connected" (func $pc (type $i)))
 *   (import "g" "on_peer_disconnected" (func $pd (type $i)))
 *   (import "g" "on_message" (func $msg (type $ii)))
 *   (func (export "dispatch")
 *     (loop $l
 *       (block $done (block $b4 (block $b3 (block $b2 (block $b1 (block $b0
 *         (br_table $b0 $b1 $b2 $b3 $b4 $done (call $next)))
 *         (call $tick) (br $l))
 *         (call $remote (call $a0) (call $a1)) (br $l))
 *         (call $pc (call $a0)) (br $l))
 *         (call $pd (call $a0)) (br $l))
 *         (call $msg (call $a0) (call $a1)) (br $l)))))
 * ```
 * src/wasm/callback-dispatcher.test.ts compiles this text and checks it gives these bytes.
 */
export const DISPATCHER_BYTES = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x11, 0x04, 0x60, 0x00, 0x00, 0x60, 0x01, 0x7f, 0x00,
  0x60, 0x02, 0x7f, 0x7f, 0x00, 0x60, 0x00, 0x01, 0x7f, 0x02, 0x73, 0x08, 0x01, 0x68, 0x04, 0x6e, 0x65, 0x78,
  0x74, 0x00, 0x03, 0x01, 0x68, 0x02, 0x61, 0x30, 0x00, 0x03, 0x01, 0x68, 0x02, 0x61, 0x31, 0x00, 0x03, 0x01,
  0x67, 0x07, 0x6f, 0x6e, 0x5f, 0x74, 0x69, 0x63, 0x6b, 0x00, 0x00, 0x01, 0x67, 0x0c, 0x6f, 0x6e, 0x5f, 0x72,
  0x65, 0x6d, 0x6f, 0x74, 0x65, 0x5f, 0x6f, 0x70, 0x00, 0x02, 0x01, 0x67, 0x11, 0x6f, 0x6e, 0x5f, 0x70, 0x65,
  0x65, 0x72, 0x5f, 0x63, 0x6f, 0x6e, 0x6e, 0x65, 0x63, 0x74, 0x65, 0x64, 0x00, 0x01, 0x01, 0x67, 0x14, 0x6f,
  0x6e, 0x5f, 0x70, 0x65, 0x65, 0x72, 0x5f, 0x64, 0x69, 0x73, 0x63, 0x6f, 0x6e, 0x6e, 0x65, 0x63, 0x74, 0x65,
  0x64, 0x00, 0x01, 0x01, 0x67, 0x0a, 0x6f, 0x6e, 0x5f, 0x6d, 0x65, 0x73, 0x73, 0x61, 0x67, 0x65, 0x00, 0x02,
  0x03, 0x02, 0x01, 0x00, 0x07, 0x0c, 0x01, 0x08, 0x64, 0x69, 0x73, 0x70, 0x61, 0x74, 0x63, 0x68, 0x00, 0x08,
  0x0a, 0x43, 0x01, 0x41, 0x00, 0x03, 0x40, 0x02, 0x40, 0x02, 0x40, 0x02, 0x40, 0x02, 0x40, 0x02, 0x40, 0x02,
  0x40, 0x10, 0x00, 0x0e, 0x05, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x0b, 0x10, 0x03, 0x0c, 0x05, 0x0b, 0x10,
  0x01, 0x10, 0x02, 0x10, 0x04, 0x0c, 0x04, 0x0b, 0x10, 0x01, 0x10, 0x05, 0x0c, 0x03, 0x0b, 0x10, 0x01, 0x10,
  0x06, 0x0c, 0x02, 0x0b, 0x10, 0x01, 0x10, 0x02, 0x10, 0x07, 0x0c, 0x01, 0x0b, 0x0b, 0x0b,
]);

/** What `next` answers: the callback to call, in the dispatcher's order; anything else ends the loop. */
export const DISPATCH_CODES = {
  on_tick: 0,
  on_remote_op: 1,
  on_peer_connected: 2,
  on_peer_disconnected: 3,
  on_message: 4,
} as const;

export type DispatchedCallback = keyof typeof DISPATCH_CODES;

/** `next`'s answer when no event will come any more: the loop returns. */
export const DISPATCH_END = -1;

/** The host side of a dispatch loop. */
export interface DispatchHost {
  /** The code of the next callback (its arguments ready for `arg0`/`arg1`), a promise of it, or DISPATCH_END. */
  next(): number | Promise<number>;
  arg0(): number;
  arg1(): number;
}

let dispatcherModule: WebAssembly.Module | undefined;

/**
 * The dispatch loop of `guest`: call the result inside `guest.runWith` (JSPI entry, the guest's
 * CPU governor and failure classification apply). Callbacks the guest does not export are never
 * asked for (their events are never queued); their slots get a function that says so if they are.
 */
export function createCallbackDispatcher(guest: GuestInstance, host: DispatchHost): () => Promise<unknown> {
  dispatcherModule ??= new WebAssembly.Module(DISPATCHER_BYTES);
  const exports = guest.instance.exports;
  const callbacks: Record<string, unknown> = {};
  for (const name of Object.keys(DISPATCH_CODES)) {
    const exported = exports[name];
    callbacks[name] =
      typeof exported === "function"
        ? exported
        : () => {
            throw new Error(`dispatcher asked for ${name}, which the module does not export`);
          };
  }
  const instance = new WebAssembly.Instance(dispatcherModule, {
    h: { next: new WebAssembly.Suspending(host.next), a0: host.arg0, a1: host.arg1 },
    g: callbacks,
  } as WebAssembly.Imports);
  return WebAssembly.promising(instance.exports.dispatch as () => void);
}
