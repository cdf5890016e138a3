import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";

/**
 * Reads a file a user named (a module, a config file, a PEM file), refusing what would make a
 * plain `readFile` hang or exhaust memory: a device or FIFO (`/dev/zero` never ends, a FIFO blocks
 * until a writer comes) and a file longer than `sizeBytesMax`.
 *
 * The file is opened non-blocking, so opening a FIFO returns at once and is refused by its type.
 * Reading stops one byte past the limit rather than trusting `st_size`, which procfs files report
 * as 0 and which a growing file outruns.
 *
 * Failures are `ErrnoException`s, so callers keep one switch over `code`: the system's own
 * (`ENOENT`, `EACCES`, `EISDIR` …) and two of this function's, `ENOTREG` (not a regular file) and
 * `EFBIG` (longer than the limit); {@link inputFileFailureReason} words them.
 */
export function readInputFile(path: string, sizeBytesMax: number): Buffer {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stats = fstatSync(fd);
    if (stats.isDirectory()) throw errnoError("EISDIR", path, "is a directory");
    if (!stats.isFile()) throw errnoError("ENOTREG", path, "is not a regular file");
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(Math.max(stats.size, 64 * 1024), sizeBytesMax + 1 - total));
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      total += read;
      if (total > sizeBytesMax) throw errnoError("EFBIG", path, `is larger than ${sizeBytesMax} bytes`);
      chunks.push(read === chunk.length ? chunk : chunk.subarray(0, read));
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

/** The reason of a {@link readInputFile} failure in words, for a one-line error; `undefined` for other codes. */
export function inputFileFailureReason(error: unknown, sizeBytesMax: number): string | undefined {
  switch ((error as NodeJS.ErrnoException).code) {
    case "ENOENT":
      return "no such file";
    case "EISDIR":
      return "is a directory, not a file";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "ENOTREG":
      return "is not a regular file (a device, pipe or socket cannot be read as one)";
    case "EFBIG":
      return `is larger than ${formatMib(sizeBytesMax)}, the most accepted`;
    default:
      return undefined;
  }
}

function formatMib(bytes: number): string {
  return `${bytes / (1024 * 1024)} MiB`;
}

function errnoError(code: string, path: string, what: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${path} ${what}`), { code, path });
}
