import { isIP } from "node:net";
import { NetError } from "./net-error.ts";

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

const HOST_PORT = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):([0-9]{1,5})$/;

/** Parses `host:port` or `[ipv6]:port` (port 0 lets the system choose when listening). */
export function parseHostPort(address: string): HostPort {
  const match = HOST_PORT.exec(address);
  const port = match ? Number(match[3]) : Number.NaN;
  if (!match || port > 65535 || (match[1] !== undefined && isIP(match[1]) !== 6)) {
    throw new NetError(
      "NET_ADDRESS_INVALID",
      `invalid address "${address}": expected host:port, for example 127.0.0.1:9000 or [::1]:9000`,
    );
  }
  return { host: match[1] ?? match[2], port };
}

/** `localhost`, `::1` or an address of 127.0.0.0/8: reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** `0.0.0.0` or `::`: a listener on every interface, not an address to dial. */
export function isUnspecifiedHost(host: string): boolean {
  return host === "0.0.0.0" || host === "::";
}

export function formatHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}
