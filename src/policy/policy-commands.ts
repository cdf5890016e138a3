import { writeFile } from "node:fs/promises";
import { readInputFile } from "../fs/read-input-file.ts";
import { GUEST_MODULE_BYTES_MAX, moduleIdOf } from "../wasm/load-guest-module.ts";
import { readImports } from "../wasm/module-imports.ts";
import { minimalPolicy } from "./minimal-policy.ts";
import { QUOTA_KEYS, type QuotaField } from "./module-quotas.ts";
import { PolicyError } from "./policy-error.ts";
import { policyPathBeside, readPolicyFile } from "./policy-file.ts";
import { POLICY_SIGNATURE_SUFFIX, readPemText, signPolicy } from "./policy-signature.ts";

/** Where a command prints (process.stdout in the CLI). */
export interface CommandOutput {
  write(text: string): unknown;
}

export interface PolicyInitOptions {
  /** Default: `NAME.policy.toml` beside the module; `-` prints it. */
  readonly output?: string;
  readonly force?: boolean;
}

/** Exported function names of a module, read without compiling it. */
function exportNames(bytes: Uint8Array): string[] {
  return WebAssembly.Module.exports(new WebAssembly.Module(bytes)).map((entry) => entry.name);
}

/**
 * `nx policy init MODULE.wasm [-o FILE|-] [--force]`: writes the module's minimal policy
 * (src/policy/minimal-policy.ts) beside it, refusing to overwrite one without `--force`.
 */
export async function runPolicyInit(
  modulePath: string,
  options: PolicyInitOptions,
  out: CommandOutput,
): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = readInputFile(modulePath, GUEST_MODULE_BYTES_MAX);
  } catch (error) {
    throw new PolicyError(
      "POLICY_UNREADABLE",
      `module ${modulePath} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      { cause: error },
    );
  }
  let text: string;
  try {
    text = minimalPolicy(moduleIdOf(modulePath), readImports(bytes), exportNames(bytes));
  } catch (error) {
    throw new PolicyError(
      "POLICY_UNREADABLE",
      `module ${modulePath} is not a WebAssembly module: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  if (options.output === "-") {
    out.write(text);
    return;
  }
  const target = options.output ?? policyPathBeside(modulePath);
  try {
    // "wx" refuses an existing policy atomically: a hand-written policy is never replaced unasked.
    await writeFile(target, text, { flag: options.force === true ? "w" : "wx" });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new PolicyError(
      "POLICY_UNREADABLE",
      code === "EEXIST"
        ? `${target} already exists; pass --force to overwrite it (or -o - to print the policy)`
        : `cannot write ${target}: ${code ?? String(error)}`,
      { cause: error },
    );
  }
  out.write(
    `wrote ${target}: the module's namespace only; widen it for the keys the module uses, then nx run finds it\n`,
  );
}

/** `nx policy validate FILE...`: one line per file, `ok` or what is wrong; true when all are valid. */
export function runPolicyValidate(paths: readonly string[], out: CommandOutput): boolean {
  let valid = true;
  for (const path of paths) {
    try {
      readPolicyFile(path);
      out.write(`${path}: ok\n`);
    } catch (error) {
      if (!(error instanceof PolicyError)) throw error;
      valid = false;
      out.write(`${error.message}\n`);
    }
  }
  return valid;
}

/** A policy as comparable lines: `capability value`, one per glob or host, and `quotas.<name> value`. */
function grantLines(path: string): Set<string> {
  const policy = readPolicyFile(path);
  const lines = new Set<string>();
  for (const [capability, globs] of policy.globs)
    for (const glob of globs) lines.add(`${capability} ${JSON.stringify(glob.source)}`);
  for (const name of policy.switches) lines.add(`${name} true`);
  for (const host of policy.httpFetchHosts) lines.add(`http.fetch ${JSON.stringify(host)}`);
  if (policy.spawnProfile !== undefined) lines.add(`processes.spawn ${JSON.stringify(policy.spawnProfile)}`);
  for (const [field, value] of Object.entries(policy.quotas) as [QuotaField, number][])
    lines.add(`quotas.${QUOTA_KEYS[field].name} ${value}`);
  return lines;
}

/**
 * `nx policy diff OLD NEW`: the grants and quotas NEW adds (`+`) and removes (`-`), one per
 * line, sorted by capability; true when they grant the same under the same quotas.
 */
export function runPolicyDiff(oldPath: string, newPath: string, out: CommandOutput): boolean {
  const before = grantLines(oldPath);
  const after = grantLines(newPath);
  const changes = [
    ...[...before].filter((line) => !after.has(line)).map((line) => ({ line, sign: "-" })),
    ...[...after].filter((line) => !before.has(line)).map((line) => ({ line, sign: "+" })),
  ].sort((a, b) => a.line.localeCompare(b.line) || a.sign.localeCompare(b.sign));
  for (const { line, sign } of changes) out.write(`${sign} ${line}\n`);
  if (changes.length === 0) out.write("the policies grant the same\n");
  return changes.length === 0;
}

export interface PolicySignOptions {
  /** The signer's private key (`node.key` or `ca.key` from `nx cert`). */
  readonly key: string;
  /** Its certificate (`node.crt` or `ca.crt`). */
  readonly cert: string;
}

/**
 * `nx policy sign FILE --key K --cert C`: checks the policy, then writes `FILE.sig` (the
 * certificate and a signature over the file's exact bytes, src/policy/policy-signature.ts).
 */
export async function runPolicySign(
  path: string,
  options: PolicySignOptions,
  out: CommandOutput,
): Promise<void> {
  const policy = readPolicyFile(path);
  const signature = signPolicy(
    policy.file!.bytes,
    readPemText(options.key, "--key"),
    readPemText(options.cert, "--cert"),
  );
  const target = `${path}${POLICY_SIGNATURE_SUFFIX}`;
  await writeFile(target, signature);
  out.write(
    `wrote ${target}: a node with policy.require_signatures and this CA as tls.ca runs ${path} as it is now\n`,
  );
}
