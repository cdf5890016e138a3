import { EXPORT_FUNCTION, EXPORT_MEMORY, functionTypeOf, readModuleLayout } from "./binary/module-layout.ts";
import {
  CALLBACK_EXPORTS,
  callbackSignature,
  isCallbackExport,
  MEMORY_EXPORT,
  ROUTES_EXPORT,
  RUN_EXPORT,
} from "./guest-exports.ts";
import { instrumentModule } from "./instrument-module.ts";
import { ModuleLoadError } from "./module-load-error.ts";

/**
 * Validates original module bytes as a Numax guest and instruments them (the module-cache miss
 * path): one {@link ModuleLoadError} line for an invalid module, a missing or mistyped `run` (a
 * reactive module, one exporting a callback, may omit `run`), a mistyped callback, a missing
 * `memory` export, or memory above the cap.
 */
export function validateAndInstrument(
  bytes: Uint8Array,
  moduleLabel: string,
  memoryMaxBytes: number,
): { bytes: Uint8Array; fuelChecks: number } {
  if (!WebAssembly.validate(bytes)) {
    let detail = "fails WebAssembly validation";
    try {
      new WebAssembly.Module(bytes);
    } catch (error) {
      detail = (error as Error).message.replace(/^WebAssembly\.Module\(\): /, "");
    }
    throw new ModuleLoadError("invalid", moduleLabel, `is not a valid WebAssembly module: ${detail}`);
  }
  const layout = readModuleLayout(bytes);
  const run = layout.exports.find((entry) => entry.name === RUN_EXPORT);
  const callbacks = layout.exports.filter(
    (entry) => entry.kind === EXPORT_FUNCTION && isCallbackExport(entry.name),
  );
  const serves = layout.exports.some(
    (entry) => entry.name === ROUTES_EXPORT && entry.kind === EXPORT_FUNCTION,
  );
  if ((run === undefined || run.kind !== EXPORT_FUNCTION) && callbacks.length === 0 && !serves) {
    throw new ModuleLoadError(
      "no_run_export",
      moduleLabel,
      `does not export a function named "run" (a Numax guest exports run: () -> (), its entry point, ` +
        "the callbacks of a reactive module such as init and on_tick: see docs/reactive-modules.md, " +
        "or routes, the default routes of a module that only serves: see docs/serving.md)",
    );
  }
  if (run !== undefined && run.kind === EXPORT_FUNCTION) {
    const runType = functionTypeOf(layout, run.index);
    if (runType === undefined || runType.paramCount !== 0 || runType.resultCount !== 0) {
      throw new ModuleLoadError(
        "bad_run_type",
        moduleLabel,
        `exports run with ${runType?.paramCount ?? "?"} parameters and ${runType?.resultCount ?? "?"} results; ` +
          "it must take none and return none",
      );
    }
  }
  for (const callback of callbacks) {
    const name = callback.name;
    if (!isCallbackExport(name)) continue;
    const type = functionTypeOf(layout, callback.index);
    const expected = callbackSignature(name);
    if (
      type === undefined ||
      type.paramCount !== CALLBACK_EXPORTS[name] ||
      type.resultCount !== 0 ||
      !type.paramsAllI32
    ) {
      throw new ModuleLoadError(
        "bad_callback",
        moduleLabel,
        `exports the callback ${name} with another signature than ${expected} (docs/design/event-model.md lists the callbacks)`,
      );
    }
  }
  if (!layout.exports.some((entry) => entry.name === MEMORY_EXPORT && entry.kind === EXPORT_MEMORY)) {
    throw new ModuleLoadError(
      "no_memory_export",
      moduleLabel,
      `does not export its memory as "memory" (host functions read and write guest memory through it)`,
    );
  }
  const instrumented = instrumentModule(bytes, { moduleLabel, memoryMaxBytes });
  return { bytes: instrumented.bytes, fuelChecks: instrumented.fuelChecks };
}
