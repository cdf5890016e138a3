import type { TopicPattern } from "../events/topic.ts";
import { ERR_INTERNAL, OK } from "../wasm/abi/abi-codes.ts";

/** Where forwarded topics come from: the node's module messages (src/events/node-event-bus.ts). */
export interface ClientTopics {
  /** `deliver` gets every message published on a topic `pattern` matches, until the returned function is called. */
  subscribeClient(pattern: TopicPattern, deliver: (topic: string, payload: Uint8Array) => void): () => void;
}

/** Payloads are forwarded as UTF-8 text (an invalid sequence becomes U+FFFD, as a client would read it). */
const utf8 = new TextDecoder("utf-8");

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

  /** Sends every message on a topic `pattern` matches to `send` as text: 0, or -3 past `max` or without topics. */
  add(pattern: TopicPattern, send: (topic: string, text: string) => void): number {
    if (this.#topics === undefined || this.#unsubscribe.length >= this.#max) return ERR_INTERNAL;
    this.#unsubscribe.push(
      this.#topics.subscribeClient(pattern, (topic, payload) => send(topic, utf8.decode(payload))),
    );
    return OK;
  }

  /** The connection ended: every subscription goes. */
  clear(): void {
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#unsubscribe.length = 0;
  }
}
