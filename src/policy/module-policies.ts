import { existsSync } from "node:fs";
import type { PolicyDefault } from "../config/node-config.ts";
import { inputFileFailureReason, readInputFile } from "../fs/read-input-file.ts";
import { SIGNATURE_FILE_BYTES_MAX } from "../net/pki/detached-signature.ts";
import type { Logger } from "../observe/logger.ts";
import type { ModulePolicy } from "./module-policy.ts";
import { PolicyError } from "./policy-error.ts";
import { policyPathBeside, readPolicyFile } from "./policy-file.ts";
import { POLICY_SIGNATURE_SUFFIX, verifyPolicySignature } from "./policy-signature.ts";

/** A module of the run as policies see it: its id and the path the user gave. */
export interface PolicyModule {
  readonly moduleId: string;
  /** The `.wasm` path as given; `NAME.policy.toml` is looked for beside it. */
  readonly label: string;
}

export interface PolicySources {
  /** `--policy` values: `FILE` (a run of one module) or `MODULE=FILE`, one per module. */
  readonly flags: readonly string[];
  /** `[modules.<id>] policy` of numax.toml. */
  readonly configured: (moduleId: string) => ModulePolicy | undefined;
  readonly policyDefault: PolicyDefault;
  /** `policy.require_signatures`: the CA (PEM of `tls.ca`) whose certificates may sign, and the time to check them at. */
  readonly signatures?: { readonly caPem: string; readonly now: Date };
}

/** Refuses a policy that is not signed by a certificate of the CA (policy-signature.ts). */
function checkSignature(policy: ModulePolicy, signatures: NonNullable<PolicySources["signatures"]>): void {
  if (policy.file === undefined) {
    throw new PolicyError(
      "POLICY_SIGNATURE_INVALID",
      `${policy.origin}: an inline policy cannot be signed and the node requires signed policies; put it in a file, sign it with nx policy sign, and name it with policy = "FILE"`,
    );
  }
  const signaturePath = `${policy.file.path}${POLICY_SIGNATURE_SUFFIX}`;
  let signature: string;
  try {
    signature = readInputFile(signaturePath, SIGNATURE_FILE_BYTES_MAX).toString("utf8");
  } catch (error) {
    const why =
      (error as NodeJS.ErrnoException).code === "ENOENT"
        ? `is not signed (no ${signaturePath}; nx policy sign ${policy.file.path} writes it)`
        : `its signature ${signaturePath} ${inputFileFailureReason(error, SIGNATURE_FILE_BYTES_MAX) ?? "cannot be read"}`;
    throw new PolicyError(
      "POLICY_SIGNATURE_INVALID",
      `policy ${policy.file.path} ${why}; the node requires signed policies`,
    );
  }
  verifyPolicySignature(policy.file.bytes, signature, signatures.caPem, policy.file.path, signatures.now);
}

/** `--policy` values by module id; a value that names no module of the run is refused. */
function flagFiles(modules: readonly PolicyModule[], flags: readonly string[]): Map<string, string> {
  const files = new Map<string, string>();
  for (const flag of flags) {
    const separator = flag.indexOf("=");
    const named = separator > 0 ? flag.slice(0, separator) : undefined;
    let moduleId: string;
    let file: string;
    if (named !== undefined && modules.some((module) => module.moduleId === named)) {
      moduleId = named;
      file = flag.slice(separator + 1);
    } else if (modules.length === 1) {
      moduleId = modules[0]!.moduleId;
      file = flag;
    } else {
      throw new PolicyError(
        "POLICY_INVALID",
        `--policy ${flag}: with several modules write --policy MODULE=FILE (modules: ${modules.map((module) => module.moduleId).join(", ")})`,
      );
    }
    if (files.has(moduleId)) {
      throw new PolicyError("POLICY_INVALID", `--policy: module ${moduleId} is given two policies; give one`);
    }
    files.set(moduleId, file);
  }
  return files;
}

/** The one line a module without a policy is refused with: what to write, and the switch. */
export function missingPolicyMessage(module: PolicyModule): string {
  const beside = policyPathBeside(module.label);
  return `module ${module.moduleId} (${module.label}) has no policy, so it may not run: write ${beside} (\`nx policy init ${module.label}\` writes a minimal one from its imports), pass --policy FILE, or set [modules.${module.moduleId}] policy in numax.toml; for development only, --policy-default trusted runs it with every capability`;
}

/**
 * Each module's policy (docs/design/policies.md#where-a-modules-policy-comes-from): `--policy`,
 * else `[modules.<id>] policy`, else `NAME.policy.toml` beside `NAME.wasm`. A module with none
 * is refused ({@link PolicyError} `POLICY_MISSING`) unless the policy default is `trusted`: then
 * it is left out of the map (trusted) and one warning per module says so. With `signatures`,
 * every policy must be a file signed by a certificate of that CA.
 */
export function resolveModulePolicies(
  modules: readonly PolicyModule[],
  sources: PolicySources,
  logger: Logger,
): Map<string, ModulePolicy> {
  const files = flagFiles(modules, sources.flags);
  const policies = new Map<string, ModulePolicy>();
  for (const module of modules) {
    const flagFile = files.get(module.moduleId);
    const beside = policyPathBeside(module.label);
    const policy =
      flagFile !== undefined
        ? readPolicyFile(flagFile)
        : (sources.configured(module.moduleId) ?? (existsSync(beside) ? readPolicyFile(beside) : undefined));
    if (policy !== undefined) {
      if (sources.signatures !== undefined) checkSignature(policy, sources.signatures);
      policies.set(module.moduleId, policy);
      logger.debug("module policy", { module: module.moduleId, policy: policy.origin });
    } else if (sources.policyDefault === "trusted") {
      logger.warn(
        `module ${module.moduleId} runs WITHOUT A POLICY with every capability (--policy-default trusted, for development only; \`nx policy init ${module.label}\` writes a minimal policy)`,
        { module: module.moduleId },
      );
    } else {
      throw new PolicyError("POLICY_MISSING", missingPolicyMessage(module));
    }
  }
  return policies;
}
