import type { WebSocket } from "ws";
import type { TopicPattern } from "../events/topic.ts";
import { ERR_INTERNAL, OK } from "../wasm/abi/abi-codes.ts";
import { type ClientTopics, ForwardedTopics, type ForwardFormat } from "./forwarded-topics.ts";
import type { ReleaseOutput } from "./release-output.ts";
import { writeAtTurnEnd } from "./turn-writes.ts";

/** Largest frame (message) a client may send; a larger one closes its connection with 1009 (the `ws` package's maxPayload). */
export const WS_FRAME_BYTES_MAX = 1024 * 1024;
/**
 * Most bytes one connection may hold unsent (sent by the guest, not yet taken by the client's
 * socket). Past it the client does not read: the connection is dropped (never frames silently lost).
 */
export const WS_SEND_BUFFER_BYTES_MAX = 1024 * 1024;
/** Topic patterns one connection may forward (`ws_forward`); past it the call answers -3. */
export const WS_FORWARDS_PER_CONNECTION_MAX = 16;
/**
 * Most bytes of frames one connection's process may have in its mailbox unread. Past it the
 * client sends faster than its handler reads: the connection is closed with
 * {@link WS_CLOSE_TOO_FAST} (frames are never dropped silently).
 */
export const WS_UNREAD_BYTES_MAX = 4 * 1024 * 1024;
/** Most frames one connection's process may have unread; past it, closed as for {@link WS_UNREAD_BYTES_MAX}. */
export const WS_UNREAD_FRAMES_MAX = 1024;
/** Close code of a client that sent past the unread bounds: "policy violation". */
export const WS_CLOSE_TOO_FAST = 1008;
/** Close code of a connection whose process failed (trap, abort, CPU budget): "internal error". */
export const WS_CLOSE_PROCESS_FAILED = 1011;
/** Close code of every connection when the node stops: "going away". */
export const WS_CLOSE_GOING_AWAY = 1001;
/**
 * Longest a stopping node waits, once what the output gate held has drained, for its WebSocket
 * clients to answer the 1001 close; past it a connection is dropped (`ws` itself would wait 30 s:
 * a client whose network went away would hold the shutdown that long).
 */
export const WS_CLOSE_ANSWER_MS_MAX = 250;

/** Frames reach the guest as one byte saying text (0) or binary (1), then the frame's bytes. */
export const WS_FRAME_TEXT = 0;
export const WS_FRAME_BINARY = 1;

/**
 * One WebSocket connection, the life of one handler process: frames the client sends are
 * delivered to the process as messages ({@link frameMessage}), the guest sends with `ws_send`,
 * and topics it forwards (`ws_forward`) are sent as text frames `{"topic":..,"data":..}`.
 * Closing (either side) drops its topic subscriptions: no subscriber outlives its connection.
 * Frames and the close are written at the end of the event loop's turn (turn-writes.ts).
 */
export class WsConnection {
  readonly #socket: WebSocket;
  readonly #release: ReleaseOutput;
  readonly #forwarded: ForwardedTopics;
  #closed = false;
  readonly #writeFailed: (error: unknown) => void;
  readonly #socketClosed: Promise<void>;
  /** Bytes the guest sent that are not in the socket yet (at the output gate or deferred to the turn's end). */
  #unwrittenBytes = 0;

  /**
   * Frames and the close go through `release` (the node's output gate: a frame may claim writes
   * made before it). A frame or close that throws as it is written drops the connection (which
   * ends its process), then `writeFailed` gets the error.
   */
  constructor(
    socket: WebSocket,
    topics: ClientTopics | undefined,
    release: ReleaseOutput,
    writeFailed: (error: unknown) => void,
  ) {
    this.#socket = socket;
    this.#release = release;
    this.#writeFailed = writeFailed;
    this.#forwarded = new ForwardedTopics(topics, WS_FORWARDS_PER_CONNECTION_MAX);
    this.#socketClosed = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.once("close", () => this.#close());
    // A client's protocol error (a frame over maxPayload: 1009, bad UTF-8: 1007) is answered by
    // `ws` closing the connection; unheard, the error event would crash the node.
    socket.on("error", () => {});
  }

  /**
   * Frames the client sends go to `deliver` (which answers how many messages the process has
   * unread after it) as {@link frameMessage} payloads, within {@link WS_UNREAD_BYTES_MAX} and
   * {@link WS_UNREAD_FRAMES_MAX}.
   */
  receiveInto(deliver: (payload: Uint8Array) => number): void {
    /** Sizes of the frames delivered, newest last; those still unread are the last `unread`. */
    const sizes: number[] = [];
    let unreadBytes = 0;
    this.#socket.on("message", (data, binary) => {
      const payload = frameMessage(data as Buffer, binary);
      const unread = deliver(payload);
      sizes.push(payload.length);
      unreadBytes += payload.length;
      while (sizes.length > unread) unreadBytes -= sizes.shift()!;
      if (unreadBytes > WS_UNREAD_BYTES_MAX || sizes.length > WS_UNREAD_FRAMES_MAX) {
        this.#close();
        this.#socket.close(WS_CLOSE_TOO_FAST, "sending faster than the handler reads");
      }
    });
  }

  /** `ws_send`: 0, or -3 once closed (or it just closed: the client does not read). */
  send(bytes: Uint8Array, binary: boolean): number {
    if (this.#closed) return ERR_INTERNAL;
    const socket = this.#socket;
    if (socket.bufferedAmount + this.#unwrittenBytes > WS_SEND_BUFFER_BYTES_MAX) {
      // A client that does not read: dropping it ends the process through the close event.
      socket.terminate();
      this.#close();
      return ERR_INTERNAL;
    }
    this.#unwrittenBytes += bytes.length;
    this.#release(() =>
      writeAtTurnEnd(() => {
        this.#unwrittenBytes -= bytes.length;
        if (socket.readyState === socket.OPEN) socket.send(bytes, binary ? BINARY : TEXT);
      }, this.#unwritable),
    );
    return OK;
  }

  /** `ws_forward`: messages on topics `pattern` matches are sent as text frames. */
  forward(pattern: TopicPattern): number {
    if (this.#closed) return ERR_INTERNAL;
    return this.#forwarded.add(pattern, forwardedFrame, (bytes) => this.send(bytes, false));
  }

  /** The process ended: normally (1000) or by failing ({@link WS_CLOSE_PROCESS_FAILED}). */
  end(failed: boolean): void {
    if (this.#closed) return;
    this.#close();
    const socket = this.#socket;
    this.#release(() =>
      writeAtTurnEnd(() => socket.close(failed ? WS_CLOSE_PROCESS_FAILED : 1000), this.#unwritable),
    );
  }

  /**
   * The node stops: the connection is closed with {@link WS_CLOSE_GOING_AWAY} once the frames
   * sent before are released by the output gate and written (the close waits behind them).
   * Resolves once that close is written (or the connection closed), not once the client answers
   * it ({@link closed}); a connection already closing (its process ended) resolves once closed.
   */
  goAway(): Promise<void> {
    if (this.#closed) return this.#socketClosed;
    this.#close();
    return new Promise<void>((resolve) => {
      void this.#socketClosed.then(resolve);
      this.#release(() =>
        writeAtTurnEnd(() => {
          this.goAwayNow();
          resolve();
        }, this.#unwritable),
      );
    });
  }

  /** Resolves once the connection is closed (the client answered the close, or went away). */
  get closed(): Promise<void> {
    return this.#socketClosed;
  }

  /**
   * Closes with {@link WS_CLOSE_GOING_AWAY} now, without waiting for the output gate: frames it
   * still holds are never sent (they claim writes that are not on disk), as a frame is sent only
   * while the connection is open.
   */
  goAwayNow(): void {
    const socket = this.#socket;
    this.#close();
    if (socket.readyState === socket.OPEN) socket.close(WS_CLOSE_GOING_AWAY, "the node is shutting down");
  }

  /** Drops the connection now, without a close handshake (a client that did not answer the close). */
  drop(): void {
    this.#close();
    this.#socket.terminate();
  }

  readonly #unwritable = (error: unknown): void => {
    this.#close();
    this.#socket.terminate();
    this.#writeFailed(error);
  };

  #close(): void {
    this.#closed = true;
    this.#forwarded.clear();
  }
}

/** The payload of the process message carrying one frame. */
export function frameMessage(data: Uint8Array, binary: boolean): Uint8Array {
  const payload = new Uint8Array(1 + data.length);
  payload[0] = binary ? WS_FRAME_BINARY : WS_FRAME_TEXT;
  payload.set(data, 1);
  return payload;
}

/** `ws` copies its options: one object each rather than one per frame. */
const BINARY = { binary: true };
const TEXT = { binary: false };
const encoder = new TextEncoder();

/** A forwarded message as the text of a frame: `{"topic":..,"data":..}`. */
const forwardedFrame: ForwardFormat = (topic, data) => encoder.encode(JSON.stringify({ topic, data }));
