import { NumaxError } from "../errors/numax-error.ts";

/**
 * The codes of the management API's error answers, with their HTTP status. Every non-2xx answer
 * is `{"error":{"code","message"}}` (docs/management-api.md); clients match on `code`.
 */
export const MANAGEMENT_ERROR_STATUS = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN_READ_ONLY: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  MODULE_INVALID: 422,
  INTERNAL: 500,
  UNAVAILABLE: 503,
} as const;

export type ManagementErrorCode = keyof typeof MANAGEMENT_ERROR_STATUS;

/** An error answer of the management API: its `code` decides the status. */
export class ManagementApiError extends NumaxError {
  declare readonly code: ManagementErrorCode;
  readonly status: number;
  /** Headers the answer carries (`Allow`, `WWW-Authenticate`). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: ManagementErrorCode,
    message: string,
    options: { headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(code, message, { cause: options.cause });
    this.status = MANAGEMENT_ERROR_STATUS[code];
    this.headers = options.headers ?? {};
  }
}

/** The body of an error answer. */
export function errorBody(
  code: ManagementErrorCode,
  message: string,
): { error: { code: string; message: string } } {
  return { error: { code, message } };
}
