import { type CallbackExport, isCallbackExport, RUN_EXPORT } from "./guest-exports.ts";
import type { GuestModule } from "./load-guest-module.ts";

const exportedNames = new WeakMap<WebAssembly.Module, ReadonlySet<string>>();

function functionExports(module: GuestModule): ReadonlySet<string> {
  let names = exportedNames.get(module.module);
  if (names === undefined) {
    names = new Set(
      WebAssembly.Module.exports(module.module)
        .filter((entry) => entry.kind === "function")
        .map((entry) => entry.name),
    );
    exportedNames.set(module.module, names);
  }
  return names;
}

/** The reactive callbacks `module` exports (docs/design/event-model.md); empty for a one-shot module. */
export function moduleCallbacks(module: GuestModule): ReadonlySet<CallbackExport> {
  return new Set([...functionExports(module)].filter(isCallbackExport));
}

/** Whether `module` exports `run` (a reactive module may not). */
export function exportsRun(module: GuestModule): boolean {
  return functionExports(module).has(RUN_EXPORT);
}

/**
 * Whether `module` has something to run as a module: `run` or reactive callbacks. One that has
 * neither only serves (it exports `routes` and handlers): it runs only per request.
 */
export function runsAsModule(module: GuestModule): boolean {
  return exportsRun(module) || moduleCallbacks(module).size > 0;
}
