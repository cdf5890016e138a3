// HTTP handlers (docs/serving.md): a handler is an exported function `() -> ()` named by a route;
// each request runs it in a fresh instance. It reads the request with the readers below and
// builds the response with status / setHeader / write; the response is sent when it returns
// (status 200 and no body unless it says otherwise). A module declares its default routes (what
// `nx run --serve ADDR` serves) in an exported `routes` function:
//
//   import { http } from "../../../sdk/assemblyscript/assembly";
//
//   export function routes(): void {
//     http.route("GET", "/hello/:name", "hello");
//   }
//
//   export function hello(): void {
//     http.setHeader("content-type", "text/plain");
//     http.write(`hello ${http.param("name")!}`);
//   }
//
// A handler may answer with server-sent events instead: `sseStart()` sends the head
// (text/event-stream) once the writes before it are on disk, then every `sseSend` writes one event
// (each, too, once the writes before it are on disk) while the handler runs, and
// `sseForward("chat/*")` makes the node write every module message on matching topics to the
// stream. The stream ends when the handler returns; when the client goes away the handler's
// process is stopped. Wait between events with `proc.receive(ms)`: waiting is not CPU time.
//
//   export function events(): void {
//     if (!http.sseStart()) return;            // past the listener's stream cap: the client gets 503
//     for (let n = 0; ; n++) {
//       http.sseSend(`tick ${n}`);
//       proc.receive(100);
//     }
//   }
//
// A WebSocket route (`http.route("WS", "/ws/echo", "echo")`) takes the upgrades (`Upgrade:
// websocket`) of its path, and only them: the handler's process lives as long as
// the connection. Every frame the client sends arrives as a process message (`proc.receive`)
// from pid 0 whose payload is one byte, WS_TEXT (0) or WS_BINARY (1), then the frame; the handler
// sends with `wsSend`. The process is stopped when the client closes; a trap closes the
// connection with 1011; returning closes it with 1000.
//
//   export function echo(): void {
//     while (true) {
//       const m = proc.receive(-1)!;
//       http.wsSend(m.payload.subarray(1), m.payload[0] == http.WS_BINARY);
//     }
//   }
//
// Readers grow their buffer and retry on ERR_BUFFER_TOO_SMALL (-2) by themselves.

import { req_body, req_header, req_method, req_param, req_path, req_query, resp_header, resp_status, resp_write, route_add, sse_forward, sse_send, sse_start, ws_forward, ws_send } from "./abi";
import { fieldArg, keyArg, valueArg } from "./arg-span";
import { ErrorCode, failed, succeeded } from "./error";
import { outputBytes, outputText, readOutput } from "./output-buffer";

/**
 * Declares a default route `METHOD path` to the exported `handler`; call it from `routes()` only.
 * `method` is an HTTP method (`GET`, `POST`...) or `WS` for a WebSocket route.
 */
export function route(method: string, path: string, handler: string): bool {
  keyArg.of(method);
  fieldArg.of(path);
  valueArg.of(handler);
  const n = route_add(keyArg.ptr, keyArg.len, fieldArg.ptr, fieldArg.len, valueArg.ptr, valueArg.len);
  if (n == ErrorCode.NotFound) return failed(n, "http.route", path, "route_add works only while routes() runs");
  if (n == ErrorCode.Internal) {
    return failed(n, "http.route", path, "invalid route: METHOD /path/:param/* and an exported handler name");
  }
  return succeeded(n, "http.route", path);
}

function text(n: i32, call: string): string {
  if (n < 0) {
    failed(n, call, "", "outside a request handler");
    return "";
  }
  return outputText(n);
}

/** The request method (`GET`, `POST`...). */
export function method(): string {
  return text(readOutput((outPtr: usize, outCap: usize): i32 => req_method(outPtr, outCap)), "http.method");
}

/** The request path, percent-decoded, without the query. */
export function path(): string {
  return text(readOutput((outPtr: usize, outCap: usize): i32 => req_path(outPtr, outCap)), "http.path");
}

/** The raw query string without `?` ("" when none). */
export function query(): string {
  return text(readOutput((outPtr: usize, outCap: usize): i32 => req_query(outPtr, outCap)), "http.query");
}

/** A route parameter (`*` names the wildcard's tail), percent-decoded; null when absent. */
export function param(name: string): string | null {
  keyArg.of(name);
  const n = readOutput((outPtr: usize, outCap: usize): i32 => req_param(keyArg.ptr, keyArg.len, outPtr, outCap));
  return n == ErrorCode.NotFound ? null : text(n, "http.param");
}

/** A request header (name case-insensitive, repeated ones joined with ", "); null when absent. */
export function header(name: string): string | null {
  keyArg.of(name);
  const n = readOutput((outPtr: usize, outCap: usize): i32 => req_header(keyArg.ptr, keyArg.len, outPtr, outCap));
  return n == ErrorCode.NotFound ? null : text(n, "http.header");
}

/** The whole request body (bounded by the listener's max_body). */
export function body(): Uint8Array {
  const n = readOutput((outPtr: usize, outCap: usize): i32 => req_body(outPtr, outCap));
  if (n < 0) {
    failed(n, "http.body", "", "outside a request handler");
    return new Uint8Array(0);
  }
  return outputBytes(n);
}

/** The request body decoded as UTF-8. */
export function bodyText(): string {
  return text(readOutput((outPtr: usize, outCap: usize): i32 => req_body(outPtr, outCap)), "http.bodyText");
}

/** Sets the response status (200..599; default 200). */
export function status(code: u32): bool {
  return succeeded(resp_status(code), "http.status", code);
}

/** Adds a response header (no CR, LF or NUL; Content-Length and Transfer-Encoding are the server's). */
export function setHeader(name: string, value: string): bool {
  keyArg.of(name);
  valueArg.of(value);
  return succeeded(resp_header(keyArg.ptr, keyArg.len, valueArg.ptr, valueArg.len), "http.setHeader", name);
}

/** Appends `data` (string as UTF-8, Uint8Array, ArrayBuffer) to the response body. */
export function write<T>(data: T): bool {
  valueArg.of(data);
  return succeeded(resp_write(valueArg.ptr, valueArg.len), "http.write", "body");
}

/**
 * Turns the response into a server-sent event stream (status and headers set so far are sent
 * with it). False (error policy) once started or past the listener's `max_sse_streams`: then
 * return, the client gets 503.
 */
export function sseStart(): bool {
  const n = sse_start();
  if (n == ErrorCode.NotFound) return failed(n, "http.sseStart", "", "outside a request handler");
  if (n == ErrorCode.Internal) return failed(n, "http.sseStart", "", "already started, or too many event streams");
  return succeeded(n, "http.sseStart", "");
}

/**
 * Writes one event: `data` (string as UTF-8, Uint8Array, ArrayBuffer; each line a `data:` line)
 * named `event` ("" for the default `message` event). False once the stream is closed.
 */
export function sseSend<T>(data: T, event: string = ""): bool {
  keyArg.of(event);
  valueArg.of(data);
  const n = sse_send(keyArg.ptr, keyArg.len, valueArg.ptr, valueArg.len);
  if (n == ErrorCode.NotFound) return failed(n, "http.sseSend", event, "call http.sseStart first");
  if (n == ErrorCode.Internal) return failed(n, "http.sseSend", event, "the stream is closed, or the event name has a line break");
  return succeeded(n, "http.sseSend", event);
}

/**
 * Every module message published on a topic `pattern` matches (`chat/room`, `chat/*`, `*`), on
 * this node or by a peer, becomes an event of this stream named by its topic, its payload the
 * data. The subscription ends with the stream. Keep the handler alive while it forwards (e.g.
 * `proc.receive(-1)`).
 */
export function sseForward(pattern: string): bool {
  keyArg.of(pattern);
  const n = sse_forward(keyArg.ptr, keyArg.len);
  if (n == ErrorCode.NotFound) return failed(n, "http.sseForward", pattern, "call http.sseStart first");
  if (n == ErrorCode.Internal) return failed(n, "http.sseForward", pattern, "invalid pattern, or more than 16 per stream");
  return succeeded(n, "http.sseForward", pattern);
}

/** The first byte of a WebSocket frame's message: a text frame (UTF-8). */
export const WS_TEXT: u8 = 0;
/** The first byte of a WebSocket frame's message: a binary frame. */
export const WS_BINARY: u8 = 1;

/**
 * Sends one frame on the request's WebSocket: `data` (string as UTF-8, Uint8Array, ArrayBuffer),
 * binary or text. False once the connection is closed (or the client stopped reading).
 */
export function wsSend<T>(data: T, binary: bool = false): bool {
  valueArg.of(data);
  const n = ws_send(valueArg.ptr, valueArg.len, binary ? 1 : 0);
  if (n == ErrorCode.NotFound) return failed(n, "http.wsSend", "", "not a WebSocket handler");
  if (n == ErrorCode.Internal) return failed(n, "http.wsSend", "", "the connection is closed");
  return succeeded(n, "http.wsSend", "");
}

/**
 * Every module message published on a topic `pattern` matches is sent on this WebSocket as a text
 * frame `{"topic":"<topic>","data":"<payload as UTF-8>"}`. The subscription ends with the connection.
 */
export function wsForward(pattern: string): bool {
  keyArg.of(pattern);
  const n = ws_forward(keyArg.ptr, keyArg.len);
  if (n == ErrorCode.NotFound) return failed(n, "http.wsForward", pattern, "not a WebSocket handler");
  if (n == ErrorCode.Internal) return failed(n, "http.wsForward", pattern, "invalid pattern, or more than 16 per connection");
  return succeeded(n, "http.wsForward", pattern);
}
