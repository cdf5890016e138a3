/**
 * The hosts one module's `http_fetch` may reach (`[modules.<id>] http_fetch_hosts`): each entry
 * is a host name or IP address (IPv6 in brackets), optionally with `:port`. Without a port it
 * allows the scheme's default port only (80 for http, 443 for https); with one, that port only.
 * Nothing else matches: no wildcards, no subdomains.
 */

const DEFAULT_PORTS: Readonly<Record<string, string>> = { "http:": "80", "https:": "443" };

interface AllowedHost {
  readonly hostname: string;
  /** Undefined: the scheme's default port. */
  readonly port: string | undefined;
}

function parseEntry(entry: string): AllowedHost | undefined {
  let url: URL;
  try {
    url = new URL(`http://${entry}`);
  } catch {
    return undefined;
  }
  const port = /:(\d{1,5})$/.exec(entry)?.[1];
  const expected = port === undefined ? url.hostname : `${url.hostname}:${port}`;
  if (expected !== entry.toLowerCase() || (port !== undefined && Number(port) > 65535)) return undefined;
  return { hostname: url.hostname, port: port === undefined ? undefined : String(Number(port)) };
}

/** Why an entry is refused, or undefined when it is valid; the text ends with a hint. */
export function fetchHostProblem(entry: string): string | undefined {
  if (parseEntry(entry) !== undefined) return undefined;
  return `"${entry}" is not a host with an optional port; write for example "api.example.com" or "127.0.0.1:8080" (no scheme, path or user)`;
}

/** The allowed hosts of one module; entries were checked with {@link fetchHostProblem}. */
export class FetchHostList {
  readonly #hosts: readonly AllowedHost[];

  constructor(entries: readonly string[]) {
    this.#hosts = entries.flatMap((entry) => parseEntry(entry) ?? []);
  }

  /** True when `url` (an http: or https: URL) may be fetched. */
  allows(url: URL): boolean {
    const port = url.port === "" ? DEFAULT_PORTS[url.protocol] : url.port;
    return this.#hosts.some(
      (allowed) =>
        allowed.hostname === url.hostname && (allowed.port ?? DEFAULT_PORTS[url.protocol]) === port,
    );
  }
}
