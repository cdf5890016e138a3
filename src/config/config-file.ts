import { parse, TomlError } from "smol-toml";
import { inputFileFailureReason, readInputFile } from "../fs/read-input-file.ts";
import type { ConfigIssue } from "./config-error.ts";
import { mixedModuleFormsProblem } from "./module-forms.ts";

/** A numax.toml read and parsed, or the one issue that stopped it (unreadable, not TOML). */
export type ConfigFileResult =
  | { readonly ok: true; readonly table: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly issue: ConfigIssue };

/**
 * Parses TOML text. Integers come back as bigint so that `64.0` (a float) and `64` (an integer)
 * stay distinguishable and a huge integer is never silently rounded.
 */
export function parseConfigText(text: string, path: string): ConfigFileResult {
  try {
    return { ok: true, table: parse(text, { integersAsBigInt: true, unsafeKeyBehaviour: "throw" }) };
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    // smol-toml's message is "Invalid TOML document: <what>" followed by a code excerpt.
    const what = error.message.split("\n")[0].replace(/^Invalid TOML document: /, "");
    return {
      ok: false,
      issue: {
        kind: "syntax",
        subject: path,
        source: "file",
        message: `not valid TOML: ${what}`,
        line: error.line,
        column: error.column,
      },
    };
  }
}

/** The longest config file read (1 MiB): a real one is a few KiB; more is a wrong path. */
export const CONFIG_FILE_BYTES_MAX = 1024 * 1024;

/** Reads and parses a config file; a missing or unreadable file is an issue, not an exception. */
export async function readConfigFile(path: string): Promise<ConfigFileResult> {
  let text: string;
  try {
    text = readInputFile(path, CONFIG_FILE_BYTES_MAX).toString("utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "no such file (`nx config init --output FILE` writes one)"
        : (inputFileFailureReason(error, CONFIG_FILE_BYTES_MAX) ??
          `cannot be read (${code ?? String(error)})`);
    return { ok: false, issue: { kind: "unreadable", subject: path, source: "file", message: why } };
  }
  const mixed = mixedModuleFormsProblem(text);
  if (mixed !== undefined) {
    return { ok: false, issue: { kind: "invalid-value", subject: path, source: "file", message: mixed } };
  }
  return parseConfigText(text, path);
}
