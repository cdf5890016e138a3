/**
 * Where a guest's stdout / stderr bytes go. With one module they pass through unchanged the
 * moment the guest writes them; with several, each complete line is prefixed with the module's
 * name so interleaved output stays attributable, and a last unterminated line is written (with a
 * newline) when the module ends.
 */
export interface OutputSink {
  write(bytes: Uint8Array): void;
  /** Writes what is still buffered; call when the guest ended. */
  end(): void;
}

export interface ByteStream {
  write(bytes: Uint8Array | string): unknown;
}

export function passthroughSink(stream: ByteStream): OutputSink {
  return {
    write: (bytes) => {
      stream.write(bytes);
    },
    end: () => {},
  };
}

/** Longest partial line kept while waiting for its newline; longer ones are written as they are. */
const PARTIAL_LINE_BYTES_MAX = 64 * 1024;

const NEWLINE = 0x0a;

export function prefixedLineSink(stream: ByteStream, prefix: string): OutputSink {
  const prefixBytes = new TextEncoder().encode(prefix);
  let partial: Uint8Array[] = [];
  let partialBytes = 0;

  const emit = (tail: Uint8Array, newline: boolean) => {
    const line = new Uint8Array(prefixBytes.length + partialBytes + tail.length + (newline ? 1 : 0));
    line.set(prefixBytes, 0);
    let offset = prefixBytes.length;
    for (const chunk of partial) {
      line.set(chunk, offset);
      offset += chunk.length;
    }
    line.set(tail, offset);
    if (newline) line[line.length - 1] = NEWLINE;
    partial = [];
    partialBytes = 0;
    stream.write(line);
  };

  return {
    write(bytes) {
      let start = 0;
      for (let newline = bytes.indexOf(NEWLINE); newline !== -1; newline = bytes.indexOf(NEWLINE, start)) {
        emit(bytes.subarray(start, newline), true);
        start = newline + 1;
      }
      if (start < bytes.length) {
        partial.push(bytes.slice(start));
        partialBytes += bytes.length - start;
        if (partialBytes > PARTIAL_LINE_BYTES_MAX) emit(new Uint8Array(0), true);
      }
    },
    end() {
      if (partialBytes > 0) emit(new Uint8Array(0), true);
    },
  };
}
