import type { Logger } from "../observe/logger.ts";
import {
  GLOB_CAPABILITIES,
  type GlobCapability,
  type HostCallPolicy,
  isKeyCapability,
  type SwitchCapability,
} from "../wasm/abi/host-call-policy.ts";
import { exceedsGrants, parseProfile } from "../wasm/process/capability-profile.ts";
import type { AuditLog } from "./audit-log.ts";
import { GlobSet } from "./glob-set.ts";
import type { ModuleNamespace } from "./module-namespace.ts";
import type { ModulePolicy } from "./module-policy.ts";
import { PolicyAudit } from "./policy-audit.ts";
import { byteString, type Glob, globCoversPrefix, globMatches } from "./policy-glob.ts";

const NO_GLOBS: readonly Glob[] = [];
const utf8 = new TextEncoder();

/**
 * A module's policy as its host calls ask it (src/wasm/abi/host-call-policy.ts): a subject is
 * allowed when one glob of the capability matches it (covers it, for a prefix); every denial goes
 * to the module's audit. Store keys and a namespace's CRDT keys are matched as bytes (a glob
 * matches a key's UTF-8 bytes exactly when it matches its text), other subjects as text.
 */
export function createPolicyEnforcer(
  policy: ModulePolicy,
  audit: PolicyAudit,
  namespacePrefix?: Uint8Array,
): HostCallPolicy {
  const globsOf = (capability: GlobCapability): readonly Glob[] => policy.globs.get(capability) ?? NO_GLOBS;
  const spawnCeiling = policy.spawnProfile === undefined ? undefined : parseProfile(policy.spawnProfile);
  const envGlobs = globsOf("env");

  // One property per capability, every one present: a stable shape makes the lookup in the hot
  // host calls an inline-cached property read rather than a hash lookup.
  const sets = Object.fromEntries(
    GLOB_CAPABILITIES.map((capability) => [
      capability,
      new GlobSet(globsOf(capability), isKeyCapability(capability) ? namespacePrefix : undefined),
    ]),
  ) as Readonly<Record<GlobCapability, GlobSet>>;

  function allowsKey(
    call: string,
    capability: GlobCapability,
    subject: Uint8Array | string,
    inNamespace = false,
  ): boolean {
    if (sets[capability].matches(subject, inNamespace)) return true;
    audit.denied(call, capability, subject);
    return false;
  }

  function allowsPrefix(call: string, capability: GlobCapability, prefix: Uint8Array | string): boolean {
    const globs = globsOf(capability);
    if (globs.length > 0) {
      const bytes = typeof prefix !== "string";
      const text = bytes ? byteString(prefix) : prefix;
      for (const glob of globs) if (globCoversPrefix(bytes ? glob.bytes : glob.text, text)) return true;
    }
    audit.denied(call, capability, prefix);
    return false;
  }

  return {
    allowsKey,
    allowsPrefix,
    allowsSwitch(call: string, capability: SwitchCapability): boolean {
      if (policy.switches.has(capability)) return true;
      audit.denied(call, capability);
      return false;
    },
    allowsSpawn(call: string, profile: string): boolean {
      let requested: number;
      try {
        requested = parseProfile(profile);
      } catch {
        return true;
      }
      if (spawnCeiling !== undefined && !exceedsGrants(requested, spawnCeiling)) return true;
      audit.denied(call, "processes.spawn", profile === "" ? "sandboxed" : profile);
      return false;
    },
    deniedOtherModule: (call, rule, subject) => audit.denied(call, rule, subject),
    showsEnv: (name) => envGlobs.some((glob) => globMatches(glob.text, name)),
    holds(name) {
      if (name === "net") return policy.switches.has("net.peers");
      if (name === "time" || name === "random") return policy.switches.has(name);
      const granted = (capability: GlobCapability) => globsOf(capability).length > 0;
      if (name === "db") return granted("db.read") || granted("db.write");
      if (name === "env") return granted("env");
      return GLOB_CAPABILITIES.some((capability) => capability.startsWith("crdt.") && granted(capability));
    },
  };
}

/**
 * The enforcer of module `moduleId` in its namespace (its policy as store keys see it), auditing
 * to `logger` and, when the node keeps one, the audit log (a node's module host builds one per
 * module).
 */
export function modulePolicyEnforcer(
  moduleId: string,
  namespace: ModuleNamespace,
  logger: Logger,
  nowMs: () => number,
  auditLog?: AuditLog,
): HostCallPolicy {
  return createPolicyEnforcer(
    namespace.policy,
    new PolicyAudit(moduleId, logger, nowMs, auditLog),
    utf8.encode(namespace.prefix),
  );
}
