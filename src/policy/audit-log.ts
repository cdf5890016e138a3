import { createWriteStream, type WriteStream } from "node:fs";
import type { Logger } from "../observe/logger.ts";
import { asHostFunction, forwarding } from "../wasm/abi/host-call-forwarding.ts";
import type { HostCallLog } from "../wasm/abi/host-call-log.ts";

/** Bytes of audit lines waiting for the disk; beyond, lines are dropped and counted (a slow disk never grows the heap). */
export const AUDIT_LOG_BUFFER_BYTES_MAX = 4 * 1024 * 1024;

/** One line of the audit log: a sampled host call, or a denial (always written). */
export type AuditRecord =
  | {
      readonly kind: "call";
      readonly module: string;
      readonly call: string;
      /** The host function's answer: a number, `void`, `async` (a suspending call), or `error` when it threw. */
      readonly result: number | string;
      /** Calls of this function by this module since the last line about it, this one included. */
      readonly calls: number;
    }
  | {
      readonly kind: "denied";
      readonly module: string;
      readonly call: string;
      readonly capability: string;
      readonly key?: string;
    };

/**
 * The node's audit log: JSON lines (`{"time":...,"kind":"call"|"denied",...}`) appended to one
 * file for every module, written through a stream; a line that would pass
 * {@link AUDIT_LOG_BUFFER_BYTES_MAX} of unwritten bytes is dropped, and the next line written
 * carries `dropped` (the count).
 */
export class AuditLog {
  readonly #stream: WriteStream;
  readonly #nowMs: () => number;
  readonly #sampleEvery: number;
  #dropped = 0;

  constructor(options: { path: string; sampleEvery: number; nowMs: () => number; logger: Logger }) {
    this.#stream = createWriteStream(options.path, { flags: "a" });
    this.#stream.on("error", (error) =>
      options.logger.warn(`audit log ${options.path}: ${error.message}; no more lines`),
    );
    this.#nowMs = options.nowMs;
    this.#sampleEvery = options.sampleEvery;
  }

  write(record: AuditRecord): void {
    if (this.#stream.writableLength > AUDIT_LOG_BUFFER_BYTES_MAX || this.#stream.destroyed) {
      this.#dropped++;
      return;
    }
    const line: Record<string, unknown> = { time: new Date(this.#nowMs()).toISOString(), ...record };
    if (this.#dropped > 0) line.dropped = this.#dropped;
    this.#dropped = 0;
    this.#stream.write(`${JSON.stringify(line)}\n`);
  }

  /** The host-call log of module `moduleId`: one call in `sampleEvery` of each function, with its result. */
  forModule(moduleId: string): HostCallLog {
    const every = this.#sampleEvery;
    return {
      wrap: <Args extends unknown[], Result>(module: string, name: string, fn: (...args: Args) => Result) => {
        const call = `${module}.${name}`;
        let calls = 0;
        const forward = forwarding(fn);
        return asHostFunction<Args, Result>((a, b, c, d, e, f, g, h, i): Result => {
          if (++calls < every) return forward(a, b, c, d, e, f, g, h, i);
          const sampled = calls;
          calls = 0;
          let result: number | string = "error";
          try {
            const value = forward(a, b, c, d, e, f, g, h, i);
            result =
              typeof value === "number" || typeof value === "bigint"
                ? Number(value)
                : value === undefined
                  ? "void"
                  : "async";
            return value;
          } finally {
            this.write({ kind: "call", module: moduleId, call, result, calls: sampled });
          }
        });
      },
    };
  }

  /** Flushes what is buffered and closes the file. */
  close(): Promise<void> {
    return new Promise((resolve) => this.#stream.end(resolve));
  }
}
