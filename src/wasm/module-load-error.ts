import { NumaxError } from "../errors/numax-error.ts";

/** Why a module could not be loaded; stable for tests and scripts. */
export type ModuleLoadFailure =
  | "not_found"
  | "unreadable"
  | "not_wasm"
  | "invalid"
  | "no_run_export"
  | "bad_run_type"
  | "bad_callback"
  | "no_memory_export"
  | "unknown_import"
  | "bad_import_type"
  | "memory_above_cap"
  | "unsupported";

/**
 * A module was refused before any guest code ran: the one line says which file and what is
 * wrong with it, and, where there is one, what to do.
 *
 * @example
 * throw new ModuleLoadError("no_run_export", "app.wasm", 'does not export a function named "run"');
 * // message: module app.wasm does not export a function named "run"
 */
export class ModuleLoadError extends NumaxError {
  readonly failure: ModuleLoadFailure;
  readonly modulePath: string;

  constructor(failure: ModuleLoadFailure, modulePath: string, detail: string, options?: { cause?: unknown }) {
    super(`MODULE_${failure.toUpperCase()}`, `module ${modulePath} ${detail}`, options);
    this.failure = failure;
    this.modulePath = modulePath;
  }
}
