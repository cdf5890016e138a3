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
import { NX_FUNCTION_NAMES, NX_MODULE } from "./nx-signatures.ts";
import { createProcessImports } from "./process-imports.ts";
import { createSystemImports } from "./system-imports.ts";
import { createTimeImports } from "./time-imports.ts";

export type { GuestEnvironment } from "./guest-environment.ts";
export { GuestAbortError, GuestExitError } from "./guest-errors.ts";
export type { GuestMemoryRef } from "./guest-memory.ts";
export {
  formatFunctionType,
  isNxSignature,
  NX_FUNCTION_NAMES,
  NX_FUNCTION_SIGNATURES,
  NX_MODULE,
} from "./nx-signatures.ts";

/**
 * The `nx` import object of one guest instance: every function of HOST-ABI.md, bound to `env`
 * and to the memory the runtime puts into `memory` after instantiation.
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
  // biome-ignore lint/complexity/noBannedTypes: a WebAssembly import object holds host functions of many shapes
): Record<string, Function> {
  const ctx = new AbiContext(env, memory);
  // biome-ignore lint/complexity/noBannedTypes: as above
  const imports: Record<string, Function> = {
    ...createDbImports(ctx),
    ...createCrdtImports(ctx),
    ...createNetImports(ctx),
    ...createTimeImports(ctx),
    ...createCryptoImports(ctx),
    ...createSystemImports(ctx),
    ...createEventImports(ctx),
    host_log_v2: createHostLog(ctx, hostLogShapeOf(importTypeOf(NX_MODULE, "host_log_v2"))),
    // Outside a request process every req_*, resp_* and route_add answers -1; the serving layer
    // gives a process its request through its pooled instance (src/wasm/process/instance-pool.ts).
    ...createHttpImports(ctx, () => undefined),
    // A bare instance cannot suspend: GuestInstance replaces these with http-fetch-imports.ts.
    http_fetch: () => ERR_INTERNAL,
    http_response_headers: () => ERR_NOT_FOUND,
    http_response_body: () => ERR_NOT_FOUND,
    // Outside a process every proc_* answers -3; the actor runtime overrides them per instance.
    ...createProcessImports(ctx, undefined),
  };
  for (const name of NX_FUNCTION_NAMES) {
    if (typeof imports[name] !== "function") throw new Error(`nx import ${name} is not implemented`);
  }
  return imports;
}
