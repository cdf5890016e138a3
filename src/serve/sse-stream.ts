import type { ServerResponse } from "node:http";
import type { TopicPattern } from "../events/topic.ts";
import { ERR_INTERNAL, OK } from "../wasm/abi/abi-codes.ts";
import { type ClientTopics, ForwardedTopics, type ForwardFormat } from "./forwarded-topics.ts";
import type { ReleaseOutput } from "./release-output.ts";
import { encodeSseEvent } from "./sse-event.ts";

/**
 * Most bytes of events one stream may hold unsent (written, not yet taken by the client's
 * socket). Past it the client reads slower than the stream writes: the stream is closed (not
 * events dropped, so a client never misses events silently; EventSource reconnects).
 */
export const SSE_STREAM_BUFFER_BYTES_MAX = 1024 * 1024;
/**
 * Longest a stopping node waits for its event streams' last bytes (their terminating chunk) to
 * reach the sockets before it closes the connections: past it a stream is cut, not ended.
 */
export const SSE_SHUTDOWN_FLUSH_MS_MAX = 1_000;
/** Topic patterns one stream may forward (`sse_forward`); past it the call answers -3. */
export const SSE_FORWARDS_PER_STREAM_MAX = 16;

/**
 * One server-sent event stream: the response of a handler process that called `sse_start`. Its
 * head (`text/event-stream`, no caching) and its events (the guest's `sse_send`, and messages on
 * the topics it forwards) are written as the output gate releases them, and it ends when the handler
 * returns, the client goes away or the client falls behind by more than
 * {@link SSE_STREAM_BUFFER_BYTES_MAX}. Closing drops its topic subscriptions: no subscriber
 * outlives its connection.
 */
export class SseStream {
  readonly #res: ServerResponse;
  readonly #release: ReleaseOutput;
  readonly #forwarded: ForwardedTopics;
  #closed = false;

  /**
   * The head, the events and the end go through `release` (the node's output gate: the head's
   * status, like any event, may claim writes the handler made before it), in that order, each
   * written as soon as it is released. `onClientGone` runs once if the client goes away before `end`.
   */
  constructor(
    res: ServerResponse,
    head: { status: number; headers: readonly (readonly [string, string])[] },
    topics: ClientTopics | undefined,
    release: ReleaseOutput,
    onClientGone: () => void,
  ) {
    this.#res = res;
    this.#release = release;
    this.#forwarded = new ForwardedTopics(topics, SSE_FORWARDS_PER_STREAM_MAX);
    res.statusCode = head.status;
    for (const [name, value] of head.headers) res.appendHeader(name, value);
    res.setHeader("Content-Type", "text/event-stream; charset=utf-8");
    res.setHeader("Cache-Control", "no-cache");
    release(() => {
      if (!res.destroyed) res.flushHeaders();
    });
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
    return this.#write(encodeSseEvent(name, data));
  }

  /** `sse_forward`: messages on topics `pattern` matches become events named by their topic. */
  forward(pattern: TopicPattern): number {
    if (this.#closed) return ERR_INTERNAL;
    return this.#forwarded.add(pattern, forwardedEvent, (bytes) => this.#write(bytes));
  }

  #write(event: string | Uint8Array): number {
    if (this.#closed) return ERR_INTERNAL;
    const res = this.#res;
    if (res.writableLength > SSE_STREAM_BUFFER_BYTES_MAX) {
      // A slow client: closing its connection ends the handler through onClientGone.
      res.destroy();
      return ERR_INTERNAL;
    }
    this.#release(() => {
      if (!res.destroyed) res.write(event);
    });
    return OK;
  }

  /**
   * The handler ended, or the node stops: the stream ends (its subscriptions first), so the
   * client sees its end rather than a reset. Resolves once its last bytes are written (or the
   * connection is gone).
   */
  end(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#close();
    const res = this.#res;
    // After the events released before it: the end waits for them in the output gate too.
    return new Promise((resolve) => {
      this.#release(() => {
        res.once("close", resolve);
        res.end(resolve);
      });
    });
  }

  #close(): void {
    this.#closed = true;
    this.#forwarded.clear();
  }
}

/** A forwarded message as an event named by its topic. */
const forwardedEvent: ForwardFormat = (topic, text) => Buffer.from(encodeSseEvent(topic, text));
