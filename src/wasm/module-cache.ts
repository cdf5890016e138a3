import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { describeError } from "../errors/numax-error.ts";
import { childPath } from "../fs/child-path.ts";
import type { Logger } from "../observe/logger.ts";
import type { ImportDescriptor } from "./module-imports.ts";

/**
 * Compiled guest modules, kept at two levels:
 *
 * - **in process**: the `WebAssembly.Module` itself, keyed by {@link moduleCacheKey}; a second
 *   instance of the same module only instantiates (well under a millisecond);
 * - **on disk** (`<datastore>/module-cache/<key>.wasm`): the instrumented bytes, so a new process
 *   skips validation, parsing and instrumentation and only compiles. V8 offers no supported way
 *   to persist its compiled wasm code across processes in Node 26 (`v8.serialize` of a Module
 *   yields a transfer id, not code; the streaming code cache needs an embedder hook Node does
 *   not set), and Liftoff compiles lazily and fast, so the instrumented bytes are what is worth
 *   keeping. See docs/design/sandbox.md for the figures.
 *
 * Entries never go stale: the key covers the original bytes, the instrumentation version and
 * every option baked into the output. Writes are atomic (temp file, then rename); a file that
 * fails to compile is treated as absent and overwritten.
 *
 * The disk level also remembers each module file's SHA-256 by its {@link FileStamp}
 * (`<directory>/stamps/`), so that a run of an unchanged file finds its entry without hashing
 * it: loading node:crypto alone takes about 7 ms, a tenth of a tiny `nx run`. It is git's index
 * rule: device, inode, size, modification and change time all equal means the same content. A
 * stamp is recorded only once the file has been unchanged for {@link STAMP_SETTLED_MS}, so a
 * file rewritten within one tick of a coarse file-system clock can never keep an old stamp.
 *
 * Its file-system calls are synchronous: modules load at start, before the node serves anything,
 * and a round trip through the thread pool per call costs more than the small reads themselves.
 */
export interface CompiledGuest {
  readonly module: WebAssembly.Module;
  /** Imports with their declared types (unchanged by instrumentation). */
  readonly imports: readonly ImportDescriptor[];
  /** The guest had a start function, exported for the runtime to call. */
  readonly hasStart: boolean;
  /** Export names of exported functions by function index, to name them in trap messages. */
  readonly exportedFunctions: ReadonlyMap<number, string>;
  /** Names of the exported functions of type `() -> ()`: what may run as an entry or HTTP handler. */
  readonly nullaryExports: ReadonlySet<string>;
  /**
   * A function of the guest may catch what a host function throws through it (a `try` or
   * `try_table`, CATCHES_MARKER_EXPORT): a stop ends its wait with a zero, on which the stop
   * check after the call traps, not by throwing (FuelGovernor.suspend's `unwind`).
   */
  readonly catchesExceptions: boolean;
}

export interface ModuleCacheOptions {
  /**
   * Directory of the disk level, absolute and normalized (entry paths are made by concatenation:
   * src/fs/child-path.ts); undefined keeps the cache in process only.
   */
  readonly directory: string | undefined;
  readonly logger: Logger;
  /** Wall clock in ms, compared with file times; default Date.now. */
  readonly nowMs?: () => number;
}

/** What identifies a file's content without reading it (from a `bigint` stat: times in ns). */
export interface FileStamp {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
}

/** How long a file must have been unchanged before its stamp is trusted. */
export const STAMP_SETTLED_MS = 3_000;

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function moduleCacheKey(
  sha256Hex: string,
  instrumentationVersion: number,
  memoryMaxBytes: number,
): string {
  return `${sha256Hex}-i${instrumentationVersion}-m${memoryMaxBytes}`;
}

export class ModuleCache {
  readonly #directory: string | undefined;
  readonly #stampsDirectory: string | undefined;
  readonly #logger: Logger;
  readonly #compiled = new Map<string, CompiledGuest>();
  readonly #nowMs: () => number;
  #directoryReady = false;

  constructor(options: ModuleCacheOptions) {
    this.#directory = options.directory;
    this.#stampsDirectory =
      options.directory === undefined ? undefined : childPath(options.directory, "stamps");
    this.#logger = options.logger;
    this.#nowMs = options.nowMs ?? Date.now;
  }

  get directory(): string | undefined {
    return this.#directory;
  }

  compiled(key: string): CompiledGuest | undefined {
    return this.#compiled.get(key);
  }

  rememberCompiled(key: string, compiled: CompiledGuest): void {
    this.#compiled.set(key, compiled);
  }

  pathOf(key: string): string | undefined {
    return this.#directory === undefined ? undefined : childPath(this.#directory, `${key}.wasm`);
  }

  /** The instrumented bytes stored for `key`, or undefined when absent or unreadable. */
  readInstrumented(key: string): Uint8Array | undefined {
    const path = this.pathOf(key);
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
        this.#logger.warn("module cache entry unreadable; instrumenting again", {
          path,
          error: describeError(error),
        });
      }
      return undefined;
    }
  }

  #stampPath(stamp: FileStamp): string | undefined {
    if (this.#stampsDirectory === undefined) return undefined;
    const { dev, ino, size, mtimeNs, ctimeNs } = stamp;
    return childPath(this.#stampsDirectory, `${dev}-${ino}-${size}-${mtimeNs}-${ctimeNs}`);
  }

  /** The SHA-256 (hex) recorded for a file with exactly this stamp, or undefined. */
  sha256OfStamp(stamp: FileStamp): string | undefined {
    const path = this.#stampPath(stamp);
    if (path === undefined) return undefined;
    try {
      const sha256 = readFileSync(path, "latin1");
      return SHA256_HEX.test(sha256) ? sha256 : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Records the SHA-256 of the file `stamp` was taken of (before reading it), once the file has
   * been unchanged for {@link STAMP_SETTLED_MS}; a failure only costs the next run a hash.
   */
  rememberStamp(stamp: FileStamp, sha256: string): void {
    const path = this.#stampPath(stamp);
    if (path === undefined) return;
    const changedMs = Math.max(Number(stamp.mtimeNs / 1_000_000n), Number(stamp.ctimeNs / 1_000_000n));
    if (this.#nowMs() - changedMs < STAMP_SETTLED_MS) return;
    const temporary = `${path}.${process.pid}.tmp`;
    try {
      mkdirSync(this.#stampsDirectory!, { recursive: true });
      writeFileSync(temporary, sha256, "latin1");
      renameSync(temporary, path);
    } catch (error) {
      this.#logger.warn("cannot record the module file's stamp; the next run hashes it again", {
        path,
        error: describeError(error),
      });
    }
  }

  /** Stores instrumented bytes; a failure (read-only disk, full disk) only costs the next run time. */
  writeInstrumented(key: string, bytes: Uint8Array): void {
    const path = this.pathOf(key);
    if (path === undefined || this.#directory === undefined) return;
    const temporary = `${path}.${process.pid}.tmp`;
    try {
      if (!this.#directoryReady) {
        mkdirSync(this.#directory, { recursive: true });
        this.#directoryReady = true;
      }
      writeFileSync(temporary, bytes);
      renameSync(temporary, path);
    } catch (error) {
      this.#logger.warn("cannot write the module cache; the next run instruments again", {
        path,
        error: describeError(error),
      });
    }
  }
}
