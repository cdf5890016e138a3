import type { Command } from "commander";

// Owned by the wasm runtime work: declares `nx run` flags and lazily imports the runner.
export function defineRunCommand(program: Command): void {
  program.command("run").description("run WebAssembly guest modules").argument("<modules...>");
}
