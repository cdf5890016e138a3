/**
 * What the request host calls of one process reach (docs/host-api.md, "HTTP requests"): the
 * request a handler process serves and the response it builds, or, while a module's `routes`
 * export runs, where its default routes go. The serving layer (src/serve/) implements them; the
 * ABI layer only calls them. A process holds at most one; outside both every call answers -1.
 */
export interface HttpPort {
  readonly request?: RequestPort;
  readonly routes?: RouteSink;
}

/** The request of a handler process, and its response being built. */
export interface RequestPort {
  readonly method: Uint8Array;
  /** Percent-decoded, without the query. */
  readonly path: Uint8Array;
  /** Raw, without `?`; empty when none. */
  readonly query: Uint8Array;
  /** The whole body (already bounded by the listener's `max_body`). */
  readonly body: Uint8Array;
  /** A route parameter (`*` names the wildcard's tail), percent-decoded; undefined: absent. */
  param(name: string): Uint8Array | undefined;
  /** A header by case-insensitive name, repeated ones joined with `, `; undefined: absent. */
  header(name: string): Uint8Array | undefined;
  /** `resp_status`: 0, or -3 outside 200..599 (a 1xx is not a final status) or once the response started. */
  setStatus(status: number): number;
  /** `resp_header`: 0, or -3 for an invalid name or value or once the response started. */
  setHeader(name: string, value: string): number;
  /** `resp_write`: 0, or -3 past the response body limit; `bytes` is a copy it may keep. */
  write(bytes: Uint8Array): number;
  /**
   * `sse_start`: the response becomes a server-sent event stream, its head sent now. 0, or -3
   * once started, after the handler, or past the listener's stream cap (the client gets 503).
   */
  sseStart(): number;
  /** `sse_send`: one event (`name` "" for the default one). 0; -1 before `sse_start`; -3 invalid name or the stream closed. */
  sseSend(name: string, data: string): number;
  /** `sse_forward`: messages on topics `pattern` matches become events. 0; -1 before `sse_start`; -3 invalid pattern or too many. */
  sseForward(pattern: string): number;
  /** `ws_send`: one frame on the request's WebSocket. 0; -1 not a WebSocket handler; -3 the connection closed. */
  wsSend(bytes: Uint8Array, binary: boolean): number;
  /** `ws_forward`: messages on topics `pattern` matches become text frames. 0; -1 not a WebSocket handler; -3 invalid pattern or too many. */
  wsForward(pattern: string): number;
}

/** Where `route_add` puts a module's default routes while its `routes` export runs. */
export interface RouteSink {
  /** 0, or -3 for an invalid method, path or handler name (the sink logs why). */
  add(method: string, path: string, handler: string): number;
}
