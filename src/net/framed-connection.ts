import type { Clock } from "../clock/clock.ts";
import type { NodeId } from "../identity/node-id.ts";
import type { Logger } from "../observe/logger.ts";
import type { Connection, ConnectionClose } from "./connection.ts";
import { type ConnectionLimits, HANDSHAKE_MESSAGE_SIZE_MAX_BYTES } from "./connection-limits.ts";
import { type Frame, frameLength } from "./frame.ts";
import type { FrameLink } from "./frame-link.ts";
import {
  type AcceptedHelloAck,
  answerHello,
  answerHelloReply,
  createHello,
  type HandshakePolicy,
  refusalFromPeer,
  replyFor,
} from "./handshake.ts";
import type { MessageCodec } from "./message-codec.ts";
import type { ErrorMessage, Message, SessionMessage, VersionVector } from "./messages.ts";
import { asNetError, NetError } from "./net-error.ts";
import { RefusalLog } from "./refusal-log.ts";
import type { WireTraffic } from "./transport.ts";
import type { WireFeature } from "./wire-features.ts";
import type { WireFormat } from "./wire-format.ts";

/** A peer's refused Publish messages are logged at most once per this interval, with a count. */
export const PUBLISH_REFUSAL_LOG_INTERVAL_MS = 10_000;

export interface EstablishOptions<Op> {
  readonly link: FrameLink;
  /** The dialer sends Hello; the listener answers it. */
  readonly role: "dialer" | "listener";
  readonly policy: HandshakePolicy;
  /** The local version vector, read once when the Hello or HelloAck is built. */
  readonly versionVector: () => VersionVector;
  readonly codec: MessageCodec<Op>;
  readonly limits: ConnectionLimits;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly traffic?: WireTraffic;
  readonly signal?: AbortSignal;
}

/**
 * Runs the handshake over `link` and resolves with the open Connection; rejects with a NetError
 * (and closes the link, after telling the peer why in an Error frame where that helps).
 */
export function establishConnection<Op>(options: EstablishOptions<Op>): Promise<Connection<Op>> {
  return new FramedConnection(options).handshake();
}

type State = "handshake" | "open" | "closing" | "closed";

interface Waiter<Op> {
  resolve(result: IteratorResult<SessionMessage<Op>>): void;
}

/** One connection over a FrameLink: handshake, keepalive, read timeout, inbound queue, iteration. */
class FramedConnection<Op> implements Connection<Op> {
  readonly #link: FrameLink;
  readonly #role: "dialer" | "listener";
  readonly #policy: HandshakePolicy;
  readonly #versionVector: () => VersionVector;
  readonly #codec: MessageCodec<Op>;
  readonly #limits: ConnectionLimits;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #traffic: WireTraffic | undefined;
  readonly #signal: AbortSignal | undefined;

  #state: State = "handshake";
  #remoteNodeId: NodeId | undefined;
  #format: WireFormat = "msgpack";
  #remoteVersionVector: VersionVector = new Map();
  #remoteFeatures: readonly WireFeature[] = [];
  #remoteMaxMessageSizeBytes: number | undefined;
  #publishRefusals: RefusalLog | undefined;
  #handshakeSettled = false;
  #resolveHandshake: (connection: Connection<Op>) => void = () => {};
  #rejectHandshake: (error: NetError) => void = () => {};

  readonly #queue: SessionMessage<Op>[] = [];
  #queueHead = 0;
  /** Ops inside the queued PushOps messages. */
  #queuedOps = 0;
  readonly #waiters: Waiter<Op>[] = [];
  #paused = false;

  #lastFrameAt = 0;
  #lastSentAt = 0;
  #pingNonce = 0;
  /** When the Ping with `#pingNonce` left; undefined once its Pong came back. */
  #pingSentAt: number | undefined;
  #rttMs: number | undefined;
  readonly #cancelTimers: Array<() => void> = [];

  #closeInfo: { error: NetError | undefined; initiator: "local" | "remote"; reason: string } | undefined;
  #peerError: NetError | undefined;
  #resolveClosed: (close: ConnectionClose) => void = () => {};
  readonly closed: Promise<ConnectionClose>;

  constructor(options: EstablishOptions<Op>) {
    this.#link = options.link;
    this.#role = options.role;
    this.#policy = options.policy;
    this.#versionVector = options.versionVector;
    this.#codec = options.codec;
    this.#limits = options.limits;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#traffic = options.traffic;
    this.#signal = options.signal;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  get remoteNodeId(): NodeId {
    return this.#remoteNodeId!;
  }

  get remoteAddress(): string {
    return this.#link.remoteAddress;
  }

  get authenticated(): boolean {
    return this.#link.provenNodeId !== undefined;
  }

  get outbound(): boolean {
    return this.#role === "dialer";
  }

  get rttMs(): number | undefined {
    return this.#rttMs;
  }

  get format(): WireFormat {
    return this.#format;
  }

  get remoteVersionVector(): VersionVector {
    return this.#remoteVersionVector;
  }

  get remoteFeatures(): readonly WireFeature[] {
    return this.#remoteFeatures;
  }

  get remoteMaxMessageSizeBytes(): number | undefined {
    return this.#remoteMaxMessageSizeBytes;
  }

  handshake(): Promise<Connection<Op>> {
    const promise = new Promise<Connection<Op>>((resolve, reject) => {
      this.#resolveHandshake = resolve;
      this.#rejectHandshake = reject;
    });
    if (this.#signal?.aborted) {
      this.#failHandshake(this.#abortError(), undefined);
      return promise;
    }
    const onAbort = () => this.#failHandshake(this.#abortError(), undefined);
    this.#signal?.addEventListener("abort", onAbort, { once: true });
    this.#cancelTimers.push(() => this.#signal?.removeEventListener("abort", onAbort));
    this.#cancelTimers.push(
      this.#after(this.#limits.handshakeTimeoutMs, () => {
        this.#failHandshake(
          new NetError(
            "NET_HANDSHAKE_TIMEOUT",
            `peer at ${this.remoteAddress} did not complete the handshake within ${this.#limits.handshakeTimeoutMs} ms`,
          ),
          undefined,
        );
      }),
    );
    // A dialer sends nothing before our HelloAck: until then a listener takes only a Hello-sized frame.
    if (this.#role === "listener") {
      this.#link.limitFrameSize(
        Math.min(HANDSHAKE_MESSAGE_SIZE_MAX_BYTES, this.#limits.maxMessageSizeBytes),
        "the handshake message limit",
      );
    }
    this.#link.start({
      frame: (frame) => this.#onFrame(frame),
      invalid: (error) => this.#onInvalidStream(error),
      closed: (error) => this.#onLinkClosed(error),
    });
    if (this.#role === "dialer") {
      const hello = createHello(this.#policy, this.#versionVector());
      this.#sendFrame(hello, this.#policy.preferredFormat).catch((error: unknown) =>
        this.#failHandshake(asNetError(error, "NET_CONNECTION_LOST", "cannot send Hello"), undefined),
      );
    }
    return promise;
  }

  // ---- receiving ----

  #onFrame(frame: Frame): void {
    if (this.#state === "closing" || this.#state === "closed") return;
    this.#lastFrameAt = this.#clock.now();
    let message: Message<Op>;
    try {
      message = this.#codec.decode(frame.body, frame.format);
    } catch (error) {
      const netError = asNetError(error, "NET_MESSAGE_MALFORMED", "cannot decode message");
      if (netError.code === "NET_PUBLISH_REFUSED" && this.#state === "open") this.#refusePublish(netError);
      else this.#violation(netError, frame.format);
      return;
    }
    this.#traffic?.frame("received", message.type, frameLength(frame.body.byteLength));
    if (this.#state === "handshake") {
      this.#onHandshakeMessage(message, frame.format);
      return;
    }
    switch (message.type) {
      case "Hello":
      case "HelloAck":
        this.#violation(
          new NetError(
            "NET_UNEXPECTED_MESSAGE",
            `peer ${this.remoteNodeId} sent ${message.type} after the handshake`,
          ),
          frame.format,
        );
        return;
      case "Ping":
        this.#sendFrame({ type: "Pong", nonce: message.nonce }, this.#format).catch(() => {});
        return;
      case "Pong":
        // Only the answer to the latest Ping measures anything: an older one's time is unknown.
        if (message.nonce === this.#pingNonce && this.#pingSentAt !== undefined) {
          this.#rttMs = this.#clock.now() - this.#pingSentAt;
          this.#pingSentAt = undefined;
        }
        return;
      case "Error":
        this.#peerError = refusalFromPeer(message, this.remoteAddress);
        this.#enqueue(message);
        return;
      default:
        this.#enqueue(message);
    }
  }

  /** A Publish that breaks the message rules costs only itself: messages are at-most-once anyway. */
  #refusePublish(error: NetError): void {
    this.#traffic?.refused?.("Publish");
    this.#publishRefusals ??= new RefusalLog(
      this.#logger,
      () => this.#clock.now(),
      PUBLISH_REFUSAL_LOG_INTERVAL_MS,
    );
    this.#publishRefusals.report(
      this.remoteNodeId,
      error.code,
      `dropped a Publish from peer ${this.remoteNodeId}: ${error.message} (the peer's module published what this node refuses; the connection stays open)`,
      { peer: this.remoteNodeId, code: error.code },
    );
  }

  #onHandshakeMessage(message: Message<Op>, format: WireFormat): void {
    if (this.#role === "listener") {
      if (message.type !== "Hello") {
        this.#violation(
          new NetError(
            "NET_UNEXPECTED_MESSAGE",
            `peer at ${this.remoteAddress} sent ${message.type} before Hello`,
          ),
          format,
        );
        return;
      }
      const verdict = answerHello(
        this.#policy,
        message,
        this.#link.provenNodeId,
        this.#versionVector(),
        this.remoteAddress,
      );
      if (!verdict.ok) {
        this.#failHandshake(verdict.error, { reply: verdict.reply, format });
        return;
      }
      this.#open(verdict.value);
      this.#sendFrame(verdict.value.ack, verdict.value.format).catch(() => {});
      return;
    }
    const verdict = answerHelloReply(this.#policy, message, this.#link.provenNodeId, this.remoteAddress);
    if (!verdict.ok) {
      // A peer's Error frame needs no answer; anything else wrong gets one.
      this.#failHandshake(
        verdict.error,
        message.type === "Error" ? undefined : { reply: verdict.reply, format },
      );
      return;
    }
    this.#open(verdict.value);
  }

  #onInvalidStream(error: NetError): void {
    this.#violation(error, this.#state === "handshake" ? this.#policy.preferredFormat : this.#format);
  }

  #onLinkClosed(error: NetError | undefined): void {
    if (this.#state === "handshake") {
      // A TLS listener that refuses our certificate just closes (no alert reaches us under TLS 1.3).
      const hint =
        this.#role === "listener" || this.#link.provenNodeId === undefined
          ? ""
          : " (a TLS peer does this when it refuses our certificate: is ours signed by the CA it trusts?)";
      this.#failHandshake(
        error ??
          new NetError(
            "NET_CONNECTION_CLOSED",
            `peer at ${this.remoteAddress} closed the connection during the handshake${hint}`,
          ),
        undefined,
      );
    }
    if (this.#state === "closed") return;
    this.#state = "closed";
    for (const cancel of this.#cancelTimers.splice(0)) cancel();
    const info = this.#closeInfo ?? {
      error: error ?? this.#peerError,
      initiator: "remote" as const,
      reason:
        error?.message ?? this.#peerError?.message ?? `peer at ${this.remoteAddress} closed the connection`,
    };
    if (this.#remoteNodeId !== undefined) {
      const fields = { peer: this.#remoteNodeId, address: this.remoteAddress, code: info.error?.code };
      if (info.error)
        this.#logger.warn(`connection to peer ${this.#remoteNodeId} ended: ${info.reason}`, fields);
      else this.#logger.debug(`connection to peer ${this.#remoteNodeId} closed: ${info.reason}`, fields);
    }
    this.#resolveClosed(info);
    this.#flushWaiters();
  }

  #enqueue(message: SessionMessage<Op>): void {
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter.resolve({ value: message, done: false });
      return;
    }
    this.#queue.push(message);
    if (message.type === "PushOps") this.#queuedOps += message.ops.length;
    if (
      !this.#paused &&
      (this.#queue.length - this.#queueHead >= this.#limits.maxQueuedMessages ||
        this.#queuedOps >= this.#limits.maxQueuedOps)
    ) {
      this.#paused = true;
      this.#link.pause();
    }
  }

  // ---- state changes ----

  #open(accepted: AcceptedHelloAck): void {
    const { remoteNodeId, format } = accepted;
    this.#remoteNodeId = remoteNodeId;
    this.#format = format;
    this.#remoteVersionVector = accepted.remoteVersionVector;
    this.#remoteFeatures = accepted.remoteFeatures;
    this.#remoteMaxMessageSizeBytes = accepted.remoteMaxMessageSizeBytes;
    this.#state = "open";
    this.#handshakeSettled = true;
    if (this.#role === "listener")
      this.#link.limitFrameSize(this.#limits.maxMessageSizeBytes, "max_message_size");
    for (const cancel of this.#cancelTimers.splice(0)) cancel();
    const now = this.#clock.now();
    this.#lastFrameAt = now;
    this.#lastSentAt = Math.max(this.#lastSentAt, now);
    this.#armReadTimer(this.#limits.socketTimeoutMs);
    if (this.#limits.keepaliveIntervalMs > 0) this.#armKeepalive(this.#limits.keepaliveIntervalMs);
    this.#logger.info(`connected to peer ${remoteNodeId} at ${this.remoteAddress}`, {
      peer: remoteNodeId,
      address: this.remoteAddress,
      direction: this.outbound ? "outbound" : "inbound",
      format,
      authenticated: this.authenticated,
    });
    const own = this.#limits.maxMessageSizeBytes;
    const peers = this.#remoteMaxMessageSizeBytes;
    if (peers !== undefined && peers < own) {
      this.#logger.info(
        `peer ${remoteNodeId} reads messages of up to ${peers} bytes (its max_message_size), less than this node's ${own}: what this node sends it is cut to that`,
        { peer: remoteNodeId, peerMaxMessageSize: peers, maxMessageSize: own },
      );
    }
    this.#resolveHandshake(this);
  }

  #failHandshake(error: NetError, answer: { reply: ErrorMessage; format: WireFormat } | undefined): void {
    if (this.#handshakeSettled) return;
    this.#handshakeSettled = true;
    this.#closeInfo = { error, initiator: "local", reason: error.message };
    this.#rejectHandshake(error);
    this.#endWith(error, answer);
  }

  /** The peer broke the protocol or a timeout fired: tell it why (when useful), then close. */
  #violation(error: NetError, format: WireFormat): void {
    const answer = { reply: replyFor(error), format };
    if (this.#state === "handshake") {
      this.#failHandshake(error, answer);
      return;
    }
    if (this.#state !== "open") return;
    this.#closeInfo = { error, initiator: "local", reason: error.message };
    this.#endWith(error, answer);
  }

  #endWith(error: NetError, answer: { reply: ErrorMessage; format: WireFormat } | undefined): void {
    if (this.#state === "closing" || this.#state === "closed") return;
    this.#state = "closing";
    for (const cancel of this.#cancelTimers.splice(0)) cancel();
    if (answer === undefined) {
      this.#link.destroy(error);
      return;
    }
    this.#writeFrame(answer.reply, answer.format)
      .catch(() => {})
      .finally(() => this.#link.end());
  }

  // ---- timers ----

  /** A timer of the clock, and the function that cancels it (for `#cancelTimers`). */
  #after(delayMs: number, callback: () => void): () => void {
    const timer = this.#clock.setTimeout(callback, delayMs);
    return () => this.#clock.clearTimeout(timer);
  }

  #armReadTimer(delayMs: number): void {
    this.#cancelTimers.push(this.#after(delayMs, () => this.#checkRead()));
  }

  #checkRead(): void {
    if (this.#state !== "open") return;
    const timeoutMs = this.#limits.socketTimeoutMs;
    if (this.#paused) {
      this.#armReadTimer(timeoutMs);
      return;
    }
    const idleMs = this.#clock.now() - this.#lastFrameAt;
    if (idleMs >= timeoutMs) {
      this.#violation(
        new NetError(
          "NET_READ_TIMEOUT",
          `peer ${this.remoteNodeId} at ${this.remoteAddress} sent no complete frame for ${timeoutMs} ms (silent or too slow)`,
        ),
        this.#format,
      );
      return;
    }
    this.#armReadTimer(timeoutMs - idleMs);
  }

  #armKeepalive(delayMs: number): void {
    this.#cancelTimers.push(this.#after(delayMs, () => this.#keepalive()));
  }

  #keepalive(): void {
    if (this.#state !== "open") return;
    const intervalMs = this.#limits.keepaliveIntervalMs;
    const quietMs = this.#clock.now() - this.#lastSentAt;
    if (quietMs >= intervalMs) {
      this.#pingNonce = (this.#pingNonce + 1) % Number.MAX_SAFE_INTEGER;
      this.#pingSentAt = this.#clock.now();
      this.#sendFrame({ type: "Ping", nonce: this.#pingNonce }, this.#format).catch(() => {});
      this.#armKeepalive(intervalMs);
      return;
    }
    this.#armKeepalive(intervalMs - quietMs);
  }

  // ---- sending ----

  async send(message: SessionMessage<Op>): Promise<void> {
    if (this.#state !== "open") {
      throw new NetError(
        "NET_CONNECTION_CLOSED",
        `connection to peer ${this.#remoteNodeId ?? this.remoteAddress} is closed`,
      );
    }
    const type: string = message.type;
    if (type === "Hello" || type === "HelloAck") {
      throw new NetError(
        "NET_UNEXPECTED_MESSAGE",
        `${type} is sent by the transport itself, not through send()`,
      );
    }
    await this.#sendFrame(message, this.#format);
  }

  #sendFrame(message: Message<Op>, format: WireFormat): Promise<void> {
    if (this.#state === "closing" || this.#state === "closed") {
      return Promise.reject(
        new NetError("NET_CONNECTION_CLOSED", `connection to ${this.remoteAddress} is closed`),
      );
    }
    return this.#writeFrame(message, format);
  }

  #writeFrame(message: Message<Op>, format: WireFormat): Promise<void> {
    let body: Uint8Array;
    try {
      body = this.#codec.encode(message, format);
    } catch (error) {
      return Promise.reject(asNetError(error, "NET_ENCODE_FAILED", `cannot encode ${message.type} message`));
    }
    const length = frameLength(body.byteLength);
    const own = this.#limits.maxMessageSizeBytes;
    const peers = this.#remoteMaxMessageSizeBytes ?? own;
    if (length > Math.min(own, peers)) {
      // The peer would end the connection on it, and the same frame was sent again after the redial.
      const limit =
        peers < own
          ? `peer ${this.#remoteNodeId}'s max_message_size (${peers} bytes, less than this node's ${own})`
          : `max_message_size (${own} bytes)`;
      return Promise.reject(
        new NetError(
          "NET_FRAME_TOO_LARGE",
          `${message.type} message of ${length} bytes exceeds ${limit}; send smaller batches`,
        ),
      );
    }
    this.#lastSentAt = this.#clock.now();
    this.#traffic?.frame("sent", message.type, length);
    return this.#link.send({ format, body }, message as Message<unknown>);
  }

  // ---- closing and iteration ----

  async close(reason = "closed by this node"): Promise<void> {
    if (this.#state === "open") {
      this.#state = "closing";
      this.#closeInfo = { error: undefined, initiator: "local", reason };
      for (const cancel of this.#cancelTimers.splice(0)) cancel();
      await this.#link.end();
    }
    await this.closed;
  }

  [Symbol.asyncIterator](): AsyncIterator<SessionMessage<Op>> {
    return {
      next: () => this.#next(),
      return: async () => {
        await this.close("the consumer stopped reading");
        return { value: undefined, done: true };
      },
    };
  }

  #next(): Promise<IteratorResult<SessionMessage<Op>>> {
    if (this.#queueHead < this.#queue.length) {
      const value = this.#queue[this.#queueHead];
      this.#queueHead++;
      if (value.type === "PushOps") this.#queuedOps -= value.ops.length;
      if (this.#queueHead === this.#queue.length) {
        this.#queue.length = 0;
        this.#queueHead = 0;
      }
      if (
        this.#paused &&
        this.#queue.length - this.#queueHead <= this.#limits.maxQueuedMessages / 2 &&
        this.#queuedOps <= this.#limits.maxQueuedOps / 2
      ) {
        this.#paused = false;
        this.#lastFrameAt = this.#clock.now();
        this.#link.resume();
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.#state === "closed") return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.#waiters.push({ resolve }));
  }

  #flushWaiters(): void {
    for (const waiter of this.#waiters.splice(0)) waiter.resolve({ value: undefined, done: true });
  }

  #abortError(): NetError {
    return new NetError("NET_ABORTED", `connecting to ${this.remoteAddress} was aborted`, {
      cause: this.#signal?.reason,
    });
  }
}
