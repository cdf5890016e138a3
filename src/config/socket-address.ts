import { NumaxError } from "../errors/numax-error.ts";

/** A TCP endpoint: `host` is a hostname, an IPv4 address or an IPv6 address without brackets. */
export interface SocketAddress {
  readonly host: string;
  readonly port: number;
}

const HOSTNAME_PATTERN =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function invalid(text: string, why: string): NumaxError {
  return new NumaxError("USAGE_INVALID_ADDRESS", `invalid address "${text}": ${why}`);
}

/**
 * Parses `host:port` (`0.0.0.0:9000`, `node-2.local:9000`, `[::1]:9000`). Port 0 asks the OS for
 * a free port, which only makes sense for a listening address: callers that dial pass
 * `allowPortZero: false`.
 */
export function parseSocketAddress(text: string, options: { allowPortZero: boolean }): SocketAddress {
  let host: string;
  let portText: string;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0 || text[close + 1] !== ":") throw invalid(text, "expected [ipv6]:port, e.g. [::1]:9000");
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (ipVersion(host) !== 6) throw invalid(text, `"${host}" is not an IPv6 address`);
  } else {
    const colon = text.lastIndexOf(":");
    if (colon < 0) throw invalid(text, "expected host:port, e.g. 0.0.0.0:9000");
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(":")) throw invalid(text, "write IPv6 addresses in brackets, e.g. [::1]:9000");
    if (host.length === 0) throw invalid(text, "missing host (use 0.0.0.0 to listen on every interface)");
    if (ipVersion(host) === 0 && !HOSTNAME_PATTERN.test(host))
      throw invalid(text, `"${host}" is not a valid host name`);
  }
  if (!/^\d{1,5}$/.test(portText)) throw invalid(text, `port "${portText}" is not a number from 0 to 65535`);
  const port = Number(portText);
  if (port > 65535) throw invalid(text, `port ${port} is above 65535`);
  if (port === 0 && !options.allowPortZero)
    throw invalid(text, "port 0 only makes sense for a listening address");
  return { host, port };
}

/** `host:port`, with brackets around IPv6 hosts; the inverse of parseSocketAddress. */
export function formatSocketAddress(address: SocketAddress): string {
  return address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** node:net's isIP, loaded on first use: node:net costs ~5 ms at start-up and most configs have no address. */
function ipVersion(host: string): number {
  return process.getBuiltinModule("node:net").isIP(host);
}
