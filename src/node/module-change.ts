import type { GuestModule } from "../wasm/load-guest-module.ts";

/** A change of the node's modules, checked by the parts that use them before it is made. */
export type ModuleChange =
  | { readonly kind: "add"; readonly module: GuestModule }
  | { readonly kind: "reload"; readonly previous: GuestModule; readonly next: GuestModule }
  | { readonly kind: "remove"; readonly module: GuestModule };

/**
 * A part of the node that uses the modules' code (serving: routes and handlers). `prepare`
 * checks a change and throws a NumaxError (one line) to refuse it; otherwise it returns how to
 * apply it, which the host calls, with every other part's, only once all of them accepted.
 */
export interface ModuleChangeHandler {
  prepare(change: ModuleChange): Promise<() => void>;
}
