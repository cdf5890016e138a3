import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { ConfigError } from "../../src/config/config-error.ts";
import { readConfigFile } from "../../src/config/config-file.ts";
import { resolveConfigLayers } from "../../src/config/resolve.ts";
import { guestPath, startNx, stopNx, tempDir } from "../helpers/nx-process.ts";

const file = (table: Record<string, unknown>) => ({ file: { path: "numax.toml", table } });

function issuesOf(table: Record<string, unknown>): string[] {
  try {
    resolveConfigLayers(file(table));
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.issues.map((issue) => `${issue.subject}: ${issue.message}`);
  }
  return [];
}

test("[modules.<id>] tick sets a module's tick period", () => {
  const { moduleSettings } = resolveConfigLayers(
    file({ modules: { reactive_dashboard: { tick: "200ms" }, other: {} } }),
  );
  assert.deepEqual(moduleSettings.get("reactive_dashboard"), {
    tickMs: 200,
    httpFetchHosts: [],
    policy: undefined,
    staticMounts: [],
    restart: undefined,
    quotas: {},
  });
  assert.deepEqual(moduleSettings.get("other"), {
    tickMs: undefined,
    httpFetchHosts: [],
    policy: undefined,
    staticMounts: [],
    restart: undefined,
    quotas: {},
  });
});

test("[modules.<id>] policy: inline, or a file relative to the config file; a bad one names file and key", () => {
  const inline = resolveConfigLayers(
    file({ modules: { kv: { policy: { capabilities: { db: { read: ["kv/*"] } } } } } }),
  ).moduleSettings.get("kv")?.policy;
  assert.deepEqual(
    inline?.globs.get("db.read")?.map((glob) => glob.source),
    ["kv/*"],
  );
  assert.equal(inline?.origin, "numax.toml [modules.kv.policy]");
  const dir = tempDir("nx-module-policy-");
  try {
    writeFileSync(join(dir.path, "kv.policy.toml"), "[capabilities]\ntime = true\n");
    const fromFile = resolveConfigLayers({
      file: { path: join(dir.path, "numax.toml"), table: { modules: { kv: { policy: "kv.policy.toml" } } } },
    }).moduleSettings.get("kv")?.policy;
    assert.deepEqual([...(fromFile?.switches ?? [])], ["time"]);
  } finally {
    dir.remove();
  }
  assert.deepEqual(issuesOf({ modules: { kv: { policy: { capabilities: { db: { raed: [] } } } } } }), [
    "modules.kv.policy: numax.toml [modules.kv.policy]: capabilities.db.raed: unknown capability; did you mean db.read?",
  ]);
  assert.match(
    issuesOf({ modules: { kv: { policy: "absent.policy.toml" } } })[0]!,
    /^modules\.kv\.policy: policy .*absent\.policy\.toml: no such file$/,
  );
});

test("[modules.<id>] quotas: parsed as a policy's [quotas]; a bad one names the table and key", () => {
  const { moduleSettings } = resolveConfigLayers(
    file({ modules: { kv: { quotas: { ops_per_sec: 100n, mailbox_max: 50n } } } }),
  );
  assert.deepEqual(moduleSettings.get("kv")?.quotas, { opsPerSec: 100, mailboxMax: 50 });
  assert.deepEqual(issuesOf({ modules: { kv: { quotas: { ops_per_sek: 1n } } } }), [
    "modules.kv.quotas: numax.toml [modules.kv]: quotas.ops_per_sek: unknown quota; did you mean ops_per_sec?",
  ]);
  assert.deepEqual(issuesOf({ modules: { kv: { quotas: 5n } } }), [
    "modules.kv.quotas: numax.toml [modules.kv]: write the quotas as a table, for example { ops_per_sec = 100 }",
  ]);
});

test("[modules.<id>] http_fetch_hosts lists the hosts a module may fetch from", () => {
  const hosts = ["api.example.com", "127.0.0.1:8080", "[::1]:9000"];
  const { moduleSettings } = resolveConfigLayers(file({ modules: { m: { http_fetch_hosts: hosts } } }));
  assert.deepEqual(moduleSettings.get("m")?.httpFetchHosts, hosts);
  for (const bad of ["https://api.example.com", "api.example.com/v1", "user@host", "host:99999", "", "a b"]) {
    assert.deepEqual(issuesOf({ modules: { m: { http_fetch_hosts: ["ok.example", bad] } } }), [
      `modules.m.http_fetch_hosts: "${bad}" is not a host with an optional port; write for example "api.example.com" or "127.0.0.1:8080" (no scheme, path or user)`,
    ]);
  }
  assert.match(
    issuesOf({ modules: { m: { http_fetch_hosts: "api.example.com" } } })[0]!,
    /^modules\.m\.http_fetch_hosts: expected a list of hosts, for example \["api\.example\.com"/,
  );
  assert.match(
    issuesOf({ modules: { m: { http_fetch_host: [] } } })[0]!,
    /^modules\.m\.http_fetch_host: unknown key; did you mean http_fetch_hosts\?$/,
  );
});

test("bad module tables are named with what is wrong", () => {
  assert.deepEqual(issuesOf({ modules: { m: { tick: "1ms" } } }), [
    "modules.m.tick: must be between 10ms and 1d, got 1ms",
  ]);
  assert.match(
    issuesOf({ modules: { m: { tik: "1s" } } })[0]!,
    /^modules\.m\.tik: unknown key; did you mean tick\?$/,
  );
  assert.match(issuesOf({ modules: { m: { tick: 5 } } })[0]!, /^modules\.m\.tick: .*duration string/);
  assert.match(issuesOf({ modules: { m: "fast" } })[0]!, /^modules\.m: write \[modules\.m\] as a table/);
  assert.match(issuesOf({ modules: 3 })[0]!, /^\[modules\]: write one table per module/);
});

const dir = tempDir("nx-module-settings-");
after(() => dir.remove());

test("nx run: a module's tick from numax.toml drives on_tick without tick_every", async () => {
  const config = join(dir.path, "numax.toml");
  writeFileSync(config, `[modules.reactive_probe]\ntick = "20ms"\n`);
  const nx = startNx([
    "run",
    guestPath("reactive_probe"),
    "--config",
    config,
    "--datastore-path",
    join(dir.path, "d"),
  ]);
  try {
    await nx.waitFor(/(^tick$[\s\S]*){3}/m);
  } finally {
    assert.equal((await stopNx(nx)).code, 0, nx.stderr());
  }
});

test("[[modules]] lists the modules to run, each with the keys of [modules.<id>], by the same parser", () => {
  const resolved = resolveConfigLayers({
    file: {
      path: "/etc/numax/numax.toml",
      table: {
        modules: [
          { path: "build/app.wasm", tick: "200ms", policy: { capabilities: { time: true } } },
          { path: "/opt/other.wasm", id: "second" },
        ],
      },
    },
  });
  assert.deepEqual(resolved.listedModules, [
    { path: "/etc/numax/build/app.wasm", moduleId: "app" },
    { path: "/opt/other.wasm", moduleId: "second" },
  ]);
  assert.equal(resolved.moduleSettings.get("app")?.tickMs, 200);
  assert.deepEqual([...resolved.moduleSettings.get("app")!.policy!.switches], ["time"]);
  assert.equal(resolved.moduleSettings.get("second")?.policy, undefined);
  // The table form lists nothing to run.
  assert.deepEqual(resolveConfigLayers(file({ modules: { app: { tick: "1s" } } })).listedModules, []);
});

test("[[modules]] entries: a missing path, a bad id, an id twice and unknown keys are one line each", () => {
  assert.deepEqual(
    issuesOf({
      modules: [{ tick: "1s" }, { path: "a.wasm", id: "bad id" }, { path: "x/a.wasm" }, { path: "y/a.wasm" }],
    }),
    [
      'modules[0].path: every [[modules]] entry needs path = "<module>.wasm" (relative to the config file)',
      "modules[1].id: a module id is 1 to 128 letters, digits and _ . - (starting with a letter or digit); leave it out for the file name (a)",
      'modules[3].id: module id a is listed twice; give one of them another id = "..."',
    ],
  );
  assert.deepEqual(issuesOf({ modules: [{ path: "a.wasm", tik: "1s" }] }), [
    "modules[0].tik: unknown key; did you mean tick?",
  ]);
});

test("a file that mixes [[modules]] and [modules.<id>] gets one line saying so", async () => {
  const mixed = tempDir("nx-module-forms-");
  try {
    // In either order: TOML alone answers a redefinition error, or reads a table of the last entry.
    for (const text of [
      '[modules.a]\ntick = "1s"\n\n[[modules]]\npath = "a.wasm"\n',
      '[[modules]]\npath = "a.wasm"\n\n[modules.a]\ntick = "1s"\n',
    ]) {
      writeFileSync(join(mixed.path, "numax.toml"), text);
      const read = await readConfigFile(join(mixed.path, "numax.toml"));
      assert.equal(read.ok, false);
      assert.match(
        read.ok ? "" : read.issue.message,
        /^a file lists its modules as \[\[modules\]\] or sets \[modules\.<id>\] tables, not both/,
      );
    }
    writeFileSync(
      join(mixed.path, "numax.toml"),
      '[[modules]]\npath = "a.wasm"\n\n[[serve]]\nlisten = "127.0.0.1:0"\n',
    );
    assert.equal((await readConfigFile(join(mixed.path, "numax.toml"))).ok, true);
  } finally {
    mixed.remove();
  }
});
