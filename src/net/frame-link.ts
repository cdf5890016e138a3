import type { NodeId } from "../identity/node-id.ts";
import type { Frame } from "./frame.ts";
import type { Message } from "./messages.ts";
import type { NetError } from "./net-error.ts";

/**
 * A frame-level duplex under a Connection: a socket (TCP or TLS) or an in-memory pipe. The
 * connection code above it (handshake, keepalive, read timeout, message queue) is the same for all.
 */
export interface FrameLink {
  readonly remoteAddress: string;
  /** The NodeId the channel itself proves (the TLS peer certificate's), undefined when it proves none. */
  readonly provenNodeId: NodeId | undefined;
  /** Begins delivery; frames that arrived before are delivered first. Called once. */
  start(events: FrameLinkEvents): void;
  /**
   * Queues a frame. Resolves once the link can take more (backpressure); rejects with a NetError
   * when the link is closed or the peer does not take the bytes within the write timeout.
   * `message` is the frame's decoded form, for in-memory routing hooks; sockets ignore it.
   */
  send(frame: Frame, message: Message<unknown>): Promise<void>;
  /**
   * The largest frame accepted from the peer from the next frame on, and the limit's name for
   * errors. Links that carry whole frames (in memory) read no length prefix and ignore it.
   */
  limitFrameSize(maxMessageSizeBytes: number, name: string): void;
  /** Stops delivering frames until `resume` (the consumer is behind). */
  pause(): void;
  resume(): void;
  /** Sends what is queued, then closes; resolves when closed. */
  end(): Promise<void>;
  /** Closes at once; `error` becomes the reason reported to `closed`. */
  destroy(error?: NetError): void;
}

export interface FrameLinkEvents {
  frame(frame: Frame): void;
  /** The byte stream broke the framing (bad length or tag): the link has stopped reading; the connection decides how to end. */
  invalid(error: NetError): void;
  /** Called exactly once; `error` is undefined for an orderly close by either side. */
  closed(error: NetError | undefined): void;
}
