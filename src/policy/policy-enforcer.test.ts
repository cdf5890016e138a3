import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { propertyRuns } from "../crdt/testing/property-runs.ts";
import type { Logger } from "../observe/logger.ts";
import { GLOB_CAPABILITIES, type GlobCapability, isKeyCapability } from "../wasm/abi/host-call-policy.ts";
import { moduleNamespace } from "./module-namespace.ts";
import { parsePolicy } from "./module-policy.ts";
import { POLICY_AUDIT_LINES_MAX, POLICY_AUDIT_WINDOW_MS, PolicyAudit } from "./policy-audit.ts";
import { createPolicyEnforcer } from "./policy-enforcer.ts";
import { absoluteGlob } from "./policy-glob.ts";

interface Line {
  message: string;
  fields: Record<string, unknown> | undefined;
}

function recordingLogger(lines: Line[]): Logger {
  const logger: Logger = {
    trace: () => {},
    debug: () => {},
    info: () => {},
    warn: (message, fields) => lines.push({ message, fields }),
    error: () => {},
    isLevelEnabled: () => true,
    child: () => logger,
  };
  return logger;
}

/** The reference model of "allowed": some glob, as an anchored regular expression, matches. */
function referenceAllows(globs: readonly string[], subject: string, prefix: boolean): boolean {
  return globs.some((glob) => {
    const body = glob
      .split("*")
      .map((piece) => piece.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*");
    const whole = new RegExp(`^${body}$`, "su");
    // A prefix is covered when the glob ends in "*" and matches it (then every extension matches).
    return prefix ? glob.endsWith("*") && whole.test(subject) : whole.test(subject);
  });
}

const piece = fc.constantFrom("a", "b", "/", "*", "ü");
// "/" alone is refused as a key glob (it names no key); "m/" reaches the namespace of module m.
const glob = fc
  .array(piece, { minLength: 1, maxLength: 6 })
  .map((chars) => chars.join(""))
  .filter((text) => text !== "/");
const subject = fc
  .array(fc.constantFrom("a", "b", "/", "ü", "m/"), { maxLength: 8 })
  .map((chars) => chars.join(""));
const capability = fc.constantFrom(...GLOB_CAPABILITIES);
const utf8 = new TextEncoder();

/** A policy of random globs per capability, as the TOML parser hands it over. */
function policyTable(grants: ReadonlyMap<GlobCapability, string[]>): Record<string, unknown> {
  const capabilities: Record<string, Record<string, unknown> | unknown> = {};
  for (const [name, globs] of grants) {
    const [head, leaf] = name.split(".");
    if (leaf === undefined) capabilities[head!] = globs;
    else capabilities[head!] = { ...(capabilities[head!] as object | undefined), [leaf]: globs };
  }
  return { capabilities };
}

describe("policy enforcement", () => {
  test("random policies and random host calls agree with the reference model, and every denial is audited", () => {
    const grants = fc
      .array(fc.tuple(capability, fc.array(glob, { maxLength: 4 })), { maxLength: 6 })
      .map((entries) => new Map(entries));
    const call = fc.record({
      capability,
      subject,
      prefix: fc.boolean(),
      bytes: fc.boolean(),
    });
    fc.assert(
      fc.property(grants, fc.array(call, { minLength: 1, maxLength: 20 }), (granted, calls) => {
        const lines: Line[] = [];
        // Store and CRDT key globs are relative to the namespace of module m unless shared ("/...").
        const policy = createPolicyEnforcer(
          moduleNamespace("m", parsePolicy(policyTable(granted), "p.policy.toml")).policy,
          new PolicyAudit("m", recordingLogger(lines), () => 0),
        );
        const absolute = (capability: GlobCapability): string[] =>
          (granted.get(capability) ?? []).map((text) =>
            isKeyCapability(capability) ? absoluteGlob(text, "m/") : text,
          );
        let denials = 0;
        for (const { capability, subject, prefix, bytes } of calls) {
          const asked = bytes ? utf8.encode(subject) : subject;
          const allowed = prefix
            ? policy.allowsPrefix("call", capability, asked)
            : policy.allowsKey("call", capability, asked);
          assert.equal(allowed, referenceAllows(absolute(capability), subject, prefix));
          if (!allowed) denials++;
        }
        assert.equal(lines.length, Math.min(denials, POLICY_AUDIT_LINES_MAX));
      }),
      propertyRuns(500),
    );
  });

  test("an audit line names module, call, capability and key", () => {
    const lines: Line[] = [];
    const policy = createPolicyEnforcer(
      parsePolicy({ capabilities: { db: { read: ["kv/*"] } } }, "kv.policy.toml"),
      new PolicyAudit("kv", recordingLogger(lines), () => 0),
    );
    assert.equal(policy.allowsKey("db_get", "db.read", utf8.encode("kv/1")), true);
    assert.equal(policy.allowsKey("db_set", "db.write", utf8.encode("kv/1")), false);
    assert.equal(policy.allowsSwitch("time_now", "time"), false);
    assert.deepEqual(lines, [
      {
        message: 'policy denied db_set: db.write "kv/1" is not granted to module kv',
        fields: { module: "kv", call: "db_set", capability: "db.write", key: "kv/1" },
      },
      {
        message: "policy denied time_now: time is not granted to module kv",
        fields: { module: "kv", call: "time_now", capability: "time" },
      },
    ]);
  });

  test("audit lines are rate-limited per module and the next one counts those left out", () => {
    const lines: Line[] = [];
    let nowMs = 0;
    const audit = new PolicyAudit("m", recordingLogger(lines), () => nowMs);
    for (let i = 0; i < POLICY_AUDIT_LINES_MAX + 7; i++) audit.denied("db_get", "db.read", `k${i}`);
    assert.equal(lines.length, POLICY_AUDIT_LINES_MAX);
    nowMs += POLICY_AUDIT_WINDOW_MS;
    audit.denied("db_get", "db.read", "again");
    assert.equal(lines.length, POLICY_AUDIT_LINES_MAX + 1);
    assert.match(
      lines.at(-1)!.message,
      /"again" is not granted to module m \(7 more denials of this module not logged\)$/,
    );
  });

  test("proc_spawn may ask for at most the policy's profile; no processes.spawn: no spawn", () => {
    const audit = new PolicyAudit("m", recordingLogger([]), () => 0);
    const storage = createPolicyEnforcer(
      parsePolicy({ capabilities: { processes: { spawn: "storage" } } }, "p"),
      audit,
    );
    assert.equal(storage.allowsSpawn("proc_spawn", ""), true);
    assert.equal(storage.allowsSpawn("proc_spawn", "sandboxed+db"), true);
    assert.equal(storage.allowsSpawn("proc_spawn", "trusted"), false);
    assert.equal(storage.allowsSpawn("proc_spawn", "storage+crdt"), false);
    const none = createPolicyEnforcer(parsePolicy({}, "p"), audit);
    assert.equal(none.allowsSpawn("proc_spawn", "sandboxed"), false);
  });

  test("environment names: granted names show, the others neither show nor pass", () => {
    const policy = createPolicyEnforcer(
      parsePolicy({ capabilities: { env: ["NX_GREETING", "NX_APP_*"] } }, "p"),
      new PolicyAudit("m", recordingLogger([]), () => 0),
    );
    assert.equal(policy.showsEnv("NX_APP_MODE"), true);
    assert.equal(policy.showsEnv("NX_SECRET"), false);
    assert.equal(policy.allowsKey("env_get", "env", "NX_GREETING"), true);
    assert.equal(policy.allowsKey("env_get", "env", "NX_SECRET"), false);
  });
});
