/** Where the example and SDK test guests live and how to build them, for the tests in test/sdk. */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const REPO = resolve(import.meta.dirname, "../..");

/** The slice of the WebAssembly JS API the tests use (the project's TS libs do not declare it). */
interface WasmApi {
  Module: {
    new (bytes: Uint8Array): object;
    exports(module: object): { name: string; kind: string }[];
  };
}
export const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export interface ExampleGuest {
  name: string;
  language: "assemblyscript" | "c";
  dir: string;
  /** Absolute path of the compiled module. */
  wasmPath: string;
}

/** Every example with a guest (AssemblyScript `assembly/index.ts` or C `main.c`). */
export function exampleGuests(): ExampleGuest[] {
  const examples = join(REPO, "examples");
  return readdirSync(examples, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry): ExampleGuest[] => {
      const dir = join(examples, entry.name);
      const wasmPath = join(dir, "build", `${entry.name}.wasm`);
      if (existsSync(join(dir, "assembly/index.ts"))) {
        return [{ name: entry.name, language: "assemblyscript", dir, wasmPath }];
      }
      if (existsSync(join(dir, "main.c"))) return [{ name: entry.name, language: "c", dir, wasmPath }];
      return [];
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The compiled SDK probe guest (sdk/assemblyscript/tests/sdk_probe.ts). */
export const SDK_PROBE_WASM = join(REPO, "sdk/assemblyscript/tests/build/sdk_probe.wasm");

/** Whether clang can build the C examples here (the same probe as scripts/build-guests.ts). */
export function clangCanTargetWasm(): boolean {
  const targets = spawnSync("clang", ["--print-targets"], { encoding: "utf8" });
  return (
    targets.status === 0 &&
    /\bwasm32\b/.test(targets.stdout) &&
    spawnSync("wasm-ld", ["--version"]).error === undefined
  );
}

/**
 * Runs the incremental guest build (a no-op when nothing changed) of all guests or of `names`,
 * fails loudly if it fails, and returns what it printed.
 */
export function buildGuests(...names: string[]): string {
  const result = spawnSync(process.execPath, [join(REPO, "scripts/build-guests.ts"), ...names], {
    cwd: REPO,
    encoding: "utf8",
    timeout: 300_000,
  });
  if (result.status !== 0) {
    throw new Error(`scripts/build-guests.ts failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

export function readBytes(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}
