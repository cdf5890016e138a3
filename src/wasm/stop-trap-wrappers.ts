import { WasmWriter } from "./binary/wasm-writer.ts";
import { type FunctionType, VALUE_TYPES, type ValueType } from "./module-imports.ts";

/**
 * Wraps a guest's suspending imports (`proc_receive`, `http_fetch`, `poll_oneoff`, a rate
 * quota's waits) in wasm functions of the same types that trap when the governor stopped the
 * guest while it waited (FuelGovernor.suspend settles the wait with WAIT_STOPPED). A trap,
 * unlike an error thrown from the host, no guest `catch_all` can stop: the guest runs none of
 * its code after a stop, and its stack unwinds and is collected (as the refill trampoline does
 * for a stop at a fuel check). Each wrapper `i`, for import `i` of type `(p*) -> (r*)`:
 *
 * ```wat
 * (import "h" "<i>" (func $f (param p*) (result r*)))
 * (import "h" "stopped" (global $stopped (mut i32)))
 * (func (export "<i>") (param p*) (result r*)
 *   (call $f (local.get 0) ... (local.get n-1))
 *   (if (global.get $stopped) (then unreachable)))
 * ```
 */

/** Binary codes by value type: {@link VALUE_TYPES} turned around. */
const VALUE_TYPE_CODES: ReadonlyMap<ValueType, number> = new Map(
  Array.from(VALUE_TYPES, ([code, type]) => [type, code]),
);

function section(out: WasmWriter, id: number, body: WasmWriter): void {
  out.byte(id).sized(body.finish());
}

/** The wrapper module's bytes for imports of `types`, in order. */
export function stopTrapWrapperBytes(types: readonly FunctionType[]): Uint8Array {
  const valueTypes = (list: readonly ValueType[], w: WasmWriter): WasmWriter => {
    w.u32(list.length);
    for (const t of list) w.byte(VALUE_TYPE_CODES.get(t)!);
    return w;
  };
  const typeSection = new WasmWriter().u32(types.length);
  for (const type of types) valueTypes(type.results, valueTypes(type.params, typeSection.byte(0x60)));
  const importSection = new WasmWriter().u32(types.length + 1);
  types.forEach((_, i) => {
    importSection.name("h").name(String(i)).byte(0x00).u32(i);
  });
  importSection.name("h").name("stopped").byte(0x03).byte(0x7f).byte(0x01);
  const functionSection = new WasmWriter().u32(types.length);
  types.forEach((_, i) => {
    functionSection.u32(i);
  });
  const exportSection = new WasmWriter().u32(types.length);
  types.forEach((_, i) => {
    exportSection
      .name(String(i))
      .byte(0x00)
      .u32(types.length + i);
  });
  const codeSection = new WasmWriter().u32(types.length);
  types.forEach((type, i) => {
    const body = new WasmWriter().u32(0); // no locals
    type.params.forEach((_, p) => {
      body.byte(0x20).u32(p); // local.get p
    });
    body.byte(0x10).u32(i); // call import i
    body.byte(0x23).u32(0).byte(0x04).byte(0x40).byte(0x00).byte(0x0b); // global.get 0; if; unreachable; end
    body.byte(0x0b); // end
    codeSection.sized(body.finish());
  });
  const out = new WasmWriter().bytes(Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
  section(out, 1, typeSection);
  section(out, 2, importSection);
  section(out, 3, functionSection);
  section(out, 7, exportSection);
  section(out, 10, codeSection);
  // The name section calls wrapper i `__nx_wait<i>`: a stack through it (a host call that failed)
  // names the guest's function under it, not this one (guestFunctionOf skips `__nx_` frames).
  const functionNames = new WasmWriter().u32(types.length);
  types.forEach((_, i) => {
    functionNames.u32(types.length + i).name(`__nx_wait${i}`);
  });
  section(out, 0, new WasmWriter().name("name").byte(0x01).sized(functionNames.finish()));
  return out.finish();
}

/** Compiled wrapper modules by guest module and list of types: one compilation per guest module. */
const compiled = new WeakMap<WebAssembly.Module, Map<string, WebAssembly.Module>>();

/**
 * `suspending[i]` (a `WebAssembly.Suspending` of type `types[i]`) each wrapped to trap when
 * `stopped` (FuelGovernor.stopFlag) is 1 as it returns. `guest` keys the compiled wrapper module.
 */
export function stopTrapWrappers(
  guest: WebAssembly.Module,
  types: readonly FunctionType[],
  suspending: readonly unknown[],
  stopped: WebAssembly.Global,
): WebAssembly.ExportValue[] {
  let byTypes = compiled.get(guest);
  if (byTypes === undefined) {
    byTypes = new Map();
    compiled.set(guest, byTypes);
  }
  const key = JSON.stringify(types);
  let module = byTypes.get(key);
  if (module === undefined) {
    module = new WebAssembly.Module(stopTrapWrapperBytes(types));
    byTypes.set(key, module);
  }
  const imports: Record<string, unknown> = { stopped };
  suspending.forEach((fn, i) => {
    imports[String(i)] = fn;
  });
  const { exports } = new WebAssembly.Instance(module, { h: imports } as WebAssembly.Imports);
  return types.map((_, i) => exports[String(i)]!);
}
