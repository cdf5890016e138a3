import type { ServerResponse } from "node:http";
import type { TopicPattern } from "../events/topic.ts";
import { ERR_INTERNAL, OK } from "../wasm/abi/abi-codes.ts";
import type { ReleaseOutput } from "./release-output.ts";
import { encodeSseEvent } from "./sse-event.ts";

/**
 * Most bytes of events one stream may hold unsent (written, not yet taken by the client's
 * socket). Past it the client reads slower than the stream writes: the stream is closed (not
 * events dropped, so a client never misses events silently; EventSource reconnects).
 */
export const SSE_STREAM_BUFFER_BYTES_MAX = 1024 * 1024;
/** Topic patterns one stream may forward (`sse_forward`); past it the call answers -3. */
export const SSE_FORWARDS_PER_STREAM_MAX = 16;

/** Where forwarded topics come from: the node's module messages (src/events/node-event-bus.ts). */
export interface ClientTopics {
  /** `deliver` gets every message published on a topic `pattern` matches, until the returned function is called. */
  subscribeClient(pattern: TopicPattern, deliver: (topic: string, payload: Uint8Array) => void): () => void;
}

/** Payloads are sent as UTF-8 text (an invalid sequence becomes U+FFFD, as a client would read it). */
const utf8 = new TextDecoder("utf-8");

/**
 * One server-sent event stream: the response of a handler process that called `sse_start`. Its
 * head is sent at once (`text/event-stream`, no caching), events are written as they come (the
 * guest's `sse_send`, and messages on the topics it forwards), and it ends when the handler
 * returns, the client goes away or the client falls behind by more than
 * {@link SSE_STREAM_BUFFER_BYTES_MAX}. Closing drops its topic subscriptions: no subscriber
 * outlives its connection.
 */
export class SseStream {
  readonly #res: ServerResponse;
  readonly #topics: ClientTopics | undefined;
  readonly #release: ReleaseOutput;
  readonly #unsubscribe: (() => void)[] = [];
  #closed = false;

  /**
   * Sends the head now; events and the end go through `release` (the node's output gate: an
   * event may claim writes made before it). `onClientGone` runs once if the client goes away
   * before `end`.
   */
  constructor(
    res: ServerResponse,
    head: { status: number; headers: readonly (readonly [string, string])[] },
    topics: ClientTopics | undefined,
    release: ReleaseOutput,
    onClientGone: () => void,
  ) {
    this.#res = res;
    this.#topics = topics;
    this.#release = release;
    res.statusCode = head.status;
    for (const [name, value] of head.headers) res.appendHeader(name, value);
    res.setHeader("Content-Type", "text/event-stream; charset=utf-8");
    res.setHeader("Cache-Control", "no-cache");
    res.flushHeaders();
    res.once("close", () => {
      if (this.#closed) return;
      this.#close();
      onClientGone();
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** `sse_send`: 0, or -3 once the stream is closed (or it just closed: the client fell behind). */
  send(name: string, data: string): number {
    if (this.#closed) return ERR_INTERNAL;
    const res = this.#res;
    if (res.writableLength > SSE_STREAM_BUFFER_BYTES_MAX) {
      // A slow client: closing its connection ends the handler through onClientGone.
      res.destroy();
      return ERR_INTERNAL;
    }
    const event = encodeSseEvent(name, data);
    this.#release(() => {
      if (!res.destroyed) res.write(event);
    });
    return OK;
  }

  /** `sse_forward`: messages on topics `pattern` matches become events named by their topic. */
  forward(pattern: TopicPattern): number {
    if (this.#closed || this.#topics === undefined) return ERR_INTERNAL;
    if (this.#unsubscribe.length >= SSE_FORWARDS_PER_STREAM_MAX) return ERR_INTERNAL;
    this.#unsubscribe.push(
      this.#topics.subscribeClient(pattern, (topic, payload) => {
        this.send(topic, utf8.decode(payload));
      }),
    );
    return OK;
  }

  /** The handler ended: the stream ends (its subscriptions first). */
  end(): void {
    if (this.#closed) return;
    this.#close();
    const res = this.#res;
    this.#release(() => res.end());
  }

  #close(): void {
    this.#closed = true;
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#unsubscribe.length = 0;
  }
}
