import { FUEL_TABLE_EXPORT, MEMORY_EXPORT, START_EXPORT } from "../guest-exports.ts";
import {
  POOLABLE_MARKER_EXPORT,
  RESET_GLOBAL_EXPORT_PREFIX,
  RESET_TABLE_EXPORT_PREFIX,
} from "../instrument-module.ts";
import type { GuestModule } from "../load-guest-module.ts";

/**
 * Fuel units (loop iterations and calls) a start function may use to qualify for a
 * {@link StartImage}; one that needs more runs in every life as before. It runs once, at the
 * first instantiation, synchronously: this bounds that pause (a few milliseconds at most).
 */
export const START_IMAGE_FUEL_UNITS_MAX = 1_000_000;
/** Units handed out per refill while the start function is tried: how far it runs on after calling an import. */
const TRIAL_REFILL_UNITS = 10_000;

/**
 * The state a module's start function leaves when it calls no import: memory and the values of
 * the mutable globals the instrumenter exports for resets (by export name). Such a start function
 * is a pure function of the instantiation state, which is the same for every instance, so every
 * instance of the module would reach this state: a pooled instance can be restored to it instead
 * of to its instantiation state, and its lives skip the start function (a JSPI entry each).
 */
export interface StartImage {
  readonly memory: Uint8Array;
  readonly globals: ReadonlyMap<string, unknown>;
}

const images = new WeakMap<WebAssembly.Module, StartImage | null>();

/**
 * The trial's refill function: returns what `h.f` returns, and traps when that is 0. A trap,
 * unlike an exception thrown from JavaScript, cannot be caught by the guest (`catch_all`), so a
 * start function past its fuel cannot go on. It takes the guest's instance id, as every refill
 * function does (refill-trampoline.ts), and ignores it.
 *
 * `(module (import "h" "f" (func (result i32))) (func (export "f") (param i32) (result i32)
 *   (local i32) call 0 local.tee 1 i32.eqz if unreachable end local.get 1))`
 */
const TRIAL_REFILL_BYTES = Uint8Array.from([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // magic, version 1
  ...[0x01, 0x0a, 0x02, 0x60, 0x00, 0x01, 0x7f, 0x60, 0x01, 0x7f, 0x01, 0x7f], // types: () -> i32, (i32) -> i32
  ...[0x02, 0x07, 0x01, 0x01, 0x68, 0x01, 0x66, 0x00, 0x00], // import section: h.f, type 0
  ...[0x03, 0x02, 0x01, 0x01], // function section: one function of type 1
  ...[0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x01], // export section: f = function 1
  ...[0x0a, 0x11, 0x01, 0x0f, 0x01, 0x01, 0x7f], // code section: one body, one i32 local
  ...[0x10, 0x00, 0x22, 0x01, 0x45, 0x04, 0x40, 0x00, 0x0b, 0x20, 0x01, 0x0b],
]);

let trialRefillModule: WebAssembly.Module | undefined;

/** Thrown by every import during the trial; made once (a stack trace per throw would slow a guest that catches it in a loop). */
const IMPORT_CALLED = new Error("the start function called an import");

/**
 * The module's {@link StartImage}, found by running its start function once in a trial instance
 * whose imports all throw. Undefined when the module has no start function, imports anything but
 * functions, cannot be reset exactly (no reset exports), or its start function calls an import,
 * traps, grows the memory, changes a table or needs more than {@link START_IMAGE_FUEL_UNITS_MAX}:
 * then its start function runs in every life, as before. Cached per compiled module.
 */
export function startImageOf(module: GuestModule): StartImage | undefined {
  if (!module.hasStart) return undefined;
  let image = images.get(module.module);
  if (image === undefined) {
    image = tryStart(module.module) ?? null;
    images.set(module.module, image);
  }
  return image ?? undefined;
}

function tryStart(module: WebAssembly.Module): StartImage | undefined {
  // A flag, not the exception alone, says an import was called: the guest may catch it. Then
  // its fuel is gone, so that it traps at its next fuel check.
  let importCalled = false;
  let fuelLeft = START_IMAGE_FUEL_UNITS_MAX;
  const importStub = (): never => {
    importCalled = true;
    fuelLeft = 0;
    throw IMPORT_CALLED;
  };
  const imports: Record<string, Record<string, () => never>> = {};
  for (const entry of WebAssembly.Module.imports(module)) {
    if (entry.kind !== "function") return undefined;
    imports[entry.module] ??= {};
    imports[entry.module]![entry.name] = importStub;
  }
  let instance: WebAssembly.Instance;
  try {
    instance = new WebAssembly.Instance(module, imports);
  } catch {
    return undefined;
  }
  const exports = instance.exports;
  if (exports[POOLABLE_MARKER_EXPORT] === undefined) return undefined;
  trialRefillModule ??= new WebAssembly.Module(TRIAL_REFILL_BYTES);
  const refill = new WebAssembly.Instance(trialRefillModule, {
    h: {
      f: () => {
        const units = Math.min(fuelLeft, TRIAL_REFILL_UNITS);
        fuelLeft -= units;
        return units;
      },
    },
  });
  (exports[FUEL_TABLE_EXPORT] as WebAssembly.Table).set(0, refill.exports.f);
  const memory = exports[MEMORY_EXPORT] as WebAssembly.Memory;
  const bytesBefore = memory.buffer.byteLength;
  const tables: [WebAssembly.Table, unknown[]][] = [];
  for (const [name, value] of Object.entries(exports)) {
    if (!name.startsWith(RESET_TABLE_EXPORT_PREFIX)) continue;
    const table = value as WebAssembly.Table;
    const entries: unknown[] = [];
    for (let i = 0; i < table.length; i++) entries.push(table.get(i));
    tables.push([table, entries]);
  }
  try {
    (exports[START_EXPORT] as () => void)();
  } catch {
    return undefined; // an import called, a trap, or too long: the start function runs in every life
  }
  if (importCalled) return undefined;
  if (memory.buffer.byteLength !== bytesBefore) return undefined;
  for (const [table, entries] of tables) {
    if (table.length !== entries.length || entries.some((entry, i) => table.get(i) !== entry))
      return undefined;
  }
  const globals = new Map<string, unknown>();
  for (const [name, value] of Object.entries(exports)) {
    if (!name.startsWith(RESET_GLOBAL_EXPORT_PREFIX)) continue;
    try {
      globals.set(name, (value as WebAssembly.Global).value);
    } catch {
      return undefined; // a v128 global: JavaScript cannot read it
    }
  }
  return { memory: new Uint8Array(memory.buffer).slice(), globals };
}
