import { hash } from "node:crypto";
import { statSync } from "node:fs";
import { basename, extname } from "node:path";
import { monotonicMs } from "../clock/monotonic-clock.ts";
import { describeError } from "../errors/numax-error.ts";
import { inputFileFailureReason, readInputFile } from "../fs/read-input-file.ts";
import type { Logger } from "../observe/logger.ts";
import { EXPORT_FUNCTION, functionTypeOf, readModuleLayout } from "./binary/module-layout.ts";
import { CATCHES_MARKER_EXPORT, INSTRUMENTATION_VERSION, START_EXPORT } from "./guest-exports.ts";
import { type CompiledGuest, type FileStamp, type ModuleCache, moduleCacheKey } from "./module-cache.ts";
import { readImports } from "./module-imports.ts";
import { ModuleLoadError } from "./module-load-error.ts";

/**
 * The longest `.wasm` file `nx run` reads (256 MiB). V8 compiles modules up to 1 GiB, but a guest
 * that large is a mistake (or a device path), and the whole file is held in memory to hash and
 * instrument it.
 */
export const GUEST_MODULE_BYTES_MAX = 256 * 1024 * 1024;

/**
 * A guest module ready to instantiate: validated, instrumented (fuel checks, memory cap) and
 * compiled, with what the runtime needs to know about it.
 */
export interface GuestModule extends CompiledGuest {
  /** How the user named the module (its path); used in every message about it. */
  readonly label: string;
  /** What `nx.module_id` answers: the file name without `.wasm`. */
  readonly moduleId: string;
  /** SHA-256 of the original bytes, hex. */
  readonly sha256: string;
  /** The memory cap compiled into the module, in bytes. */
  readonly memoryMaxBytes: number;
  /** Where the compiled module came from: instrumented now, or one of the two cache levels. */
  readonly origin: "instrumented" | "disk-cache" | "process-cache";
}

export interface LoadGuestModuleOptions {
  readonly memoryMaxBytes: number;
  readonly cache: ModuleCache;
  readonly logger: Logger;
}

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

function notWasmDetail(bytes: Uint8Array): string {
  if (bytes.length === 0) return "is empty, not a WebAssembly module";
  const head = new TextDecoder().decode(bytes.subarray(0, 64)).trimStart();
  if (head.startsWith("(module") || head.startsWith(";;")) {
    return "is WebAssembly text (.wat), not a binary module: compile it first (for example with wat2wasm)";
  }
  return "is not a WebAssembly module (it does not start with the \\0asm magic number)";
}

/** Characters a module id given by name (`POST /modules?id=`, `[[modules]] id`) may use; ids from file names are not restricted. */
const MODULE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** Longest module id given by name, in characters. */
export const MODULE_ID_LENGTH_MAX = 128;

/** Whether `id` may name a module: 1 to MODULE_ID_LENGTH_MAX letters, digits and _ . -, starting with a letter or digit. */
export function isValidModuleId(id: string): boolean {
  return id.length <= MODULE_ID_LENGTH_MAX && MODULE_ID_PATTERN.test(id);
}

export function moduleIdOf(path: string): string {
  const name = basename(path);
  return extname(name) === ".wasm" ? name.slice(0, -".wasm".length) : name;
}

/** Reads, checks and compiles the module at `path`; every failure is a one-line {@link ModuleLoadError}. */
export async function loadGuestModuleFile(
  path: string,
  options: LoadGuestModuleOptions,
): Promise<GuestModule> {
  // The stamp is taken before the bytes are read: a file changed in between gets a new stamp,
  // so the one recorded below can only ever stand for the bytes hashed.
  let stamp: FileStamp | undefined;
  try {
    const stats = statSync(path, { bigint: true });
    stamp = {
      dev: stats.dev,
      ino: stats.ino,
      size: stats.size,
      mtimeNs: stats.mtimeNs,
      ctimeNs: stats.ctimeNs,
    };
  } catch {
    stamp = undefined; // reading the file says why
  }
  let bytes: Uint8Array;
  try {
    bytes = readInputFile(path, GUEST_MODULE_BYTES_MAX);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new ModuleLoadError("not_found", path, "not found");
    if (code === "EISDIR") throw new ModuleLoadError("unreadable", path, "is a directory, not a .wasm file");
    const reason = inputFileFailureReason(error, GUEST_MODULE_BYTES_MAX) ?? describeError(error);
    throw new ModuleLoadError("unreadable", path, `cannot be read: ${reason}`, { cause: error });
  }
  checkMagic(bytes, path);
  const known = stamp === undefined ? undefined : options.cache.sha256OfStamp(stamp);
  const sha256 = known ?? hash("sha256", bytes);
  if (stamp !== undefined && known === undefined) options.cache.rememberStamp(stamp, sha256);
  return loadHashed(bytes, sha256, path, options);
}

/** As {@link loadGuestModuleFile}, from bytes already in memory; `label` names the module in messages. */
export async function loadGuestModuleBytes(
  bytes: Uint8Array,
  label: string,
  options: LoadGuestModuleOptions,
): Promise<GuestModule> {
  checkMagic(bytes, label);
  return loadHashed(bytes, hash("sha256", bytes), label, options);
}

function checkMagic(bytes: Uint8Array, label: string): void {
  if (bytes.length < 8 || WASM_MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new ModuleLoadError("not_wasm", label, notWasmDetail(bytes));
  }
}

async function loadHashed(
  bytes: Uint8Array,
  sha256: string,
  label: string,
  options: LoadGuestModuleOptions,
): Promise<GuestModule> {
  const key = moduleCacheKey(sha256, INSTRUMENTATION_VERSION, options.memoryMaxBytes);
  const identity = { label, moduleId: moduleIdOf(label), sha256, memoryMaxBytes: options.memoryMaxBytes };
  const logger = options.logger;

  const inProcess = options.cache.compiled(key);
  if (inProcess !== undefined) {
    logger.debug("module cache hit (process)", { module: label });
    return { ...inProcess, ...identity, origin: "process-cache" };
  }

  const cached = options.cache.readInstrumented(key);
  if (cached !== undefined) {
    try {
      const compiled = await compileInstrumented(cached);
      options.cache.rememberCompiled(key, compiled);
      logger.debug("module cache hit (disk): instrumentation skipped", { module: label, key });
      return { ...compiled, ...identity, origin: "disk-cache" };
    } catch (error) {
      logger.warn("module cache entry is corrupt; instrumenting again", {
        module: label,
        error: describeError(error),
      });
    }
  }

  const startedMs = monotonicMs();
  // The instrumenter is only needed on a cache miss: a cached run does not load it at all.
  const { validateAndInstrument } = await import("./compile-guest-module.ts");
  const instrumented = validateAndInstrument(bytes, label, options.memoryMaxBytes);
  let compiled: CompiledGuest;
  try {
    compiled = await compileInstrumented(instrumented.bytes);
  } catch (error) {
    // The original validated, so this is a bug in the instrumenter, reported as such.
    throw new ModuleLoadError(
      "unsupported",
      label,
      `could not be instrumented (the runtime produced an invalid module: ${describeError(error)})`,
      { cause: error },
    );
  }
  logger.debug("module instrumented", {
    module: label,
    key,
    fuelChecks: instrumented.fuelChecks,
    ms: Math.round((monotonicMs() - startedMs) * 100) / 100,
  });
  options.cache.writeInstrumented(key, instrumented.bytes);
  options.cache.rememberCompiled(key, compiled);
  return { ...compiled, ...identity, origin: "instrumented" };
}

async function compileInstrumented(bytes: Uint8Array): Promise<CompiledGuest> {
  const module = await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
  const exportedFunctions = new Map<number, string>();
  const nullaryExports = new Set<string>();
  let hasStart = false;
  let catchesExceptions = false;
  const layout = readModuleLayout(bytes);
  for (const entry of layout.exports) {
    if (entry.name === CATCHES_MARKER_EXPORT) catchesExceptions = true;
    if (entry.kind !== EXPORT_FUNCTION) continue;
    if (entry.name === START_EXPORT) hasStart = true;
    else if (!exportedFunctions.has(entry.index)) exportedFunctions.set(entry.index, entry.name);
    const type = functionTypeOf(layout, entry.index);
    if (type?.paramCount === 0 && type.resultCount === 0) nullaryExports.add(entry.name);
  }
  return {
    module,
    imports: readImports(bytes),
    hasStart,
    exportedFunctions,
    nullaryExports,
    catchesExceptions,
  };
}
