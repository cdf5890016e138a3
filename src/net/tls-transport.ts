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
    createAcceptor(limits, onRefused) {
      // Never listens itself: the transport's TCP server admits each socket first and hands it
      // over through the documented `connection` event, so unadmitted sockets cost no TLS work.
      const server = createServer({
        ...common,
        requestCert: true,
        rejectUnauthorized: true,
        handshakeTimeout: limits.handshakeTimeoutMs,
      });
      const waiting = new Map<string, (socket: Socket, provenNodeId: NodeId | undefined) => void>();
      server.on("secureConnection", (socket: TLSSocket) => {
        const key = socketPeerAddress(socket);
        const onSecured = waiting.get(key);
        waiting.delete(key);
        if (onSecured === undefined) socket.destroy();
        else onSecured(socket, peerNodeId(socket));
      });
      server.on("tlsClientError", (error, socket) => {
        onRefused(describeClientFailure(error, socket), socket.remoteAddress);
        socket.destroy();
      });
      return (raw, onSecured) => {
        // Keyed by the peer's address and port, read now: a failed handshake can still be named.
        const key = socketPeerAddress(raw);
        waiting.set(key, onSecured);
        raw.once("close", () => waiting.delete(key));
        server.emit("connection", raw);
      };
    },
    connect(host, port) {
      // Verified in `verifyReady` instead of by Node: the handshake then completes, so a peer we
      // refuse has seen our certificate and logs its own reason too, and ours is a clear line.
      const socket = connect({
        ...common,
        host,
        port,
        servername: isIP(host) === 0 ? host : undefined,
        rejectUnauthorized: false,
      });
      return { socket, ready: "secureConnect" };
    },
    verifyReady(socket, address) {
      const tlsSocket = socket as TLSSocket;
      if (tlsSocket.authorized) return undefined;
      const code = String(tlsSocket.authorizationError ?? "UNKNOWN");
      const nodeId = peerNodeId(tlsSocket);
      return new NetError(
        "NET_TLS_FAILED",
        `refused peer ${nodeId ?? "(no certificate)"} at ${address}: its certificate ${certificateProblem(code)}`,
      );
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
      `TLS with ${address} failed: its certificate ${certificateProblem(String(rejected))}`,
      { cause: error },
    );
  }
  return describeSocketError(error, address);
}

/** What an OpenSSL verification code means for a cluster member, with what to check. */
function certificateProblem(code: string): string {
  switch (code) {
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "UNABLE_TO_GET_ISSUER_CERT":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
    case "SELF_SIGNED_CERT_IN_CHAIN":
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "CERT_SIGNATURE_FAILURE":
      return `is not signed by our CA (${code}: a node of another cluster, or a different --tls-ca on each side?)`;
    case "CERT_HAS_EXPIRED":
      return `has expired (${code}: issue a new one with nx cert node)`;
    case "CERT_NOT_YET_VALID":
      return `is not valid yet (${code}: check both machines' clocks)`;
    case "ERR_TLS_CERT_ALTNAME_INVALID":
      return `does not name the address we dialed (${code}: issue it with nx cert node --san <address>)`;
    default:
      return `was refused (${code}: is it signed by our --tls-ca and valid now?)`;
  }
}

function peerNodeId(socket: TLSSocket): NodeId | undefined {
  const certificate = socket.getPeerX509Certificate();
  return certificate === undefined ? undefined : nodeIdFromCertificate(certificate.raw);
}
