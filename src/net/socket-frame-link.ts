import type { Socket } from "node:net";
import type { Clock, TimerHandle } from "../clock/clock.ts";
import type { NodeId } from "../identity/node-id.ts";
import { encodeFrameHeader, type Frame } from "./frame.ts";
import { FrameDecoder } from "./frame-decoder.ts";
import type { FrameLink, FrameLinkEvents } from "./frame-link.ts";
import { NetError } from "./net-error.ts";

export interface SocketFrameLinkOptions {
  readonly maxMessageSizeBytes: number;
  /** How long the peer may leave our bytes unread (buffered writes not drained) before the link is dropped. */
  readonly writeTimeoutMs: number;
  readonly clock: Clock;
  /** NodeId of the peer's verified certificate (TLS), undefined on plain TCP. */
  readonly provenNodeId: NodeId | undefined;
}

/** A FrameLink over a connected TCP or TLS socket. */
export class SocketFrameLink implements FrameLink {
  readonly remoteAddress: string;
  readonly provenNodeId: NodeId | undefined;
  readonly #socket: Socket;
  readonly #decoder: FrameDecoder;
  readonly #options: SocketFrameLinkOptions;
  #events: FrameLinkEvents | undefined;
  #error: NetError | undefined;
  #closed = false;
  #reading = true;
  readonly #drainWaiters: Array<{ resolve: () => void; reject: (error: NetError) => void }> = [];
  #writeTimer: TimerHandle | undefined;
  readonly #endWaiters: Array<() => void> = [];
  #endTimer: TimerHandle | undefined;

  constructor(socket: Socket, options: SocketFrameLinkOptions) {
    this.#socket = socket;
    this.#options = options;
    this.provenNodeId = options.provenNodeId;
    this.remoteAddress = socketPeerAddress(socket);
    this.#decoder = new FrameDecoder(options.maxMessageSizeBytes);
    socket.setNoDelay(true);
    socket.on("error", (error) => this.#recordError(describeSocketError(error, this.remoteAddress)));
    socket.on("end", () => {
      if (this.#decoder.hasPartialFrame) {
        this.#recordError(
          new NetError(
            "NET_CONNECTION_LOST",
            `peer at ${this.remoteAddress} closed the connection in the middle of a frame`,
          ),
        );
      }
    });
    socket.on("drain", () => this.#drained());
    socket.on("close", () => this.#onClose());
    if (socket.destroyed) queueMicrotask(() => this.#onClose());
  }

  start(events: FrameLinkEvents): void {
    this.#events = events;
    if (this.#closed) {
      events.closed(this.#error);
      return;
    }
    this.#socket.on("data", (chunk: Buffer) => this.#onData(chunk));
  }

  #onData(chunk: Buffer): void {
    if (!this.#reading || this.#closed) return;
    let frames: Frame[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (error) {
      // The stream cannot be resynchronised: later bytes are discarded, but the socket keeps
      // flowing so the peer's close is seen while the connection sends its Error frame and ends.
      this.#reading = false;
      this.#events?.invalid(error as NetError);
      return;
    }
    for (const frame of frames) {
      if (this.#closed) return;
      this.#events?.frame(frame);
    }
  }

  send(frame: Frame): Promise<void> {
    if (this.#closed || this.#socket.destroyed || !this.#socket.writable) {
      return Promise.reject(
        new NetError("NET_CONNECTION_CLOSED", `connection to ${this.remoteAddress} is closed`),
      );
    }
    let header: Uint8Array;
    try {
      header = encodeFrameHeader(frame.format, frame.body.byteLength, this.#options.maxMessageSizeBytes);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#socket.cork();
    this.#socket.write(header);
    const flushed = this.#socket.write(frame.body);
    this.#socket.uncork();
    if (flushed && this.#drainWaiters.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#drainWaiters.push({ resolve, reject });
      this.#writeTimer ??= this.#options.clock.setTimeout(() => {
        this.destroy(
          new NetError(
            "NET_WRITE_TIMEOUT",
            `peer at ${this.remoteAddress} did not read our data for ${this.#options.writeTimeoutMs} ms`,
          ),
        );
      }, this.#options.writeTimeoutMs);
    });
  }

  #drained(): void {
    this.#options.clock.clearTimeout(this.#writeTimer);
    this.#writeTimer = undefined;
    for (const waiter of this.#drainWaiters.splice(0)) waiter.resolve();
  }

  limitFrameSize(maxMessageSizeBytes: number, name: string): void {
    this.#decoder.limit(maxMessageSizeBytes, name);
  }

  pause(): void {
    if (this.#reading) this.#socket.pause();
  }

  resume(): void {
    if (this.#reading) this.#socket.resume();
  }

  end(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const ended = new Promise<void>((resolve) => this.#endWaiters.push(resolve));
    if (this.#endWaiters.length === 1) {
      this.#socket.end();
      // A peer that never closes its side must not hold the socket open forever.
      this.#endTimer = this.#options.clock.setTimeout(
        () => this.#socket.destroy(),
        this.#options.writeTimeoutMs,
      );
    }
    return ended;
  }

  destroy(error?: NetError): void {
    if (error) this.#recordError(error);
    this.#socket.destroy();
  }

  #recordError(error: NetError): void {
    this.#error ??= error;
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#options.clock.clearTimeout(this.#writeTimer);
    this.#options.clock.clearTimeout(this.#endTimer);
    const closedError =
      this.#error ?? new NetError("NET_CONNECTION_CLOSED", `connection to ${this.remoteAddress} is closed`);
    for (const waiter of this.#drainWaiters.splice(0)) waiter.reject(closedError);
    for (const done of this.#endWaiters.splice(0)) done();
    this.#events?.closed(this.#error);
  }
}

/** `host:port` of the socket's peer, with IPv6 hosts in brackets. */
export function socketPeerAddress(socket: Socket): string {
  const host = socket.remoteAddress ?? "unknown";
  const port = socket.remotePort ?? 0;
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Certificate verification failures as Node reports them (OpenSSL X509_V_ERR names). */
const CERTIFICATE_REFUSED_CODES = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_SIGNATURE_FAILURE",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** One clear NetError for a socket or TLS failure. */
export function describeSocketError(error: Error, remoteAddress: string): NetError {
  const code = (error as NodeJS.ErrnoException).code ?? "";
  if (CERTIFICATE_REFUSED_CODES.has(code)) {
    return new NetError(
      "NET_TLS_FAILED",
      `TLS with ${remoteAddress} failed: this node refused the peer's certificate: ${error.message} (${code}; is it signed by our --tls-ca, valid now, and issued for this address?)`,
      { cause: error },
    );
  }
  if (code === "ECONNRESET" || code === "EPIPE") {
    return new NetError("NET_CONNECTION_LOST", `connection to ${remoteAddress} was reset by the peer`, {
      cause: error,
    });
  }
  if (
    code.startsWith("ERR_SSL") ||
    code.startsWith("ERR_TLS") ||
    /SSL|TLS|certificate/i.test(error.message)
  ) {
    return new NetError("NET_TLS_FAILED", `TLS with ${remoteAddress} failed: ${tlsReason(error)}`, {
      cause: error,
    });
  }
  return new NetError("NET_CONNECTION_LOST", `connection to ${remoteAddress} failed: ${error.message}`, {
    cause: error,
  });
}

/** The human part of an OpenSSL error ("tlsv1 alert unknown ca"), plus a hint for the common cases. */
function tlsReason(error: Error): string {
  const match =
    /routines:[^:]*:([^:]+)/.exec(error.message) ?? /error:[0-9a-f]+:[^:]*:([^:]+)/i.exec(error.message);
  const reason = (match?.[1] ?? error.message).trim();
  if (/unknown ca|certificate required|bad certificate/i.test(reason)) {
    return `${reason} (the peer refused our certificate: is it signed by the peer's --tls-ca?)`;
  }
  if (/wrong version number|http request|packet length too long/i.test(reason)) {
    return `${reason} (the peer does not speak TLS: is it running with --tls-insecure?)`;
  }
  return reason;
}
