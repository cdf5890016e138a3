import assert from "node:assert/strict";
import { test } from "node:test";
import { minimalPolicy } from "./minimal-policy.ts";
import { parsePolicyBytes } from "./policy-file.ts";

const nx = (...names: string[]) => names.map((name) => ({ module: "nx", name }));
const wasi = (...names: string[]) => names.map((name) => ({ module: "wasi_snapshot_preview1", name }));

test("a minimal policy grants what the imports use, under the module's namespace only", () => {
  const text = minimalPolicy(
    "app",
    [
      ...nx("db_get", "db_set", "crdt_lww_map_set", "crdt_lww_get", "crdt_gcounter_value", "msg_publish"),
      ...nx("env_get", "net_peers", "http_fetch", "proc_spawn"),
      ...wasi("clock_time_get", "random_get"),
    ],
    ["run", "routes"],
  );
  const policy = parsePolicyBytes(new TextEncoder().encode(text), "app.policy.toml");
  assert.deepEqual(
    [...policy.globs].map(([capability, globs]) => [capability, globs.map((glob) => glob.source)]),
    [
      ["db.read", ["*"]],
      ["db.write", ["*"]],
      ["crdt.gcounter", ["*"]],
      ["crdt.lww-register", ["*"]],
      ["crdt.lww-map", ["*"]],
      ["messages.publish", ["app/*"]],
    ],
  );
  assert.deepEqual([...policy.switches], ["time", "random"]);
  assert.deepEqual(policy.httpFetchHosts, []);
  assert.equal(policy.spawnProfile, undefined);
  // What reaches outside the namespace is only suggested, commented out.
  for (const hint of [
    "# env = ",
    "# net.peers = true",
    "# network.serve = true",
    "# http.fetch = ",
    "# processes.spawn = ",
  ]) {
    assert.ok(text.includes(hint), hint);
  }
});

test("a module that imports nothing gets an empty, valid policy", () => {
  const policy = parsePolicyBytes(
    new TextEncoder().encode(minimalPolicy("hello", nx("host_log_v2"), ["run"])),
    "p",
  );
  assert.equal(policy.globs.size, 0);
  assert.equal(policy.switches.size, 0);
});
