/**
 * The wasm function that goes into an instrumented guest's fuel table: it calls `refill` with
 * the guest's instance id (the instrumenter's `__nx_instance` global, which the guest passes in)
 * through a suspending import. A host function cannot go into a wasm table directly, a wasm
 * function calling an import can, and JSPI suspends through it: when `refill` returns a
 * promise, the guest's whole stack waits on it. Every entry into a guest is a
 * `WebAssembly.promising` function: called outside one, a suspending import throws a SuspendError
 * even when `refill` answers a number (Node 26).
 *
 * The id is what lets one trampoline serve every guest instance of the process
 * ({@link sharedRefillTrampoline}): an instance of this module per guest instance, closing over
 * its governor, was about 1 KB of each parked process (docs/design/wasm-processes.md).
 *
 * A refill of {@link REFILL_STOPPED} (the governor stopped the guest: CPU budget, kill) traps
 * here, before any more guest code runs. A trap, unlike an exception thrown from the host, no
 * guest `catch` can stop, so the guest's stack unwinds and is collected. Parking it on a
 * promise that never settles kept it forever: V8 never collects a suspended stack, so every
 * stopped guest held its instance and linear memory for the node's lifetime.
 *
 * ```wat
 * (module
 *   (import "h" "f" (func $refill (param i32) (result i32)))
 *   (func $__nx_refill (export "f") (param $instance i32) (result i32) (local $units i32)
 *     (local.set $units (call $refill (local.get $instance)))
 *     (if (i32.lt_s (local.get $units) (i32.const 0)) (then unreachable))
 *     (local.get $units)))
 * ```
 */

/** What `refill` answers (or resolves to) when the guest must not run on: the trampoline traps. */
export const REFILL_STOPPED = -1;

/** The module above; src/wasm/refill-trampoline.test.ts compiles the text and checks these bytes. */
export const TRAMPOLINE_BYTES = Uint8Array.from([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // magic, version 1
  ...[0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f], // type section: (i32) -> i32
  ...[0x02, 0x07, 0x01, 0x01, 0x68, 0x01, 0x66, 0x00, 0x00], // import section: h.f, type 0
  ...[0x03, 0x02, 0x01, 0x00], // function section: one function of type 0
  ...[0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x01], // export section: f = function 1
  ...[0x0a, 0x17, 0x01, 0x15, 0x01, 0x01, 0x7f], // code section: one body, one i32 local
  ...[0x20, 0x00, 0x10, 0x00, 0x21, 0x01], // local.get 0; call $refill; local.set 1
  ...[0x20, 0x01, 0x41, 0x00, 0x48, 0x04, 0x40, 0x00, 0x0b], // local.get 1; i32.const 0; i32.lt_s; if; unreachable; end
  ...[0x20, 0x01, 0x0b], // local.get 1; end
  // name section: function 1 is `__nx_refill`, so a stack taken at a stop names the guest's
  // function under it, not this one (guestFunctionOf skips `__nx_` frames)
  ...[0x00, 0x15, 0x04, 0x6e, 0x61, 0x6d, 0x65], // custom section "name"
  ...[0x01, 0x0e, 0x01, 0x01, 0x0b], // function names: one, function 1, 11 bytes
  ...Array.from("__nx_refill", (c) => c.charCodeAt(0)),
]);

let trampolineModule: WebAssembly.Module | undefined;

/** A trampoline of its own over `refill`, which gets the calling guest's instance id. */
export function refillTrampoline(
  refill: (instanceId: number) => number | Promise<number>,
): WebAssembly.ExportValue {
  trampolineModule ??= new WebAssembly.Module(TRAMPOLINE_BYTES);
  const instance = new WebAssembly.Instance(trampolineModule, {
    h: { f: new WebAssembly.Suspending(refill) },
  });
  return instance.exports.f;
}
