/**
 * Test harness of the ABI conformance suite: compiles WAT with wabt, instantiates it with the
 * real `nx` and WASI import objects over a recording GuestEnvironment, and reads and writes
 * guest memory from the test.
 */
import wabtFactory from "wabt";
import type { LogFields, Logger, LogLevel } from "../../src/observe/logger.ts";
import type { CrdtHost } from "../../src/wasm/abi/crdt-host.ts";
import type { GuestEnvironment, GuestStore } from "../../src/wasm/abi/guest-environment.ts";
import type { GuestMemoryRef } from "../../src/wasm/abi/guest-memory.ts";
import { createNxImports, NX_FUNCTION_SIGNATURES } from "../../src/wasm/abi/nx-imports.ts";
import { createWasiImports, WASI_FUNCTION_SIGNATURES, WASI_MODULE } from "../../src/wasm/abi/wasi.ts";
import { type FunctionType, readImports } from "../../src/wasm/module-imports.ts";

/** The slice of the WebAssembly JS API the tests use (the project's TS libs do not declare it). */
interface WasmInstance {
  exports: Record<string, unknown>;
}
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => WasmInstance;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let wabtReady: ReturnType<typeof wabtFactory> | undefined;

/** WAT text to module bytes (wabt, validated). */
export async function compileWat(text: string): Promise<Uint8Array> {
  wabtReady ??= wabtFactory();
  const wabt = await wabtReady;
  const module = wabt.parseWat("test.wat", new TextEncoder().encode(text));
  try {
    module.validate();
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}

export interface LogRecord {
  level: LogLevel;
  message: string;
  fields?: LogFields;
}

export function recordingLogger(
  records: LogRecord[],
  enabled: LogLevel[] = ["trace", "debug", "info", "warn", "error"],
): Logger {
  const at =
    (level: LogLevel) =>
    (message: string, fields?: LogFields): void => {
      records.push(fields === undefined ? { level, message } : { level, message, fields });
    };
  const logger: Logger = {
    trace: at("trace"),
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    isLevelEnabled: (level) => enabled.includes(level),
    child: () => logger,
  };
  return logger;
}

export interface Recorded {
  logs: LogRecord[];
  events: { name: string; payload: Uint8Array }[];
  stdout: Uint8Array[];
  stderr: Uint8Array[];
}

export interface EnvironmentOptions {
  store?: GuestStore;
  crdt?: CrdtHost;
  env?: Record<string, string>;
  args?: string[];
  capabilities?: string[];
  nowMs?: () => number;
  monotonicMs?: () => number;
  randomFill?: (target: Uint8Array) => void;
  logLevels?: LogLevel[];
}

/** A GuestEnvironment whose effects land in `recorded`; the clock and randomness are deterministic. */
export function recordingEnvironment(options: EnvironmentOptions = {}): {
  env: GuestEnvironment;
  recorded: Recorded;
} {
  const recorded: Recorded = { logs: [], events: [], stdout: [], stderr: [] };
  let counter = 0;
  const env: GuestEnvironment = {
    moduleId: "conformance-guest",
    logger: recordingLogger(recorded.logs, options.logLevels),
    env: options.env ?? {},
    args: options.args ?? ["guest.wasm"],
    clock: {
      nowMs: options.nowMs ?? (() => 1_700_000_000_123.75),
      monotonicMs: options.monotonicMs ?? (() => 42.5),
    },
    randomFill:
      options.randomFill ??
      ((target) => {
        for (let i = 0; i < target.length; i++) target[i] = (counter++ * 31 + 7) & 0xff;
      }),
    emitEvent: (name, payload) => recorded.events.push({ name, payload }),
    stdout: (bytes) => recorded.stdout.push(bytes),
    stderr: (bytes) => recorded.stderr.push(bytes),
    capabilities: options.capabilities ?? [],
  };
  if (options.store !== undefined) env.store = options.store;
  if (options.crdt !== undefined) env.crdt = options.crdt;
  return { env, recorded };
}

export interface Guest {
  exports: Record<string, unknown>;
  memoryRef: GuestMemoryRef;
  memory(): Uint8Array;
  write(ptr: number, bytes: Uint8Array | string): void;
  read(ptr: number, len: number): Uint8Array;
  u32(ptr: number): number;
  /** Calls an export; i64 arguments must be BigInts. */
  call(name: string, ...args: (number | bigint)[]): unknown;
  grow(pages: number): number;
}

/** Instantiates module bytes with the real import objects of `env`; the module exports `memory`. */
export function instantiate(bytes: Uint8Array, env: GuestEnvironment): Guest {
  const declared = new Map<string, FunctionType>();
  for (const entry of readImports(bytes)) {
    if (entry.kind === "function") declared.set(`${entry.module}\0${entry.name}`, entry.type);
  }
  const memoryRef: GuestMemoryRef = { memory: undefined };
  const nx = createNxImports(env, memoryRef, (module, name) => declared.get(`${module}\0${name}`));
  const wasi = createWasiImports(env, memoryRef);
  const instance = new wasm.Instance(new wasm.Module(bytes), { nx, [WASI_MODULE]: wasi });
  const memory = instance.exports.memory as WasmMemory;
  memoryRef.memory = memory;
  const bytesOf = (): Uint8Array => new Uint8Array(memory.buffer);
  return {
    exports: instance.exports,
    memoryRef,
    memory: bytesOf,
    write(ptr, data) {
      bytesOf().set(typeof data === "string" ? new TextEncoder().encode(data) : data, ptr);
    },
    read: (ptr, len) => bytesOf().slice(ptr, ptr + len),
    u32: (ptr) => new DataView(memory.buffer).getUint32(ptr, true),
    call(name, ...args) {
      const fn = instance.exports[name];
      if (typeof fn !== "function") throw new Error(`no export ${name}`);
      return fn(...args);
    },
    grow: (pages) => memory.grow(pages),
  };
}

function watTypes(type: FunctionType): string {
  const params = type.params.length === 0 ? "" : ` (param ${type.params.join(" ")})`;
  const results = type.results.length === 0 ? "" : ` (result ${type.results.join(" ")})`;
  return params + results;
}

/**
 * WAT of a module that imports `functions` and re-exports each as a trampoline of the same
 * name, so the test calls the host through the real wasm boundary (signed i32, BigInt i64).
 * Exports `memory` (`pages` pages) and `grow`.
 */
export function trampolineWat(
  functions: readonly (readonly [module: string, name: string, type: FunctionType])[],
  pages = 1,
): string {
  const lines = ["(module"];
  functions.forEach(([module, name, type], i) => {
    lines.push(`  (import "${module}" "${name}" (func $f${i}${watTypes(type)}))`);
  });
  lines.push(`  (memory (export "memory") ${pages})`);
  lines.push(`  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)`);
  functions.forEach(([, name, type], i) => {
    const gets = type.params.map((_, p) => `local.get ${p}`).join(" ");
    lines.push(`  (func (export "${name}")${watTypes(type)} ${gets} call $f${i})`);
  });
  lines.push(")");
  return lines.join("\n");
}

/** Every nx function (host_log_v2 in its first shape) and every WASI function except proc_exit. */
export function allTrampolineFunctions(hostLogShape: 0 | 1 = 0): [string, string, FunctionType][] {
  const functions: [string, string, FunctionType][] = [];
  for (const [name, types] of NX_FUNCTION_SIGNATURES) {
    functions.push(["nx", name, name === "host_log_v2" ? types[hostLogShape]! : types[0]!]);
  }
  for (const [name, types] of WASI_FUNCTION_SIGNATURES) {
    if (name !== "proc_exit") functions.push([WASI_MODULE, name, types[0]!]);
  }
  return functions;
}

let trampolineBytes: Promise<Uint8Array> | undefined;

/** A guest with a trampoline for every nx function, over `env`; 2 pages (128 KiB) of memory. */
export async function trampolineGuest(env: GuestEnvironment): Promise<Guest> {
  trampolineBytes ??= compileWat(trampolineWat(allTrampolineFunctions(), 2));
  return instantiate(await trampolineBytes, env);
}

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
export const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
