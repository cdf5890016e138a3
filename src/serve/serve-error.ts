import { NumaxError } from "../errors/numax-error.ts";

/** Why a serving configuration (routes, listeners, default routes) is refused. */
export type ServeErrorCode =
  | "SERVE_INVALID_ROUTE"
  | "SERVE_DUPLICATE_ROUTE"
  | "SERVE_UNKNOWN_MODULE"
  | "SERVE_UNKNOWN_HANDLER"
  | "SERVE_NOT_GRANTED"
  | "SERVE_NO_ROUTES"
  | "SERVE_LISTEN_FAILED"
  | "SERVE_INVALID_CONFIG";

/** A serving configuration the node refuses at start, in one line naming what to fix. */
export class ServeError extends NumaxError {
  declare readonly code: ServeErrorCode;

  constructor(code: ServeErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
