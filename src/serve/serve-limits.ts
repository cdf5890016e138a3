/**
 * The bounds of one `[[serve]]` listener (docs/LIMITS.md, "Serving"). Each default is a
 * `[[serve]]` key's default; `--serve ADDR` uses them all.
 */
export interface ServeLimits {
  /** Largest request body; a larger one gets 413 before the handler runs. */
  readonly maxBodyBytes: number;
  /** Largest request head (request line and headers); a larger one gets 431. */
  readonly maxHeaderBytes: number;
  /** Longest time to receive a whole request (408), and to run its handler (503). */
  readonly requestTimeoutMs: number;
  /** Longest time a kept-alive connection may sit idle between requests before it is closed. */
  readonly idleTimeoutMs: number;
  /** Open connections; a request on a connection past the cap gets 503 and the connection closes. */
  readonly maxConnections: number;
  /** Requests being handled at once; past the cap a request gets 503 with `Retry-After`, never a queue. */
  readonly maxConcurrentRequests: number;
  /**
   * Open server-sent event streams (each one a process for its life); past the cap `sse_start`
   * answers -3 and the client gets 503 with `Retry-After`. A stream does not count as a request.
   */
  readonly maxSseStreams: number;
  /**
   * Open WebSocket connections (each one a process for its life); an upgrade past the cap gets
   * 503 with `Retry-After`. A connection does not count as a request.
   */
  readonly maxWebSockets: number;
}

export const SERVE_MAX_BODY_BYTES_DEFAULT = 1024 * 1024;
export const SERVE_MAX_HEADER_BYTES_DEFAULT = 16 * 1024;
export const SERVE_REQUEST_TIMEOUT_MS_DEFAULT = 30_000;
export const SERVE_IDLE_TIMEOUT_MS_DEFAULT = 5_000;
export const SERVE_MAX_CONNECTIONS_DEFAULT = 1024;
export const SERVE_MAX_CONCURRENT_REQUESTS_DEFAULT = 256;
export const SERVE_MAX_SSE_STREAMS_DEFAULT = 512;
export const SERVE_MAX_WEBSOCKETS_DEFAULT = 512;
/** CPU budget of one request's handler when `limits.cpu_ms_per_run` is unset (a request always has one). */
export const SERVE_CPU_MS_PER_REQUEST_DEFAULT = 1_000;
/** `Retry-After` of a 503, in seconds. */
export const SERVE_RETRY_AFTER_SECONDS = 1;

export const SERVE_LIMITS_DEFAULT: ServeLimits = {
  maxBodyBytes: SERVE_MAX_BODY_BYTES_DEFAULT,
  maxHeaderBytes: SERVE_MAX_HEADER_BYTES_DEFAULT,
  requestTimeoutMs: SERVE_REQUEST_TIMEOUT_MS_DEFAULT,
  idleTimeoutMs: SERVE_IDLE_TIMEOUT_MS_DEFAULT,
  maxConnections: SERVE_MAX_CONNECTIONS_DEFAULT,
  maxConcurrentRequests: SERVE_MAX_CONCURRENT_REQUESTS_DEFAULT,
  maxSseStreams: SERVE_MAX_SSE_STREAMS_DEFAULT,
  maxWebSockets: SERVE_MAX_WEBSOCKETS_DEFAULT,
};
