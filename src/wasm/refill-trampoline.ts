/**
 * The wasm function that goes into an instrumented guest's fuel table: it calls `refill`
 * through a suspending import. A host function cannot go into a wasm table directly, a wasm
 * function re-exporting an import can, and JSPI suspends through it: when `refill` returns a
 * promise, the guest's whole stack waits on it. Called outside `WebAssembly.promising`, `refill`
 * must return a number.
 */

/** `(module (import "h" "f" (func (result i32))) (export "f" (func 0)))` */
const TRAMPOLINE_BYTES = Uint8Array.from([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // magic, version 1
  ...[0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f], // type section: () -> i32
  ...[0x02, 0x07, 0x01, 0x01, 0x68, 0x01, 0x66, 0x00, 0x00], // import section: h.f, type 0
  ...[0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00], // export section: f = function 0
]);

let trampolineModule: WebAssembly.Module | undefined;

export function refillTrampoline(refill: () => number | Promise<number>): WebAssembly.ExportValue {
  trampolineModule ??= new WebAssembly.Module(TRAMPOLINE_BYTES);
  const instance = new WebAssembly.Instance(trampolineModule, {
    h: { f: new WebAssembly.Suspending(refill) },
  });
  return instance.exports.f;
}
