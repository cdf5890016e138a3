import { parseConfigText } from "../config/config-file.ts";
import { inputFileFailureReason, readInputFile } from "../fs/read-input-file.ts";
import { type ModulePolicy, parsePolicy } from "./module-policy.ts";
import { PolicyError } from "./policy-error.ts";

/** Longest policy file read: a real one is well under a KiB; more is the wrong file. */
export const POLICY_FILE_BYTES_MAX = 64 * 1024;

/** The policy file of `NAME.wasm`: `NAME.policy.toml` in the same directory. */
export function policyPathBeside(wasmPath: string): string {
  return `${wasmPath.replace(/\.wasm$/, "")}.policy.toml`;
}

/** The bytes of a policy file; a missing or unreadable file is a {@link PolicyError} naming it. */
export function readPolicyBytes(path: string): Uint8Array {
  try {
    return readInputFile(path, POLICY_FILE_BYTES_MAX);
  } catch (error) {
    const why =
      inputFileFailureReason(error, POLICY_FILE_BYTES_MAX) ??
      `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
    throw new PolicyError("POLICY_UNREADABLE", `policy ${path}: ${why}`, { cause: error });
  }
}

/** Parses a policy file's bytes; throws a {@link PolicyError} of one line naming `path`. */
export function parsePolicyBytes(bytes: Uint8Array, path: string): ModulePolicy {
  const parsed = parseConfigText(new TextDecoder().decode(bytes), path);
  if (!parsed.ok) {
    const { line, column, message } = parsed.issue;
    const at = line === undefined ? "" : `:${line}${column === undefined ? "" : `:${column}`}`;
    throw new PolicyError("POLICY_UNREADABLE", `${path}${at}: ${message}`);
  }
  return { ...parsePolicy(parsed.table, path), file: { path, bytes } };
}

/** Reads and parses the policy file at `path`. */
export function readPolicyFile(path: string): ModulePolicy {
  return parsePolicyBytes(readPolicyBytes(path), path);
}
