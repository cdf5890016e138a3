import type { GuestInstance } from "./guest-instance.ts";

/**
 * Calls a reactive module's event callbacks from inside WebAssembly, one JSPI entry for many
 * events. Entering a guest through `WebAssembly.promising` costs about a microsecond, more than
 * a callback that only counts; a host call that a guest makes costs a few tens of nanoseconds.
 * So a small module of our own (below) loops: it asks the host for the next event (`next`, a
 * plain import: the callback's code and its two arguments packed in one i32, see
 * {@link packDispatch}) and calls the guest's callback export directly (a call between two
 * instances, no JavaScript in between). When no event waits, `next` answers WAIT and the loop
 * calls `wait`, a suspending import: the whole stack parks until an event comes. A callback that
 * suspends (`proc_receive`, a fuel check's yield) suspends the whole stack, as it would alone; a
 * trap ends the loop with it.
 *
 * ```wat
 * (module
 *   (type $v (func)) (type $i (func (param i32))) (type $ii (func (param i32 i32))) (type $r (func (result i32)))
 *   (import "h" "next" (func $next (type $r)))
 *   (import "h" "wait" (func $wait (type $r)))
 *   (import "g" "on_tick" (func $tick (type $v)))
 *   (import "g" "on_remote_op" (func $remote (type $ii)))
 *   (import "g" "on_peer_connected" (func $pc (type $i)))
 *   (import "g" "on_peer_disconnected" (func $pd (type $i)))
 *   (import "g" "on_message" (func $msg (type $ii)))
 *   (func (export "dispatch") (local $n i32) (local $a0 i32) (local $a1 i32)
 *     (loop $l
 *       (local.set $n (call $next))
 *       (local.set $a0 (i32.and (i32.shr_u (local.get $n) (i32.const 3)) (i32.const 2047)))
 *       (local.set $a1 (i32.shr_u (local.get $n) (i32.const 14)))
 *       (block $done (block $w (block $b4 (block $b3 (block $b2 (block $b1 (block $b0
 *         (br_table $b0 $b1 $b2 $b3 $b4 $w $done (i32.and (local.get $n) (i32.const 7))))
 *         (call $tick) (br $l))
 *         (call $remote (local.get $a0) (local.get $a1)) (br $l))
 *         (call $pc (local.get $a0)) (br $l))
 *         (call $pd (local.get $a0)) (br $l))
 *         (call $msg (local.get $a0) (local.get $a1)) (br $l))
 *         (drop (call $wait)) (br $l)))))
 * ```
 * src/wasm/callback-dispatcher.test.ts compiles this text and checks it gives these bytes.
 */
export const DISPATCHER_BYTES = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x11, 0x04, 0x60, 0x00, 0x00, 0x60, 0x01, 0x7f, 0x00,
  0x60, 0x02, 0x7f, 0x7f, 0x00, 0x60, 0x00, 0x01, 0x7f, 0x02, 0x6e, 0x07, 0x01, 0x68, 0x04, 0x6e, 0x65, 0x78,
  0x74, 0x00, 0x03, 0x01, 0x68, 0x04, 0x77, 0x61, 0x69, 0x74, 0x00, 0x03, 0x01, 0x67, 0x07, 0x6f, 0x6e, 0x5f,
  0x74, 0x69, 0x63, 0x6b, 0x00, 0x00, 0x01, 0x67, 0x0c, 0x6f, 0x6e, 0x5f, 0x72, 0x65, 0x6d, 0x6f, 0x74, 0x65,
  0x5f, 0x6f, 0x70, 0x00, 0x02, 0x01, 0x67, 0x11, 0x6f, 0x6e, 0x5f, 0x70, 0x65, 0x65, 0x72, 0x5f, 0x63, 0x6f,
  0x6e, 0x6e, 0x65, 0x63, 0x74, 0x65, 0x64, 0x00, 0x01, 0x01, 0x67, 0x14, 0x6f, 0x6e, 0x5f, 0x70, 0x65, 0x65,
  0x72, 0x5f, 0x64, 0x69, 0x73, 0x63, 0x6f, 0x6e, 0x6e, 0x65, 0x63, 0x74, 0x65, 0x64, 0x00, 0x01, 0x01, 0x67,
  0x0a, 0x6f, 0x6e, 0x5f, 0x6d, 0x65, 0x73, 0x73, 0x61, 0x67, 0x65, 0x00, 0x02, 0x03, 0x02, 0x01, 0x00, 0x07,
  0x0c, 0x01, 0x08, 0x64, 0x69, 0x73, 0x70, 0x61, 0x74, 0x63, 0x68, 0x00, 0x07, 0x0a, 0x67, 0x01, 0x65, 0x01,
  0x03, 0x7f, 0x03, 0x40, 0x10, 0x00, 0x21, 0x00, 0x20, 0x00, 0x41, 0x03, 0x76, 0x41, 0xff, 0x0f, 0x71, 0x21,
  0x01, 0x20, 0x00, 0x41, 0x0e, 0x76, 0x21, 0x02, 0x02, 0x40, 0x02, 0x40, 0x02, 0x40, 0x02, 0x40, 0x02, 0x40,
  0x02, 0x40, 0x02, 0x40, 0x20, 0x00, 0x41, 0x07, 0x71, 0x0e, 0x06, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
  0x0b, 0x10, 0x02, 0x0c, 0x06, 0x0b, 0x20, 0x01, 0x20, 0x02, 0x10, 0x03, 0x0c, 0x05, 0x0b, 0x20, 0x01, 0x10,
  0x04, 0x0c, 0x04, 0x0b, 0x20, 0x01, 0x10, 0x05, 0x0c, 0x03, 0x0b, 0x20, 0x01, 0x20, 0x02, 0x10, 0x06, 0x0c,
  0x02, 0x0b, 0x10, 0x01, 0x1a, 0x0c, 0x01, 0x0b, 0x0b, 0x0b,
]);

/** The callback codes of the loop, in its order. */
export const DISPATCH_CODES = {
  on_tick: 0,
  on_remote_op: 1,
  on_peer_connected: 2,
  on_peer_disconnected: 3,
  on_message: 4,
} as const;

export type DispatchedCallback = keyof typeof DISPATCH_CODES;

/** `next`'s answer when no event waits: the loop calls `wait`, then `next` again. */
export const DISPATCH_WAIT = 5;
/** `next`'s answer when no event will come any more: the loop returns. */
export const DISPATCH_END = 6;

/** Largest first argument the packing carries: an event's key, topic or node id length (<= 1024). */
export const DISPATCH_ARG0_MAX = 2047;
/** Largest second argument: a message payload length (<= 64 KiB) or a family code. */
export const DISPATCH_ARG1_MAX = 131_071;

/**
 * `code` and its two arguments in one non-negative i32: code in bits 0-2, the first argument in
 * bits 3-13, the second in bits 14-30. Keys are at most 1024 bytes (ABI and wire), topics 256,
 * payloads 64 KiB: every event fits; anything else is a bug of the host.
 */
export function packDispatch(code: number, arg0 = 0, arg1 = 0): number {
  if (arg0 > DISPATCH_ARG0_MAX || arg1 > DISPATCH_ARG1_MAX) {
    throw new RangeError(`dispatch arguments ${arg0}, ${arg1} do not fit the packing`);
  }
  return code | (arg0 << 3) | (arg1 << 14);
}

/** The host side of a dispatch loop. */
export interface DispatchHost {
  /** A packed callback ({@link packDispatch}), DISPATCH_WAIT or DISPATCH_END. */
  next(): number;
  /** Called after DISPATCH_WAIT: a promise that settles once `next` has something again. */
  wait(): Promise<number> | number;
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
    h: { next: host.next, wait: new WebAssembly.Suspending(host.wait) },
    g: callbacks,
  } as WebAssembly.Imports);
  return WebAssembly.promising(instance.exports.dispatch as () => void);
}
