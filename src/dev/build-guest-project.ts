import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { monotonicMs } from "../clock/monotonic-clock.ts";
import { CLANG_INSTALL_HINT, CLANG_WASM_FLAGS, CLANG_WASM_LINK_FLAGS } from "./clang-wasm-flags.ts";
import type { GuestProject } from "./guest-project.ts";
import { NUMAX_ROOT } from "./numax-root.ts";

/** How one build ended: the compiler's diagnostics when it failed. */
export type BuildOutcome =
  | { readonly ok: true; readonly buildMs: number }
  | { readonly ok: false; readonly output: string };

/**
 * Builds `project` into its `build/<name>.wasm` as its own build does: AssemblyScript with `asc`
 * and the project's asconfig.json (the project's assemblyscript, else the one next to this
 * Numax), C with clang and sdk/c/nx.h of this Numax. Never throws for a failed build: what the
 * compiler said is the outcome.
 */
export async function buildGuestProject(project: GuestProject, signal?: AbortSignal): Promise<BuildOutcome> {
  const startedMs = monotonicMs();
  mkdirSync(dirname(project.output), { recursive: true });
  const command = project.language === "assemblyscript" ? ascCommand(project) : clangCommand(project);
  if (typeof command === "string") return { ok: false, output: command };
  const { ok, output } = await runCompiler(command.file, command.args, project.dir, signal);
  return ok ? { ok: true, buildMs: Math.round(monotonicMs() - startedMs) } : { ok: false, output };
}

interface Command {
  readonly file: string;
  readonly args: readonly string[];
}

function ascCommand(project: GuestProject): Command | string {
  const asc =
    resolveFrom(project.dir, "assemblyscript/bin/asc.js") ??
    resolveFrom(NUMAX_ROOT, "assemblyscript/bin/asc.js");
  if (asc === undefined) {
    return "the AssemblyScript compiler is not installed: run `npm install` in the project";
  }
  const config = join(project.dir, "asconfig.json");
  return {
    file: process.execPath,
    args: [
      asc,
      project.entry,
      ...(existsSync(config) ? ["--config", config] : []),
      "--outFile",
      project.output,
    ],
  };
}

function clangCommand(project: GuestProject): Command {
  const sources = readdirSync(project.dir)
    .filter((name) => name.endsWith(".c"))
    .map((name) => join(project.dir, name));
  return {
    file: "clang",
    args: [
      ...CLANG_WASM_FLAGS,
      `-I${join(NUMAX_ROOT, "sdk", "c")}`,
      ...CLANG_WASM_LINK_FLAGS,
      "-o",
      project.output,
      ...sources,
    ],
  };
}

function resolveFrom(dir: string, specifier: string): string | undefined {
  try {
    return createRequire(join(dir, "package.json")).resolve(specifier);
  } catch {
    return undefined;
  }
}

function runCompiler(
  file: string,
  args: readonly string[],
  cwd: string,
  signal: AbortSignal | undefined,
): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { cwd, stdio: ["ignore", "pipe", "pipe"], signal });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on("error", (error: NodeJS.ErrnoException) => {
      resolve({
        ok: false,
        output:
          error.code === "ENOENT" ? `${file} not found: install it (${CLANG_INSTALL_HINT})` : error.message,
      });
    });
    child.on("close", (code) => resolve({ ok: code === 0, output: output.trimEnd() }));
  });
}
