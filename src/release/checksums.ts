import { createHash } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";
import { ReleaseError } from "./release-error.ts";

/** The checksum file of a release, in `sha256sum`'s format: `sha256sum -c SHA256SUMS` checks it. */
export const CHECKSUMS_FILE = "SHA256SUMS";
/** Its detached signature (src/net/pki/detached-signature.ts). */
export const CHECKSUMS_SIGNATURE_FILE = `${CHECKSUMS_FILE}.sig`;
/** Longest `SHA256SUMS` read: a release lists a handful of files, 80 bytes each. */
export const RELEASE_CHECKSUMS_BYTES_MAX = 1024 * 1024;

/** One line of `SHA256SUMS`: a file of the release directory and its SHA-256 in hex. */
export interface Checksum {
  readonly name: string;
  readonly sha256: string;
}

/** Read in pieces of this size: the executable is about 180 MB. */
const HASH_CHUNK_BYTES = 1024 * 1024;

/** The SHA-256 of the file at `path`, in hex. */
export function sha256OfFile(path: string): string {
  const hash = createHash("sha256");
  const fd = openSync(path, "r");
  try {
    const chunk = Buffer.allocUnsafe(HASH_CHUNK_BYTES);
    for (let read = readSync(fd, chunk); read > 0; read = readSync(fd, chunk)) {
      hash.update(chunk.subarray(0, read));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}

/** A name `SHA256SUMS` may list: a file in the release directory itself, never a path. */
function isPlainFileName(name: string): boolean {
  return name !== "." && name !== ".." && !/[/\\\n\0]/.test(name) && name.length > 0;
}

/** `SHA256SUMS`'s text: `<hex>  <name>` per file (two spaces: text mode), sorted by name. */
export function formatChecksums(checksums: readonly Checksum[]): string {
  return [...checksums]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map(({ name, sha256 }) => `${sha256}  ${name}\n`)
    .join("");
}

const LINE = /^([0-9a-f]{64}) [ *](.+)$/;

/**
 * The checksums of `text`, as `sha256sum` writes them (text ` ` or binary `*` mode). Throws a
 * {@link ReleaseError} `RELEASE_CHECKSUMS_INVALID` naming the first bad line (an empty file's
 * first line is one).
 */
export function parseChecksums(text: string): Checksum[] {
  const lines = text.endsWith("\n") ? text.slice(0, -1).split("\n") : text.split("\n");
  const checksums = lines.map((line, index) => {
    const match = LINE.exec(line);
    if (match === null || !isPlainFileName(match[2]!)) {
      throw new ReleaseError(
        "RELEASE_CHECKSUMS_INVALID",
        `${CHECKSUMS_FILE} line ${index + 1} is not "<sha256 in hex>  <file name>" naming a file beside it`,
      );
    }
    return { sha256: match[1]!, name: match[2]! };
  });
  return checksums;
}
