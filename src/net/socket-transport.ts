import type { Server, Socket } from "node:net";
import type { NodeId } from "../identity/node-id.ts";
import { type Logger, silentLogger } from "../observe/logger.ts";
import type { Connection } from "./connection.ts";
import { type ConnectionLimits, resolveConnectionLimits } from "./connection-limits.ts";
import { establishConnection } from "./framed-connection.ts";
import { formatHostPort, parseHostPort } from "./host-port.ts";
import { NetError } from "./net-error.ts";
import { type NetTimers, realNetTimers } from "./net-timers.ts";
import { describeSocketError, SocketFrameLink, socketPeerAddress } from "./socket-frame-link.ts";
import { handshakePolicyFrom, type Listener, type Transport, type TransportOptions } from "./transport.ts";

/** What differs between TLS and plain TCP: how sockets are made and what identity they prove. */
export interface SocketSecurity {
  readonly authenticated: boolean;
  /**
   * A server that calls `onSocket` for every socket ready for frames (after the TLS handshake,
   * with the NodeId the peer certificate proves) and `onRefused` for sockets that failed before.
   */
  createServer(
    limits: ConnectionLimits,
    onSocket: (socket: Socket, provenNodeId: NodeId | undefined) => void,
    onRefused: (error: NetError) => void,
  ): Server;
  /** Connects; resolves once the socket is ready for frames (TLS handshake done on our side). */
  connect(host: string, port: number): { socket: Socket; ready: string };
  /** The NodeId a ready socket proves, undefined when the channel proves none. */
  provenNodeIdOf(socket: Socket): NodeId | undefined;
}

/** A Transport over real sockets; `security` decides TLS or plain TCP. */
export function createSocketTransport<Op>(
  localNodeId: NodeId,
  security: SocketSecurity,
  options: TransportOptions<Op>,
): Transport<Op> {
  const policy = handshakePolicyFrom(localNodeId, options);
  const limits = resolveConnectionLimits(options.limits);
  const logger: Logger = options.logger ?? silentLogger;
  const timers: NetTimers = options.timers ?? realNetTimers;

  const linkFor = (socket: Socket, provenNodeId: NodeId | undefined) =>
    new SocketFrameLink(socket, {
      maxMessageSizeBytes: limits.maxMessageSizeBytes,
      writeTimeoutMs: limits.socketTimeoutMs,
      timers,
      provenNodeId,
    });

  return {
    localNodeId,
    authenticated: security.authenticated,

    async listen(address, onConnection) {
      const { host, port } = parseHostPort(address);
      const sockets = new Set<Socket>();
      const connections = new Set<Connection<Op>>();
      let pendingHandshakes = 0;
      let closing = false;

      const accept = (socket: Socket, provenNodeId: NodeId | undefined) => {
        const peer = socketPeerAddress(socket);
        if (closing) {
          socket.destroy();
          return;
        }
        if (pendingHandshakes >= limits.maxPendingHandshakes) {
          logger.warn(
            `refused inbound connection from ${peer}: ${pendingHandshakes} handshakes already pending`,
            {
              address: peer,
            },
          );
          socket.destroy();
          return;
        }
        pendingHandshakes++;
        sockets.add(socket);
        socket.once("close", () => sockets.delete(socket));
        establishConnection({
          link: linkFor(socket, provenNodeId),
          role: "listener",
          policy,
          versionVector: options.versionVector,
          codec: options.codec,
          limits,
          timers,
          logger,
          traffic: options.traffic,
        }).then(
          (connection) => {
            pendingHandshakes--;
            if (closing) {
              void connection.close("listener closed");
              return;
            }
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
            pendingHandshakes--;
            logger.warn(`refused inbound connection from ${peer}: ${error.message}`, {
              address: peer,
              code: error.code,
            });
          },
        );
      };

      const server = security.createServer(limits, accept, (error) =>
        logger.warn(`refused inbound connection: ${error.message}`, { code: error.code }),
      );
      await new Promise<void>((resolve, reject) => {
        const onError = (error: NodeJS.ErrnoException) => {
          reject(
            new NetError("NET_LISTEN_FAILED", `cannot listen on ${address}: ${listenFailure(error)}`, {
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
      const started = timers.now();
      if (signal?.aborted) throw abortError(address, signal);
      const { socket, ready } = security.connect(host, port);
      await new Promise<void>((resolve, reject) => {
        let settled = false;
        const finish = (error?: NetError) => {
          if (settled) return;
          settled = true;
          cancelTimer();
          signal?.removeEventListener("abort", onAbort);
          socket.off("error", onError);
          socket.off("close", onClose);
          if (error) {
            socket.destroy();
            reject(error);
          } else {
            resolve();
          }
        };
        const onError = (error: NodeJS.ErrnoException) => finish(dialFailure(error, address));
        const onClose = () =>
          finish(
            new NetError("NET_DIAL_FAILED", `cannot connect to ${address}: the peer closed the connection`),
          );
        const onAbort = () => finish(abortError(address, signal!));
        const cancelTimer = timers.setTimeout(
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
        socket.once(ready, () => finish());
      });
      const remainingMs = Math.max(1, limits.handshakeTimeoutMs - Math.floor(timers.now() - started));
      return establishConnection({
        link: linkFor(socket, security.provenNodeIdOf(socket)),
        role: "dialer",
        policy,
        versionVector: options.versionVector,
        codec: options.codec,
        limits: { ...limits, handshakeTimeoutMs: remainingMs },
        timers,
        logger,
        traffic: options.traffic,
        signal,
      });
    },
  };
}

function listenFailure(error: NodeJS.ErrnoException): string {
  if (error.code === "EADDRINUSE") return "address already in use (is another node running there?)";
  if (error.code === "EADDRNOTAVAIL") return "address not available on this machine";
  if (error.code === "EACCES") return "permission denied (ports below 1024 need privileges)";
  return error.message;
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
