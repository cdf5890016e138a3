import { isIP, type Socket } from "node:net";
import { connect, createServer, type TLSSocket } from "node:tls";
import { type NodeId, nodeIdFromCertificate } from "../identity/node-id.ts";
import { NetError } from "./net-error.ts";
import { describeSocketError, socketPeerAddress } from "./socket-frame-link.ts";
import { createSocketTransport, type SocketSecurity } from "./socket-transport.ts";
import type { TlsMaterial } from "./tls-material.ts";
import type { Transport, TransportOptions } from "./transport.ts";

export interface TlsTransportOptions<Op> extends TransportOptions<Op> {
  /** This node's certificate and key and the cluster CA (`loadTlsMaterial`); the NodeId comes from the certificate. */
  readonly tls: TlsMaterial;
}

/**
 * The default transport: TLS 1.3 only, mutual authentication against the configured CA. Each
 * side derives the other's NodeId from its certificate's SubjectPublicKeyInfo; a Hello or HelloAck
 * claiming another NodeId is refused with `not_authorized`, as is any NodeId outside
 * `allowedPeers`. Dialing checks the server certificate's names (SANs) against the dialed host,
 * as any TLS client does: issue node certificates for the addresses peers dial (`nx cert node --san`).
 */
export function createTlsTransport<Op>(options: TlsTransportOptions<Op>): Transport<Op> {
  const { tls } = options;
  const common = {
    key: tls.keyPem,
    cert: tls.certPem,
    ca: tls.caPem,
    minVersion: "TLSv1.3" as const,
    maxVersion: "TLSv1.3" as const,
  };
  const security: SocketSecurity = {
    authenticated: true,
    createServer(limits, onSocket, onRefused) {
      const server = createServer({
        ...common,
        requestCert: true,
        rejectUnauthorized: true,
        handshakeTimeout: limits.handshakeTimeoutMs,
      });
      server.on("secureConnection", (socket: TLSSocket) => onSocket(socket, peerNodeId(socket)));
      // Reading the address now caches it on the raw socket, where a failed handshake can still
      // name the peer after the TLS socket is gone.
      server.on("connection", (raw: Socket) => void raw.remoteAddress);
      server.on("tlsClientError", (error, socket) => {
        onRefused(describeClientFailure(error, socket));
        socket.destroy();
      });
      return server;
    },
    connect(host, port) {
      const socket = connect({ ...common, host, port, servername: isIP(host) === 0 ? host : undefined });
      return { socket, ready: "secureConnect" };
    },
    provenNodeIdOf: (socket: Socket) => peerNodeId(socket as TLSSocket),
  };
  return createSocketTransport(tls.nodeId, security, options);
}

/**
 * Node closes a client whose certificate fails verification without an error of its own (the
 * `tlsClientError` says "socket hang up"); the reason is on the socket.
 */
function describeClientFailure(error: Error, socket: TLSSocket): NetError {
  // `_parent` is the raw TCP socket under a server-side TLS socket (Node internal, hence the fallback).
  const raw = (socket as unknown as { _parent?: Socket })._parent;
  const address = socketPeerAddress(raw?.remoteAddress ? raw : socket);
  const rejected = socket.authorizationError as unknown;
  if (rejected !== undefined && rejected !== null) {
    return new NetError(
      "NET_TLS_FAILED",
      `TLS with ${address} failed: its certificate was refused (${String(rejected)}: is it signed by our --tls-ca and valid now?)`,
      { cause: error },
    );
  }
  return describeSocketError(error, address);
}

function peerNodeId(socket: TLSSocket): NodeId | undefined {
  const certificate = socket.getPeerX509Certificate();
  return certificate === undefined ? undefined : nodeIdFromCertificate(certificate.raw);
}
