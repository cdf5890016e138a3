import { writeSync } from "node:fs";

/** What {@link stdioWriter} writes to: the process's stdout or stderr. */
export interface StdioWrite {
  write(bytes: Uint8Array | string): unknown;
}

/** The stream a {@link stdioWriter} hands bytes to once write(2) failed: `process.stdout` or `process.stderr`. */
export interface StdioStream extends StdioWrite {
  on(event: "error", listener: (error: NodeJS.ErrnoException) => void): unknown;
}

/**
 * A writer of the process's stdout (`fd` 1) or stderr (2) that writes with write(2) itself
 * while it can, and hands what is left to `stream()` (`process.stdout` or `process.stderr`)
 * from the first write that fails on. Everything `nx run` writes to stdout and stderr (guest
 * output, log lines, `nx: error:` lines, printed values) goes through {@link processStdout} and
 * {@link processStderr}, so bytes keep their order across the two ways.
 *
 * Why: the first use of `process.stdout` or `process.stderr` loads Node's streams, and net and
 * tty for a pipe or a terminal, about 2-3 ms of CPU, more than a small `nx run` spends on its
 * guest (bench/run-startup.ts). To a file or a terminal those streams write synchronously too.
 * To a pipe or a socket whose reader lags, a stream queues the bytes in memory without bound;
 * written directly, the write waits for the reader instead (as the json logger's writes, pino's
 * synchronous destination, always have): the process stalls while its reader does, and its
 * memory stays bounded. A failed write (EAGAIN on a descriptor another process made
 * non-blocking) goes to the stream, which queues it or reports it as
 * it always did; later bytes follow it there, in order (a write the stream fails later, EPIPE included, drops
 * the rest as below rather than end the process). A reader that left is the exception
 * (EPIPE; ECONNRESET when the descriptor is a socket, as Node's `pipe` stdio and journald's are,
 * and bytes were still unread): later bytes are dropped (one line on stderr says so for stdout). On Windows (neither measured nor tested
 * here) every byte goes to the stream.
 */
export function stdioWriter(
  fd: number,
  stream: () => StdioStream,
  readerLeft: (code: string) => void = () => {},
): StdioWrite {
  let closed = false;
  const leave = (code: string): false => {
    closed = true;
    readerLeft(code);
    return false;
  };
  let handedOver: StdioStream | undefined;
  /** The stream, listened to: its write failing later (EPIPE) emits an 'error' that would end the process. */
  const streamed = (): StdioStream => {
    if (handedOver === undefined) {
      handedOver = stream();
      handedOver.on("error", (error) => leave(error.code ?? error.message));
    }
    return handedOver;
  };
  let direct = process.platform !== "win32";
  return {
    write(bytes) {
      if (closed) return false;
      if (!direct) return streamed().write(bytes);
      const buffer = typeof bytes === "string" ? Buffer.from(bytes) : bytes;
      let written = 0;
      try {
        while (written < buffer.length) written += writeSync(fd, buffer, written);
        return true;
      } catch (error) {
        // The reader left (`nx run app.wasm | head`): handed to the stream, the bytes raised an
        // 'error' nobody listens for, and the process died with a stack trace. Like other tools,
        // stop writing there; unlike them, the node keeps running (its writes are not output).
        const { code } = error as NodeJS.ErrnoException;
        if (code === "EPIPE" || code === "ECONNRESET") return leave(code);
        direct = false;
        return streamed().write(buffer.subarray(written));
      }
    },
  };
}

/** The process's stderr, written by {@link stdioWriter}. */
export const processStderr: StdioWrite = stdioWriter(2, () => process.stderr);

/** The process's stdout, written by {@link stdioWriter}; its reader leaving is said once on stderr. */
export const processStdout: StdioWrite = stdioWriter(
  1,
  () => process.stdout,
  (code) => processStderr.write(`nx: stdout was closed by its reader (${code}): further output is dropped\n`),
);
