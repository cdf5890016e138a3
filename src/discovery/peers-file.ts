import { formatSocketAddress, parseSocketAddress } from "../config/socket-address.ts";

/** Largest peers file read; a larger one is refused (one warning) and the last good set kept. */
export const PEERS_FILE_BYTES_MAX = 1024 * 1024;

export interface PeersFileLines {
  /** Addresses in file order, normalized (`host:port`, `[ipv6]:port`). */
  readonly addresses: string[];
  /** Lines that are not an address: line number (from 1) and why. */
  readonly problems: { readonly line: number; readonly message: string }[];
}

/**
 * Parses a peers file: one `host:port` per line, `#` starts a comment, blank lines are skipped.
 *
 * @example
 * parsePeersFile("10.0.0.2:9000\n# db\n[::1]:9000 # local\n");
 * // { addresses: ["10.0.0.2:9000", "[::1]:9000"], problems: [] }
 */
export function parsePeersFile(text: string): PeersFileLines {
  const addresses: string[] = [];
  const problems: { line: number; message: string }[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const entry = lines[i].replace(/#.*$/, "").trim();
    if (entry === "") continue;
    try {
      addresses.push(formatSocketAddress(parseSocketAddress(entry, { allowPortZero: false })));
    } catch (error) {
      problems.push({ line: i + 1, message: (error as Error).message });
    }
  }
  return { addresses, problems };
}
