import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describeError } from "../errors/numax-error.ts";
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
 */
export interface CompiledGuest {
  readonly module: WebAssembly.Module;
  /** Imports with their declared types (unchanged by instrumentation). */
  readonly imports: readonly ImportDescriptor[];
  /** The guest had a start function, exported for the runtime to call. */
  readonly hasStart: boolean;
  /** Export names of exported functions by function index, to name them in trap messages. */
  readonly exportedFunctions: ReadonlyMap<number, string>;
}

export interface ModuleCacheOptions {
  /** Directory of the disk level; undefined keeps the cache in process only. */
  readonly directory: string | undefined;
  readonly logger: Logger;
}

export function moduleCacheKey(
  sha256Hex: string,
  instrumentationVersion: number,
  memoryMaxBytes: number,
): string {
  return `${sha256Hex}-i${instrumentationVersion}-m${memoryMaxBytes}`;
}

export class ModuleCache {
  readonly #directory: string | undefined;
  readonly #logger: Logger;
  readonly #compiled = new Map<string, CompiledGuest>();
  #directoryReady = false;

  constructor(options: ModuleCacheOptions) {
    this.#directory = options.directory;
    this.#logger = options.logger;
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
    return this.#directory === undefined ? undefined : join(this.#directory, `${key}.wasm`);
  }

  /** The instrumented bytes stored for `key`, or undefined when absent or unreadable. */
  async readInstrumented(key: string): Promise<Uint8Array | undefined> {
    const path = this.pathOf(key);
    if (path === undefined) return undefined;
    try {
      return await readFile(path);
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

  /** Stores instrumented bytes; a failure (read-only disk, full disk) only costs the next run time. */
  async writeInstrumented(key: string, bytes: Uint8Array): Promise<void> {
    const path = this.pathOf(key);
    if (path === undefined || this.#directory === undefined) return;
    const temporary = `${path}.${process.pid}.tmp`;
    try {
      if (!this.#directoryReady) {
        await mkdir(this.#directory, { recursive: true });
        this.#directoryReady = true;
      }
      await writeFile(temporary, bytes);
      await rename(temporary, path);
    } catch (error) {
      this.#logger.warn("cannot write the module cache; the next run instruments again", {
        path,
        error: describeError(error),
      });
    }
  }
}
