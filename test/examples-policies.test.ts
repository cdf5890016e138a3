/**
 * Every example and benchmark guest ships a policy (docs/design/policies.md) that grants each capability its imports
 * show it may use: the capabilities `nx policy init` writes or names in its comments for the
 * module. A call the shipped policy misses is denied only on the path that makes it (the
 * distributed_comments example called net_node_id only with sync on, and aborted there).
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { minimalPolicy } from "../src/policy/minimal-policy.ts";
import { readPolicyFile } from "../src/policy/policy-file.ts";
import { readImports } from "../src/wasm/module-imports.ts";
import { REPO_ROOT } from "./helpers/nx-process.ts";

/** The capability names a minimal policy text sets or suggests (`name = ...`, commented or not). */
function capabilitiesNamed(policyText: string): string[] {
  return [...policyText.matchAll(/^(?:# )?([a-z][a-z.-]*) = /gm)].map((match) => match[1]!);
}

/** `<dir>/<name>/build/<name>.wasm` and `<dir>/<name>/<name>.policy.toml` of every built guest there. */
function shippedGuests(dir: string): { name: string; wasm: string; policy: string }[] {
  return readdirSync(join(REPO_ROOT, dir), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map(({ name }) => ({
      name,
      wasm: join(REPO_ROOT, dir, name, "build", `${name}.wasm`),
      policy: join(REPO_ROOT, dir, name, `${name}.policy.toml`),
    }))
    .filter(({ wasm }) => existsSync(wasm));
}

test("each example's and bench guest's shipped policy grants every capability its imports call for", () => {
  const guests = [...shippedGuests("examples"), ...shippedGuests("bench/guests")];
  assert.ok(guests.length >= 25, `found ${guests.length} built guests`);
  const missing: string[] = [];
  for (const { name, wasm, policy: policyPath } of guests) {
    const bytes = readFileSync(wasm);
    const exports = WebAssembly.Module.exports(new WebAssembly.Module(bytes)).map((entry) => entry.name);
    const wanted = capabilitiesNamed(minimalPolicy(name, readImports(bytes), exports));
    const policy = readPolicyFile(policyPath);
    const granted = new Set<string>([...policy.globs.keys(), ...policy.switches]);
    if (policy.httpFetchHosts.length > 0) granted.add("http.fetch");
    if (policy.spawnProfile !== undefined) granted.add("processes.spawn");
    for (const capability of wanted) if (!granted.has(capability)) missing.push(`${name}: ${capability}`);
  }
  assert.deepEqual(missing, []);
});
