import type { TopicPattern } from "../events/topic.ts";
import { ERR_INTERNAL, OK } from "../wasm/abi/abi-codes.ts";

/** Where forwarded topics come from: the node's module messages (src/events/node-event-bus.ts). */
export interface ClientTopics {
  /** `deliver` gets every message published on a topic `pattern` matches, until the returned function is called. */
  subscribeClient(pattern: TopicPattern, deliver: (topic: string, payload: Uint8Array) => void): () => void;
}

/** Payloads are forwarded as UTF-8 text (an invalid sequence becomes U+FFFD, as a client would read it). */
const utf8 = new TextDecoder("utf-8");

/** How a kind of connection writes a forwarded message: an event, a frame. */
export type ForwardFormat = (topic: string, text: string) => Uint8Array;

/**
 * The latest message formatted. One publish reaches every client forwarding its topic, one
 * after the other with the same message: it is decoded and formatted once per kind of
 * connection, not once per client (1 000 streams: one encoding, not 1 000). Matched by value
 * (topic and bytes), so a reused payload buffer can never bring back a stale text.
 */
let latest:
  | {
      readonly format: ForwardFormat;
      readonly topic: string;
      readonly payload: Uint8Array;
      readonly bytes: Uint8Array;
    }
  | undefined;

function formatted(format: ForwardFormat, topic: string, payload: Uint8Array): Uint8Array {
  const hit =
    latest !== undefined &&
    latest.format === format &&
    latest.topic === topic &&
    latest.payload.length === payload.length &&
    Buffer.compare(latest.payload, payload) === 0;
  if (hit) return latest!.bytes;
  const bytes = format(topic, utf8.decode(payload));
  latest = { format, topic, payload: payload.slice(), bytes };
  return bytes;
}

/**
 * The topics one client connection forwards (an event stream's `sse_forward`, a WebSocket's
 * `ws_forward`): at most `max` patterns, all dropped together when the connection ends, so no
 * subscriber outlives its connection and the guest keeps no list of clients.
 */
export class ForwardedTopics {
  readonly #topics: ClientTopics | undefined;
  readonly #max: number;
  readonly #unsubscribe: (() => void)[] = [];

  /** `topics` undefined: nothing can be forwarded (every `add` answers -3). */
  constructor(topics: ClientTopics | undefined, max: number) {
    this.#topics = topics;
    this.#max = max;
  }

  /**
   * Sends every message on a topic `pattern` matches to `send`, as `format` writes it (the
   * payload as UTF-8 text): 0, or -3 past `max` or without topics. `format` is one function per
   * kind of connection (its identity is what lets connections share one formatting).
   */
  add(pattern: TopicPattern, format: ForwardFormat, send: (bytes: Uint8Array) => void): number {
    if (this.#topics === undefined || this.#unsubscribe.length >= this.#max) return ERR_INTERNAL;
    this.#unsubscribe.push(
      this.#topics.subscribeClient(pattern, (topic, payload) => send(formatted(format, topic, payload))),
    );
    return OK;
  }

  /** The connection ended: every subscription goes. */
  clear(): void {
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#unsubscribe.length = 0;
  }
}
