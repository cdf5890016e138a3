import type { IncomingHttpHeaders } from "node:http";
import { parseTopicPattern } from "../events/topic.ts";
import { ERR_INTERNAL, ERR_NOT_FOUND, OK } from "../wasm/abi/abi-codes.ts";
import type { RequestPort } from "../wasm/abi/http-port.ts";
import { isSseEventName } from "./sse-event.ts";
import type { SseStream } from "./sse-stream.ts";
import type { WsConnection } from "./ws-connection.ts";

/** Most response body one request may build with `resp_write`; past it the call answers -3. */
export const RESPONSE_BODY_MAX_BYTES = 16 * 1024 * 1024;

/**
 * A header name token (RFC 9110) and a value of tab, visible ASCII, space and bytes 0x80-0xFF,
 * which is what node:http accepts: a value it refuses (any other control byte) would throw when
 * the response is written, at the end of the turn (turn-writes.ts), out of reach of the request.
 */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_VALUE_FORBIDDEN = /[^\t\x20-\x7e\x80-\xff]/;
/** Headers the server owns: a handler setting them would break the framing of the response. */
const SERVER_HEADERS = new Set(["content-length", "transfer-encoding", "connection"]);

const utf8 = new TextEncoder();

/** What a handler built: sent as is once it returned. */
export interface GuestResponse {
  readonly status: number;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: readonly Uint8Array[];
}

/** Opens the event stream of a request (its head is the response built so far); undefined: refused (the listener's stream cap). */
export type OpenSseStream = (head: {
  status: number;
  headers: readonly (readonly [string, string])[];
}) => SseStream | undefined;

/** The request one handler process reads, from what node:http parsed. */
export interface GuestRequestInput {
  readonly method: string;
  /** The request target's path, raw (percent escapes kept). */
  readonly rawPath: string;
  /** Raw, without `?`. */
  readonly query: string;
  readonly headers: IncomingHttpHeaders;
  readonly params: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
  /** How `sse_start` opens the stream; absent: `sse_start` answers -3. */
  readonly openStream?: OpenSseStream;
  /** The WebSocket the request was upgraded to: the response calls answer -3, `ws_*` reach it. */
  readonly websocket?: WsConnection;
}

/**
 * The {@link RequestPort} of one handler process: the request's parts are encoded when the guest
 * asks for them, the response is collected until the handler returns (then sent whole: see
 * serve-listener.ts), or, once the handler called `sse_start`, written as events while it runs
 * (serve/sse-stream.ts). Once `close`d (the handler ended) every response call answers -3.
 */
export class GuestRequest implements RequestPort {
  readonly #input: GuestRequestInput;
  #status = 200;
  readonly #headers: [string, string][] = [];
  readonly #body: Uint8Array[] = [];
  #bodyBytes = 0;
  #closed = false;
  #stream: SseStream | undefined;
  #streamRefused = false;

  constructor(input: GuestRequestInput) {
    this.#input = input;
  }

  get method(): Uint8Array {
    return utf8.encode(this.#input.method);
  }

  get path(): Uint8Array {
    return utf8.encode(decodePath(this.#input.rawPath));
  }

  get query(): Uint8Array {
    return utf8.encode(this.#input.query);
  }

  get body(): Uint8Array {
    return this.#input.body;
  }

  param(name: string): Uint8Array | undefined {
    const value = Object.hasOwn(this.#input.params, name) ? this.#input.params[name] : undefined;
    return value === undefined ? undefined : utf8.encode(value);
  }

  header(name: string): Uint8Array | undefined {
    const key = name.toLowerCase();
    const value = Object.hasOwn(this.#input.headers, key) ? this.#input.headers[key] : undefined;
    if (value === undefined) return undefined;
    return utf8.encode(Array.isArray(value) ? value.join(", ") : value);
  }

  setStatus(status: number): number {
    if (this.#responded || status < 200 || status > 599) return ERR_INTERNAL;
    this.#status = status;
    return OK;
  }

  setHeader(name: string, value: string): number {
    if (this.#responded || !HEADER_NAME.test(name) || HEADER_VALUE_FORBIDDEN.test(value)) return ERR_INTERNAL;
    if (SERVER_HEADERS.has(name.toLowerCase())) return ERR_INTERNAL;
    this.#headers.push([name, value]);
    return OK;
  }

  write(bytes: Uint8Array): number {
    if (this.#responded || this.#bodyBytes + bytes.length > RESPONSE_BODY_MAX_BYTES) return ERR_INTERNAL;
    this.#body.push(bytes);
    this.#bodyBytes += bytes.length;
    return OK;
  }

  sseStart(): number {
    if (this.#responded || this.#streamRefused) return ERR_INTERNAL;
    this.#stream = this.#input.openStream?.({ status: this.#status, headers: this.#headers });
    if (this.#stream !== undefined) return OK;
    this.#streamRefused = true;
    return ERR_INTERNAL;
  }

  sseSend(name: string, data: string): number {
    if (this.#stream === undefined) return ERR_NOT_FOUND;
    if (this.#closed || !isSseEventName(name)) return ERR_INTERNAL;
    return this.#stream.send(name, data);
  }

  sseForward(text: string): number {
    if (this.#stream === undefined) return ERR_NOT_FOUND;
    const pattern = parseTopicPattern(text);
    if (this.#closed || pattern === undefined) return ERR_INTERNAL;
    return this.#stream.forward(pattern);
  }

  wsSend(bytes: Uint8Array, binary: boolean): number {
    const socket = this.#input.websocket;
    if (socket === undefined) return ERR_NOT_FOUND;
    return socket.send(bytes, binary);
  }

  wsForward(text: string): number {
    const socket = this.#input.websocket;
    if (socket === undefined) return ERR_NOT_FOUND;
    const pattern = parseTopicPattern(text);
    if (pattern === undefined) return ERR_INTERNAL;
    return socket.forward(pattern);
  }

  /** The event stream the handler started, if it did. */
  get stream(): SseStream | undefined {
    return this.#stream;
  }

  /** The handler asked for a stream past the listener's cap. */
  get streamRefused(): boolean {
    return this.#streamRefused;
  }

  /** The handler can no longer build a response: it ended, streams events or holds a WebSocket. */
  get #responded(): boolean {
    return this.#closed || this.#stream !== undefined || this.#input.websocket !== undefined;
  }

  /** Ends the handler's part: what it built, frozen. */
  close(): GuestResponse {
    this.#closed = true;
    return { status: this.#status, headers: this.#headers, body: this.#body };
  }
}

/** Percent-decoded; a malformed escape is kept as written rather than refusing the request. */
function decodePath(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
