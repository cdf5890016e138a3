import { connect } from "node:net";
import type { NodeId } from "../identity/node-id.ts";
import { createSocketTransport, type SocketSecurity } from "./socket-transport.ts";
import type { Transport, TransportOptions } from "./transport.ts";

export interface TcpTransportOptions<Op> extends TransportOptions<Op> {
  /** This node's NodeId (random and persisted by the node when TLS is off). */
  readonly nodeId: NodeId;
}

/**
 * Plain TCP for `--tls-insecure`: no encryption, and a peer's NodeId is whatever its Hello
 * claims (the allowlist still applies, but anyone can claim an allowed NodeId). For local
 * development only; the caller logs a loud warning when it builds one.
 */
export function createTcpTransport<Op>(options: TcpTransportOptions<Op>): Transport<Op> {
  const security: SocketSecurity = {
    authenticated: false,
    createAcceptor() {
      return (raw, onSecured) => onSecured(raw, undefined);
    },
    connect(host, port) {
      return { socket: connect({ host, port }), ready: "connect" };
    },
    verifyReady: () => undefined,
    provenNodeIdOf: () => undefined,
  };
  return createSocketTransport(options.nodeId, security, options);
}
