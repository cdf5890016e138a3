import { NumaxError } from "../errors/numax-error.ts";

/**
 * Why the module host refuses to add, reload or remove a module (a module whose code fails to
 * load or validate is refused with the loader's own error instead: a ModuleLoadError, or a
 * ServeError for its routes).
 * - `MODULE_NOT_FOUND`: no module with that id runs on the node.
 * - `MODULE_EXISTS`: `add` of an id a module already has.
 * - `MODULE_INVALID_ID`: `add` of an id that cannot name a module.
 * - `MODULE_NO_FILE`: a reload without bytes of a module added as bytes (it has no file).
 * - `MODULE_KIND_CHANGED`: a reload whose code is reactive where the running code is one-shot,
 *   or the reverse.
 * - `MODULE_HOST_STOPPED`: the node is shutting down, or its modules cannot change (a node
 *   started without a loader, such as a one-shot `nx run`).
 */
export type ModuleHostErrorCode =
  | "MODULE_NOT_FOUND"
  | "MODULE_EXISTS"
  | "MODULE_INVALID_ID"
  | "MODULE_NO_FILE"
  | "MODULE_KIND_CHANGED"
  | "MODULE_HOST_STOPPED";

/** A change of a running node's modules that the module host refuses, in one line. */
export class ModuleHostError extends NumaxError {
  declare readonly code: ModuleHostErrorCode;

  constructor(code: ModuleHostErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
