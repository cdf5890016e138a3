import { createServer, type Socket } from "node:net";
import { backgroundClock, type Clock } from "../clock/clock.ts";
import type { NodeId } from "../identity/node-id.ts";
import { type Logger, silentLogger } from "../observe/logger.ts";
import type { Connection } from "./connection.ts";
import { type AdmissionTicket, ConnectionAdmission } from "./connection-admission.ts";
import { type ConnectionLimits, resolveConnectionLimits } from "./connection-limits.ts";
import { establishConnection } from "./framed-connection.ts";
import { formatHostPort, parseHostPort } from "./host-port.ts";
import { listenFailureReason } from "./listen-failure.ts";
import { FEATURE_REFUSAL_LOG_INTERVAL_MS } from "./missing-feature.ts";
import { NetError } from "./net-error.ts";
import { RefusalLog } from "./refusal-log.ts";
import { describeSocketError, SocketFrameLink, socketPeerAddress } from "./socket-frame-link.ts";
import { handshakePolicyFrom, type Listener, type Transport, type TransportOptions } from "./transport.ts";

/** What differs between TLS and plain TCP: how sockets are secured and what identity they prove. */
export interface SocketSecurity {
  readonly authenticated: boolean;
  /**
   * Returns what takes each admitted raw TCP socket through the security layer: it calls
   * `onSecured` once the socket is ready for frames (after the TLS handshake, with the NodeId the
   * peer certificate proves), or `onRefused` and destroys the socket when it failed before, at the
   * latest after `limits.handshakeTimeoutMs`.
   */
  createAcceptor(
    limits: ConnectionLimits,
    onRefused: (error: NetError, remoteIp: string | undefined) => void,
  ): (raw: Socket, onSecured: (socket: Socket, provenNodeId: NodeId | undefined) => void) => void;
  /** Connects; the socket emits `ready` once it is ready for frames (TLS handshake done on our side). */
  connect(host: string, port: number): { socket: Socket; ready: string };
  /**
   * Checks a socket that emitted `ready` before any frame goes over it: the error to refuse the
   * peer with (its certificate is not from our CA, not for the dialed address), or undefined.
   */
  verifyReady(socket: Socket, address: string): NetError | undefined;
  /** The NodeId a ready socket proves, undefined when the channel proves none. */
  provenNodeIdOf(socket: Socket): NodeId | undefined;
}

/**
 * Refusals at accept are reported in one line at most this often, with how many there were: a
 * flood of connections must not become a flood of log lines.
 */
export const REFUSAL_LOG_INTERVAL_MS = 10_000;

/** A Transport over real sockets; `security` decides TLS or plain TCP. */
export function createSocketTransport<Op>(
  localNodeId: NodeId,
  security: SocketSecurity,
  options: TransportOptions<Op>,
): Transport<Op> {
  const policy = handshakePolicyFrom(localNodeId, options);
  const limits = resolveConnectionLimits(options.limits);
  const logger: Logger = options.logger ?? silentLogger;
  const clock: Clock = options.clock ?? backgroundClock;
  const admission = new ConnectionAdmission(limits, options.knownPeerAddresses);

  const linkFor = (socket: Socket, provenNodeId: NodeId | undefined) =>
    new SocketFrameLink(socket, {
      maxMessageSizeBytes: limits.maxMessageSizeBytes,
      writeTimeoutMs: limits.socketTimeoutMs,
      clock,
      provenNodeId,
    });

  return {
    localNodeId,
    authenticated: security.authenticated,

    async listen(address, onConnection) {
      const { host, port } = parseHostPort(address);
      const sockets = new Set<Socket>();
      const connections = new Set<Connection<Op>>();
      let closing = false;
      // Refusals at accept come from a flood: one line per interval for all addresses together.
      const admissionRefusals = new RefusalLog(logger, () => clock.now(), REFUSAL_LOG_INTERVAL_MS);
      const refusals = new RefusalLog(logger, () => clock.now(), REFUSAL_LOG_INTERVAL_MS);
      // An older build refused for a feature it lacks redials until it is upgraded: said once in a long while.
      const featureRefusals = new RefusalLog(logger, () => clock.now(), FEATURE_REFUSAL_LOG_INTERVAL_MS);
      const secure = security.createAcceptor(limits, (error, remoteIp) =>
        refusals.report(remoteIp ?? "?", error.code, `refused inbound connection: ${error.message}`, {
          code: error.code,
        }),
      );

      const handshake = (
        socket: Socket,
        provenNodeId: NodeId | undefined,
        ticket: AdmissionTicket,
        acceptedAt: number,
      ) => {
        if (closing) {
          socket.destroy();
          return;
        }
        const peer = socketPeerAddress(socket);
        // The handshake timeout counts from the TCP accept: TLS and Hello share one budget.
        const remainingMs = Math.max(1, limits.handshakeTimeoutMs - Math.floor(clock.now() - acceptedAt));
        establishConnection({
          link: linkFor(socket, provenNodeId),
          role: "listener",
          policy,
          versionVector: options.versionVector,
          codec: options.codec,
          limits: { ...limits, handshakeTimeoutMs: remainingMs },
          clock,
          logger,
          traffic: options.traffic,
        }).then(
          (connection) => {
            ticket.handshakeEnded();
            if (closing) {
              void connection.close("listener closed");
              return;
            }
            if (connection.authenticated) admission.rememberKnown(socket.remoteAddress ?? "");
            connections.add(connection);
            void connection.closed.then(() => connections.delete(connection));
            try {
              onConnection(connection);
            } catch (error) {
              logger.error(`onConnection handler failed for peer ${connection.remoteNodeId}`, { error });
              void connection.close("onConnection handler failed");
            }
          },
          (error: NetError) => {
            ticket.handshakeEnded();
            (error.code === "NET_FEATURE_MISSING" ? featureRefusals : refusals).report(
              socket.remoteAddress ?? peer,
              error.code,
              `refused inbound connection from ${peer}: ${error.message}`,
              {
                address: peer,
              },
            );
          },
        );
      };

      const accept = (raw: Socket) => {
        const peer = socketPeerAddress(raw);
        if (closing || raw.remoteAddress === undefined) {
          raw.destroy();
          return;
        }
        const verdict = admission.admit(raw.remoteAddress);
        if (!verdict.admitted) {
          raw.destroy();
          admissionRefusals.report(
            "every address",
            "admission",
            `refused inbound connection from ${peer}: ${verdict.reason}`,
            {
              address: peer,
            },
          );
          return;
        }
        const { ticket } = verdict;
        const acceptedAt = clock.now();
        sockets.add(raw);
        raw.once("close", () => {
          ticket.released();
          sockets.delete(raw);
        });
        secure(raw, (socket, provenNodeId) => handshake(socket, provenNodeId, ticket, acceptedAt));
      };

      const server = createServer({ noDelay: true }, accept);
      await new Promise<void>((resolve, reject) => {
        const onError = (error: NodeJS.ErrnoException) => {
          reject(
            new NetError("NET_LISTEN_FAILED", `cannot listen on ${address}: ${listenFailureReason(error)}`, {
              cause: error,
            }),
          );
        };
        server.once("error", onError);
        server.listen({ host, port }, () => {
          server.off("error", onError);
          resolve();
        });
      });
      server.on("error", (error) => logger.error(`listener on ${address} failed: ${error.message}`));
      const bound = server.address();
      const boundAddress =
        bound !== null && typeof bound === "object" ? formatHostPort(bound.address, bound.port) : address;
      logger.info(`listening for peers on ${boundAddress}`, {
        address: boundAddress,
        tls: security.authenticated,
      });

      const listener: Listener = {
        address: boundAddress,
        async close() {
          if (closing) return;
          closing = true;
          const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
          await Promise.all([...connections].map((connection) => connection.close("listener closed")));
          for (const socket of sockets) socket.destroy();
          await stopped;
        },
      };
      return listener;
    },

    async dial(address, signal) {
      const { host, port } = parseHostPort(address);
      const started = clock.now();
      if (signal?.aborted) throw abortError(address, signal);
      const { socket, ready } = security.connect(host, port);
      await new Promise<void>((resolve, reject) => {
        let settled = false;
        const finish = (error?: NetError, closeGracefully = false) => {
          if (settled) return;
          settled = true;
          clock.clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          socket.off("error", onError);
          socket.off("close", onClose);
          if (error === undefined) {
            resolve();
            return;
          }
          if (closeGracefully) {
            // Our last handshake bytes (our certificate) still reach the peer, so it can log
            // why it refuses us too; a peer that keeps its side open is cut off after the timeout.
            socket.on("error", () => {});
            socket.end();
            clock.setTimeout(() => socket.destroy(), limits.handshakeTimeoutMs);
          } else {
            socket.destroy();
          }
          reject(error);
        };
        const onError = (error: NodeJS.ErrnoException) => finish(dialFailure(error, address));
        const onClose = () =>
          finish(
            new NetError("NET_DIAL_FAILED", `cannot connect to ${address}: the peer closed the connection`),
          );
        const onAbort = () => finish(abortError(address, signal!));
        const timer = clock.setTimeout(
          () =>
            finish(
              new NetError(
                "NET_HANDSHAKE_TIMEOUT",
                `cannot connect to ${address}: no connection within ${limits.handshakeTimeoutMs} ms`,
              ),
            ),
          limits.handshakeTimeoutMs,
        );
        socket.once("error", onError);
        socket.once("close", onClose);
        signal?.addEventListener("abort", onAbort, { once: true });
        socket.once(ready, () => {
          const refusal = security.verifyReady(socket, address);
          finish(refusal, refusal !== undefined);
        });
      });
      const remainingMs = Math.max(1, limits.handshakeTimeoutMs - Math.floor(clock.now() - started));
      const connection = await establishConnection({
        link: linkFor(socket, security.provenNodeIdOf(socket)),
        role: "dialer",
        policy,
        versionVector: options.versionVector,
        codec: options.codec,
        limits: { ...limits, handshakeTimeoutMs: remainingMs },
        clock,
        logger,
        traffic: options.traffic,
        signal,
      });
      // We dialed this address because it is configured: its inbound connections are a member's too.
      if (socket.remoteAddress !== undefined) admission.rememberKnown(socket.remoteAddress);
      return connection;
    },
  };
}

function dialFailure(error: NodeJS.ErrnoException, address: string): NetError {
  switch (error.code) {
    case "ECONNREFUSED":
      return new NetError(
        "NET_DIAL_FAILED",
        `cannot connect to ${address}: connection refused (is the peer running?)`,
        {
          cause: error,
        },
      );
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "ETIMEDOUT":
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return new NetError("NET_DIAL_FAILED", `cannot connect to ${address}: ${error.message}`, {
        cause: error,
      });
    default:
      return describeSocketError(error, address);
  }
}

function abortError(address: string, signal: AbortSignal): NetError {
  return new NetError("NET_ABORTED", `connecting to ${address} was aborted`, { cause: signal.reason });
}
