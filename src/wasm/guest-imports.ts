import type { GuestEnvironment } from "./abi/guest-environment.ts";
import type { GuestMemoryRef } from "./abi/guest-memory.ts";
import { createNxImports } from "./abi/nx-imports.ts";
import { formatFunctionType, NX_FUNCTION_SIGNATURES, NX_MODULE } from "./abi/nx-signatures.ts";
import { createWasiImports } from "./abi/wasi.ts";
import { WASI_FUNCTION_SIGNATURES, WASI_MODULE } from "./abi/wasi-signatures.ts";
import {
  ASSEMBLYSCRIPT_ABORT_MODULE,
  ASSEMBLYSCRIPT_ABORT_NAME,
  createAssemblyScriptAbort,
} from "./assemblyscript-abort.ts";
import type { FunctionType, ImportDescriptor } from "./module-imports.ts";
import { ModuleLoadError } from "./module-load-error.ts";

/**
 * The functions a guest may import, by module and name, with the declared types each accepts:
 * checked when a module is loaded, so a guest that would link wrongly is refused with one line
 * naming the import, before anything runs.
 */
export type ImportSignatures = ReadonlyMap<string, ReadonlyMap<string, readonly FunctionType[]>>;

const I32 = "i32" as const;

/** nx (HOST-ABI.md), WASI preview 1, and AssemblyScript's `env.abort`. */
export const STANDARD_IMPORT_SIGNATURES: ImportSignatures = new Map<
  string,
  ReadonlyMap<string, readonly FunctionType[]>
>([
  [NX_MODULE, NX_FUNCTION_SIGNATURES],
  [WASI_MODULE, WASI_FUNCTION_SIGNATURES],
  [
    ASSEMBLYSCRIPT_ABORT_MODULE,
    new Map([[ASSEMBLYSCRIPT_ABORT_NAME, [{ params: [I32, I32, I32, I32], results: [] }]]]),
  ],
]);

/** Merges `extra` (for example the process functions of the actor runtime) over `base`. */
export function mergeImportSignatures(base: ImportSignatures, extra: ImportSignatures): ImportSignatures {
  const merged = new Map(base);
  for (const [module, names] of extra) merged.set(module, new Map([...(merged.get(module) ?? []), ...names]));
  return merged;
}

function sameType(a: FunctionType, b: FunctionType): boolean {
  const same = (x: readonly string[], y: readonly string[]) =>
    x.length === y.length && x.every((t, i) => t === y[i]);
  return same(a.params, b.params) && same(a.results, b.results);
}

function unknownImportHint(entry: ImportDescriptor, signatures: ImportSignatures): string {
  if (entry.kind !== "function") {
    return entry.kind === "memory"
      ? 'the runtime provides no memory: export the guest\'s memory as "memory" instead of importing it'
      : `the runtime provides functions only, not a ${entry.kind}`;
  }
  if (entry.module === ASSEMBLYSCRIPT_ABORT_MODULE && NX_FUNCTION_SIGNATURES.has(entry.name)) {
    return (
      `host functions are imported from module "nx", not "env" ` +
      `(in C: __attribute__((import_module("nx"))), as sdk/c/nx.h declares them)`
    );
  }
  if (entry.module === ASSEMBLYSCRIPT_ABORT_MODULE) {
    return `the runtime provides env.abort only; host functions are imported from module "nx" (in C: include sdk/c/nx.h)`;
  }
  if (signatures.has(entry.module)) return `no such function in module ${entry.module}`;
  return `the runtime provides the modules ${[...signatures.keys()].join(", ")}`;
}

/** Throws a {@link ModuleLoadError} for the first import the runtime cannot satisfy as declared. */
export function checkImports(
  moduleLabel: string,
  imports: readonly ImportDescriptor[],
  signatures: ImportSignatures = STANDARD_IMPORT_SIGNATURES,
): void {
  for (const entry of imports) {
    const accepted = entry.kind === "function" ? signatures.get(entry.module)?.get(entry.name) : undefined;
    const qualified = `${entry.module}.${entry.name}`;
    if (accepted === undefined || entry.kind !== "function") {
      throw new ModuleLoadError(
        "unknown_import",
        moduleLabel,
        `has an unknown import ${qualified}: ${unknownImportHint(entry, signatures)}`,
      );
    }
    if (!accepted.some((type) => sameType(type, entry.type))) {
      throw new ModuleLoadError(
        "bad_import_type",
        moduleLabel,
        `imports ${qualified} as ${formatFunctionType(entry.type)}, but it is ` +
          accepted.map(formatFunctionType).join(" or "),
      );
    }
  }
}

/** True when the module imports any `nx.db_*` function, i.e. needs the store opened. */
export function importsStore(imports: readonly ImportDescriptor[]): boolean {
  return imports.some((entry) => entry.module === NX_MODULE && entry.name.startsWith("db_"));
}

/** The declared type of each function import, for the ABI's shape choices (`host_log_v2`). */
export function importTypeLookup(
  imports: readonly ImportDescriptor[],
): (module: string, name: string) => FunctionType | undefined {
  const types = new Map<string, FunctionType>();
  for (const entry of imports)
    if (entry.kind === "function") types.set(`${entry.module}\0${entry.name}`, entry.type);
  return (module, name) => types.get(`${module}\0${name}`);
}

/**
 * The import object of the standard host (nx, WASI, env.abort) for one instance of a module
 * whose imports are `imports`: only the modules it imports from, of `nx` only the parts it
 * imports from (createNxImports), of WASI only the functions it imports (createWasiImports).
 * Instantiation reads nothing else.
 */
export function buildStandardImports(
  env: GuestEnvironment,
  memory: GuestMemoryRef,
  imports: readonly ImportDescriptor[],
): Record<string, Record<string, unknown>> {
  const built: Record<string, Record<string, unknown>> = {};
  const nxNames = imports.filter((entry) => entry.module === NX_MODULE).map((entry) => entry.name);
  if (nxNames.length > 0) built[NX_MODULE] = createNxImports(env, memory, importTypeLookup(imports), nxNames);
  const wasiNames = imports.filter((entry) => entry.module === WASI_MODULE).map((entry) => entry.name);
  if (wasiNames.length > 0) built[WASI_MODULE] = createWasiImports(env, memory, wasiNames);
  if (imports.some((entry) => entry.module === ASSEMBLYSCRIPT_ABORT_MODULE)) {
    built[ASSEMBLYSCRIPT_ABORT_MODULE] = { [ASSEMBLYSCRIPT_ABORT_NAME]: createAssemblyScriptAbort(memory) };
  }
  return built;
}
