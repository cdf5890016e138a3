import { networkInterfaces } from "node:os";
import { isUnspecifiedHost, parseHostPort } from "../net/host-port.ts";

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

/**
 * Whether dialing `peer` would reach this node's own listener at `listen` (both `host:port`): the
 * same address, or, for a listener on every interface, the same port on a loopback or a local
 * interface address. A peer list shared by every node of a cluster names each node's own address;
 * a dial to it would only be refused by this node itself, and the dialer cannot tell that refusal
 * from another peer's (the wire says "rejected").
 */
export function isOwnAddress(peer: string, listen: string): boolean {
  let target: { host: string; port: number };
  let own: { host: string; port: number };
  try {
    target = parseHostPort(peer);
    own = parseHostPort(listen);
  } catch {
    return false;
  }
  if (target.port !== own.port) return false;
  if (target.host === own.host) return true;
  if (LOOPBACK.has(own.host) && LOOPBACK.has(target.host)) return true;
  if (!isUnspecifiedHost(own.host)) return false;
  if (LOOPBACK.has(target.host)) return true;
  return Object.values(networkInterfaces()).some((addresses) =>
    (addresses ?? []).some((address) => address.address === target.host),
  );
}
