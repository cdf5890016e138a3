// How the SDK reports a failed host call.
//
// AssemblyScript has no exceptions a guest can catch, so errors are values:
// - "absent" is an ordinary answer, never an error: `db.get` returns null, `db.exists` false;
// - every other failure (reserved key, limit exceeded, sync disabled, host error) follows the
//   error policy. The default, `OnError.Abort`, ends the guest through `nx.abort` with one line
//   naming the call, its argument and the code, so a guest never continues on a failed write.
//   `onError(OnError.Return)` makes the failing call return its neutral value (null, false, 0,
//   an empty array) instead; `lastError()` then says what happened.
// `lastError()` always describes the most recent SDK call: `ErrorCode.Ok` after a success.

import { abort as hostAbort } from "./abi";

/** The host's return codes (HOST-ABI.md). */
export enum ErrorCode {
  Ok = 0,
  /** key, value or resource absent */
  NotFound = -1,
  /** output buffer too small: the SDK retries with a larger one, so guests do not see it */
  BufferTooSmall = -2,
  /** runtime error, invalid pointer or length, or a limit exceeded */
  Internal = -3,
  /** key or prefix in the runtime's namespace (`__nx/`) */
  ReservedKey = -4,
  /** a sync-only function on a node started without sync */
  SyncDisabled = -5,
  /** http_fetch: the URL's host is not in the module's http_fetch_hosts */
  FetchDenied = -6,
  /** http_fetch: connection failed or a time limit passed */
  FetchFailed = -7,
  /** http_fetch: the response body is over the 8 MiB limit */
  FetchTooLarge = -8,
  /** a rate quota (ops_per_sec, bytes_written_per_sec) would make the call wait too long: it did nothing; retry later */
  RateLimited = -9,
  /** crdt_* writes: the op would not fit one sync message (max_message_size); nothing was written */
  OpTooLarge = -10,
}

/** What a failing SDK call does. */
export enum OnError {
  /** End the guest with a message naming the call and the error (default). */
  Abort = 0,
  /** Return the call's neutral value; read `lastError()`. */
  Return = 1,
}

let policy: OnError = OnError.Abort;
let last: ErrorCode = ErrorCode.Ok;

/** Chooses what failing SDK calls do from now on. */
export function onError(newPolicy: OnError): void {
  policy = newPolicy;
}

/** The outcome of the most recent SDK call. */
export function lastError(): ErrorCode {
  return last;
}

/** The ABI name of a return code, e.g. `ERR_RESERVED_KEY`. */
export function errorName(code: i32): string {
  switch (code) {
    case ErrorCode.Ok:
      return "OK";
    case ErrorCode.NotFound:
      return "ERR_NOT_FOUND";
    case ErrorCode.BufferTooSmall:
      return "ERR_BUFFER_TOO_SMALL";
    case ErrorCode.Internal:
      return "ERR_INTERNAL";
    case ErrorCode.ReservedKey:
      return "ERR_RESERVED_KEY";
    case ErrorCode.SyncDisabled:
      return "ERR_SYNC_DISABLED";
    case ErrorCode.FetchDenied:
      return "ERR_FETCH_DENIED";
    case ErrorCode.FetchFailed:
      return "ERR_FETCH_FAILED";
    case ErrorCode.FetchTooLarge:
      return "ERR_FETCH_TOO_LARGE";
    case ErrorCode.RateLimited:
      return "ERR_RATE_LIMITED";
    case ErrorCode.OpTooLarge:
      return "ERR_OP_TOO_LARGE";
    default:
      return "ERR_UNKNOWN";
  }
}

function meaning(code: i32): string {
  switch (code) {
    case ErrorCode.NotFound:
      return "not found";
    case ErrorCode.BufferTooSmall:
      return "output larger than the 10 MiB output limit";
    case ErrorCode.Internal:
      return "runtime error, limit exceeded (key 1..1024 bytes, value 1 MiB) or capability missing";
    case ErrorCode.ReservedKey:
      return "keys under __nx/ belong to the runtime";
    case ErrorCode.SyncDisabled:
      return "this node runs without sync; start it with --listen";
    case ErrorCode.FetchDenied:
      return "host not allowed; list it in [modules.<id>] http_fetch_hosts of numax.toml";
    case ErrorCode.FetchFailed:
      return "the request failed or timed out (10 s to the headers, 30 s in all)";
    case ErrorCode.FetchTooLarge:
      return "the response body is over the 8 MiB limit";
    case ErrorCode.RateLimited:
      return "over the module's rate quota (ops_per_sec, bytes_written_per_sec); retry later";
    case ErrorCode.OpTooLarge:
      return "the write would not fit one sync message; write less or raise max_message_size";
    default:
      return "unexpected return code";
  }
}

/** How an argument appears in an error message: text quoted, bytes by length, nothing else. */
function describe<T>(value: T): string {
  if (isString<T>()) {
    const text = changetype<string>(value);
    return text.length > 64 ? `"${text.substring(0, 61)}..."` : `"${text}"`;
  }
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`;
  if (value instanceof ArrayBuffer) return `<${value.byteLength} bytes>`;
  return "";
}

/**
 * Records the outcome of a host call and tells whether it succeeded (`code >= 0`). `subject` is
 * the call's main argument, described only when the call fails (pass 0 for none).
 * NotFound never aborts: it is how "absent" is answered. Other failures abort under the
 * Abort policy with "nx: <call>(<argument>): <NAME> (<code>): <meaning>".
 */
export function succeeded<T>(code: i32, call: string, subject: T): bool {
  if (code >= 0) {
    last = ErrorCode.Ok;
    return true;
  }
  if (code == ErrorCode.NotFound) {
    last = code;
    return false;
  }
  return failed(code, call, subject, meaning(code));
}

/**
 * Records the failed host call `code` and applies the policy with `why` as the meaning: for
 * calls whose codes mean something narrower than the ABI-wide text (or where -1 is a mistake,
 * not an answer). Returns false.
 */
export function failed<T>(code: i32, call: string, subject: T, why: string): bool {
  last = code;
  if (policy == OnError.Abort) {
    abortWith(`nx: ${call}(${describe(subject)}): ${errorName(code)} (${code}): ${why}`);
  }
  return false;
}

/** Records `code` as the last outcome without applying the policy: for codes that are answers. */
export function recordAnswer(code: i32): void {
  last = code;
}

/** Ends the guest with `message` (a trap the host reports with that text). */
export function abortWith(message: string): void {
  const bytes = String.UTF8.encode(message);
  hostAbort(changetype<usize>(bytes), bytes.byteLength);
  unreachable();
}
