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
  /** The head passed the output gate and was written. */
  #headSent = false;
  /** Given up at shutdown with its head still held: nothing the gate releases later is written. */
  #cut = false;
  /** Resolves once the end is written: a second `end` (the node stopping) waits for the first. */
  #ended: Promise<void> | undefined;
  /** The end was handed to the connection (the client may not have taken it yet). */
  #endWritten = false;
  /** The node stops: a client that does not take the end at once is cut (endAtShutdown). */
  #atShutdown = false;
  /** Cut at shutdown: its client was not taking what was sent. */
  #stalled = false;

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
      if (this.#cut || res.destroyed) return;
      this.#headSent = true;
      res.flushHeaders();
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
      if (!this.#cut && !res.destroyed) res.write(event);
    });
    return OK;
  }

  /**
   * The handler ended, or the node stops: the stream ends (its subscriptions first), so the
   * client sees its end rather than a reset. Resolves once its last bytes are written (or the
   * connection is gone); called again, waits for the same end.
   */
  end(): Promise<void> {
    if (this.#ended !== undefined) return this.#ended;
    if (this.#closed) return Promise.resolve();
    this.#close();
    const res = this.#res;
    // After the events released before it: the end waits for them in the output gate too.
    this.#ended = new Promise((resolve) => {
      this.#release(() => {
        // Gone meanwhile (its close already fired, and `end` never calls back on it): nothing to write.
        if (this.#cut || res.destroyed) return resolve();
        res.once("close", resolve);
        res.end(resolve);
        this.#endWritten = true;
        if (this.#atShutdown) this.#cutIfStalled();
      });
    });
    return this.#ended;
  }

  /**
   * The node stops: the stream ends as with `end`, but once its end is written a client whose
   * connection did not take it at once (bytes still queued in the node: the socket's own buffers
   * are full) is cut rather than waited for. That client has stopped reading, or reads but is so
   * far behind that it is cut too and misses what is queued: the two cannot be told apart without
   * waiting, events are not acknowledged writes, and an event stream has no end it waits for
   * (EventSource reconnects after an end as after a cut). Resolves once ended or cut; `stalled`
   * says which.
   */
  endAtShutdown(): Promise<void> {
    this.#atShutdown = true;
    if (this.#endWritten) this.#cutIfStalled();
    return this.end();
  }

  /** Cut at shutdown because its client was not taking what was sent. */
  get stalled(): boolean {
    return this.#stalled;
  }

  #cutIfStalled(): void {
    const res = this.#res;
    // After this turn: what was written in it is still corked until then, not refused.
    setImmediate(() => {
      if (res.writableFinished || res.destroyed || (res.socket?.writableLength ?? 0) === 0) return;
      this.#stalled = true;
      res.destroy();
    });
  }

  /** True once its head has passed the output gate: the client has the stream's status. */
  get headSent(): boolean {
    return this.#headSent;
  }

  /**
   * The node stops while the output gate still holds the head: the stream is given up (nothing
   * the gate releases later is written: it claims writes that may never be on disk) and `answer`
   * answers the request instead (unless the client has gone).
   */
  cut(answer: (res: ServerResponse) => void): void {
    this.#cut = true;
    this.#close();
    if (!this.#res.destroyed) answer(this.#res);
  }

  #close(): void {
    this.#closed = true;
    this.#forwarded.clear();
  }
}

/** A forwarded message as an event named by its topic. */
const forwardedEvent: ForwardFormat = (topic, text) => Buffer.from(encodeSseEvent(topic, text));
