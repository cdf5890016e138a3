import type { Command } from "commander";

// Owned by the configuration work: `nx config init|validate|show`.
export function defineConfigCommand(program: Command): void {
  program.command("config").description("create, validate and inspect numax.toml");
}
