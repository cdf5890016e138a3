import type { FunctionType } from "../module-imports.ts";
import { ERR_INTERNAL, ERR_NOT_FOUND } from "./abi-codes.ts";
import { AbiContext } from "./abi-context.ts";
import { createCrdtImports } from "./crdt-imports.ts";
import { createCryptoImports } from "./crypto-imports.ts";
import { createDbImports } from "./db-imports.ts";
import { createEventImports } from "./event-imports.ts";
import type { GuestEnvironment } from "./guest-environment.ts";
import type { GuestMemoryRef } from "./guest-memory.ts";
import { createHttpImports } from "./http-imports.ts";
import { createHostLog, hostLogShapeOf } from "./log-imports.ts";
import { createNetImports } from "./net-imports.ts";
import { NX_FUNCTION_SIGNATURES, NX_MODULE } from "./nx-signatures.ts";
import { createProcessImports } from "./process-imports.ts";
import { createSystemImports } from "./system-imports.ts";
import { createTimeImports } from "./time-imports.ts";

export type { GuestEnvironment } from "./guest-environment.ts";
export { GuestAbortError, GuestExitError } from "./guest-errors.ts";
export type { GuestMemoryRef } from "./guest-memory.ts";
export {
  formatFunctionType,
  isNxSignature,
  NX_FUNCTION_SIGNATURES,
  NX_MODULE,
} from "./nx-signatures.ts";

/** A part of the `nx` module: the functions it provides, made together (they share state). */
interface NxPart {
  /** True for the names of the functions {@link create} makes. */
  readonly provides: (name: string) => boolean;
  readonly create: (
    ctx: AbiContext,
    importTypeOf: (module: string, name: string) => FunctionType | undefined,
    // biome-ignore lint/complexity/noBannedTypes: a WebAssembly import object holds host functions of many shapes
  ) => Record<string, Function>;
}

const SYSTEM_NAMES: ReadonlySet<string> = new Set([
  "env_get",
  "module_id",
  "host_capabilities",
  "event_emit",
  "abort",
]);

/** Every part of `nx`, each name provided by exactly one (test/abi/nx-parts.test.ts checks it against NX_FUNCTION_SIGNATURES). */
export const NX_PARTS: readonly NxPart[] = [
  { provides: (name) => name.startsWith("db_"), create: createDbImports },
  { provides: (name) => name.startsWith("crdt_"), create: createCrdtImports },
  { provides: (name) => name.startsWith("net_"), create: createNetImports },
  { provides: (name) => name.startsWith("time_"), create: createTimeImports },
  { provides: (name) => name === "random_bytes" || name.startsWith("hash_"), create: createCryptoImports },
  { provides: (name) => SYSTEM_NAMES.has(name), create: createSystemImports },
  {
    provides: (name) =>
      (name.startsWith("event_") && !SYSTEM_NAMES.has(name)) ||
      name === "tick_every" ||
      name.startsWith("msg_"),
    create: createEventImports,
  },
  {
    provides: (name) => name === "host_log_v2",
    create: (ctx, importTypeOf) => ({
      host_log_v2: createHostLog(ctx, hostLogShapeOf(importTypeOf(NX_MODULE, "host_log_v2"))),
    }),
  },
  // Outside a request process every req_*, resp_* and route_add answers -1; the serving layer
  // gives a process its request through its pooled instance (src/wasm/process/instance-pool.ts).
  {
    provides: (name) =>
      name.startsWith("req_") ||
      name.startsWith("resp_") ||
      name.startsWith("sse_") ||
      name.startsWith("ws_") ||
      name === "route_add",
    create: (ctx) => createHttpImports(ctx, () => undefined),
  },
  // A bare instance cannot suspend: GuestInstance replaces these with http-fetch-imports.ts.
  {
    provides: (name) => name.startsWith("http_"),
    create: () => ({
      http_fetch: () => ERR_INTERNAL,
      http_response_headers: () => ERR_NOT_FOUND,
      http_response_body: () => ERR_NOT_FOUND,
    }),
  },
  // Outside a process every proc_* answers -3; the actor runtime overrides them per instance.
  { provides: (name) => name.startsWith("proc_"), create: (ctx) => createProcessImports(ctx, undefined) },
];

/**
 * The `nx` import object of one guest instance: the functions of HOST-ABI.md, bound to `env`
 * and to the memory the runtime puts into `memory` after instantiation. With `imported` (the
 * names the guest imports from `nx`), only the parts that provide one of them are made: a
 * guest's instantiation reads no other, and making every part (about a hundred functions and
 * their state) was a tenth of what a plain `nx run` allocates. Without it, every part.
 *
 * No function throws into the guest except `abort` ({@link GuestAbortError}); errors become the
 * ABI's return codes. `importTypeOf` answers the guest's declared type of an import (from
 * `readImports`); it picks the shape of `host_log_v2`.
 *
 * @example
 * const memory: GuestMemoryRef = { memory: undefined };
 * const nx = createNxImports(env, memory, (m, n) => declared.get(`${m}.${n}`));
 * const { instance } = await WebAssembly.instantiate(bytes, { nx, wasi_snapshot_preview1: createWasiImports(env, memory) });
 * memory.memory = instance.exports.memory as WebAssembly.Memory;
 */
export function createNxImports(
  env: GuestEnvironment,
  memory: GuestMemoryRef,
  importTypeOf: (module: string, name: string) => FunctionType | undefined,
  imported?: readonly string[],
  // biome-ignore lint/complexity/noBannedTypes: a WebAssembly import object holds host functions of many shapes
): Record<string, Function> {
  const ctx = new AbiContext(env, memory);
  // biome-ignore lint/complexity/noBannedTypes: as above
  const imports: Record<string, Function> = {};
  for (const part of NX_PARTS) {
    if (imported === undefined || imported.some(part.provides))
      Object.assign(imports, part.create(ctx, importTypeOf));
  }
  for (const name of imported ?? NX_FUNCTION_SIGNATURES.keys()) {
    if (NX_FUNCTION_SIGNATURES.has(name) && typeof imports[name] !== "function") {
      throw new Error(`nx import ${name} is not implemented`);
    }
  }
  return imports;
}
