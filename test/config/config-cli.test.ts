import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { Command } from "commander";
import { addConfigOptions, CONFIG_FLAG_NAMES, configFlagsFromOptions } from "../../src/config/cli-options.ts";
import { runConfigInit, runConfigShow } from "../../src/config/config-commands.ts";
import { resolveConfigLayers } from "../../src/config/resolve.ts";
import { CONFIG_KEYS } from "../../src/config/schema.ts";
import { NumaxError } from "../../src/errors/numax-error.ts";

const NX = new URL("../../bin/nx.js", import.meta.url).pathname;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `nx` in a child process with only the given NX_ variables. */
function nx(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("NX_")));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [NX, ...args],
      { env: { ...baseEnv, ...env, NO_COLOR: "1" }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe("commander options from the schema", () => {
  const parse = (argv: string[]) => {
    const command = addConfigOptions(new Command("probe").exitOverride());
    command.parse(argv, { from: "user" });
    return configFlagsFromOptions(command.opts());
  };

  test("every key has a flag, and an absent flag stays absent", () => {
    assert.deepEqual(Object.keys(CONFIG_FLAG_NAMES).sort(), CONFIG_KEYS.map((entry) => entry.key).sort());
    assert.deepEqual(parse([]), { flags: {}, configPath: undefined });
  });

  test("the seed's flags map to their keys: repeatable --peer, switches, --config", () => {
    const { flags, configPath } = parse([
      "--config",
      "node.toml",
      "--listen",
      "0.0.0.0:9000",
      "--peer",
      "10.0.0.1:9000",
      "--peer",
      "10.0.0.2:9000",
      "--debug-protocol",
      "--tls-insecure",
      "--datastore-path",
      "./d",
      "--observability-listen",
      "127.0.0.1:9100",
      "--log-level",
      "debug",
      "--log-format",
      "json",
      "--cpu-ms-per-run",
      "250",
      "--memory-max-mb",
      "32",
      "--max-message-size",
      "1MiB",
    ]);
    assert.equal(configPath, "node.toml");
    assert.deepEqual(flags, {
      "storage.datastore_path": "./d",
      "network.listen": "0.0.0.0:9000",
      "network.peers": ["10.0.0.1:9000", "10.0.0.2:9000"],
      "network.serialization_format": "json",
      "tls.insecure": "true",
      "limits.max_message_size": "1MiB",
      "limits.cpu_ms_per_run": "250",
      "limits.memory_max_mb": "32",
      "observability.listen": "127.0.0.1:9100",
      "observability.log_level": "debug",
      "observability.log_format": "json",
    });
    const { config, sourceOf } = resolveConfigLayers({ flags });
    assert.deepEqual(config.network.peers, [
      { host: "10.0.0.1", port: 9000 },
      { host: "10.0.0.2", port: 9000 },
    ]);
    assert.equal(config.network.serializationFormat, "json");
    assert.equal(config.tls.insecure, true);
    assert.equal(config.limits.maxMessageSizeBytes, 1024 * 1024);
    assert.equal(sourceOf("limits.cpu_ms_per_run"), "flag");
  });
});

describe("nx config implementation (in process)", () => {
  test("init into a missing directory and show with flags but no --effective are clear usage errors", async () => {
    const out = {
      text: "",
      write(chunk: string) {
        this.text += chunk;
      },
    };
    const missing = join(tmpdir(), "numax-no-such-dir", "sub", "numax.toml");
    await assert.rejects(runConfigInit({ output: missing }, out), (error: unknown) => {
      assert.ok(error instanceof NumaxError);
      assert.equal(error.code, "USAGE_CONFIG_WRITE");
      assert.equal(error.message, `cannot write ${missing}: its directory does not exist`);
      return true;
    });
    await assert.rejects(
      runConfigShow({ flags: { "limits.max_peers": "3" }, env: {}, config: "x.toml" }, out),
      /configuration flags only apply with --effective/,
    );
    assert.equal(out.text, "");
  });
});

describe("nx config (child processes)", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "numax-config-cli-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("init writes a file that validate accepts, and refuses to overwrite it without --force", async () => {
    const path = join(dir, "numax.toml");
    const first = await nx(["config", "init", "--output", path]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, `wrote ${path}\n`);
    const stdout = await nx(["config", "init", "--stdout"]);
    assert.equal(await readFile(path, "utf8"), stdout.stdout, "--output and stdout write the same template");

    const again = await nx(["config", "init", "--output", path]);
    assert.equal(again.code, 2);
    assert.equal(
      again.stderr,
      `nx: error: ${path} already exists; pass --force to overwrite it (or --stdout to print the template)\n`,
    );
    assert.equal((await nx(["config", "init", "--output", path, "--force"])).code, 0);

    const valid = await nx(["config", "validate", "--config", path]);
    assert.equal(valid.code, 0, valid.stderr);
    assert.equal(valid.stdout, `ok: ${path} is valid\n`);
  });

  test("validate exits non-zero listing every problem, one line each", async () => {
    const path = join(dir, "bad.toml");
    await writeFile(path, '[limits]\nmax_peers = 0\nmax_peer = 3\n[tls]\ncert = "n.crt"\nca = "ca.crt"\n');
    const run = await nx(["config", "validate", "--config", path], { NX_MAX_PEERS: "garbage" });
    assert.equal(run.code, 2);
    assert.equal(run.stdout, "");
    assert.equal(
      run.stderr,
      [
        "nx: error: invalid configuration (3 problems):",
        `  limits.max_peers (${path}): must be between 1 and 1024, got 0`,
        `  limits.max_peer (${path}): unknown key; did you mean max_peers?`,
        `  tls.cert (${path}): is set but tls.key is not: a certificate needs its private key`,
        "",
      ].join("\n"),
      "the environment is not consulted by validate",
    );
    const syntax = join(dir, "syntax.toml");
    await writeFile(syntax, "[network]\nlisten = \n");
    const broken = await nx(["config", "validate", "--config", syntax]);
    assert.equal(broken.code, 2);
    assert.match(
      broken.stderr,
      new RegExp(`^nx: error: cannot use .*\\n  ${syntax}:2:\\d+: not valid TOML: `),
    );
  });

  test("show --effective prints every key with its source; --json too", async () => {
    const path = join(dir, "show.toml");
    await writeFile(
      path,
      '[network]\nlisten = "0.0.0.0:9000"\nserialization_format = "bincode"\n[limits]\nmax_peers = 8\n',
    );
    const run = await nx(["config", "show", "--config", path, "--effective", "--listen", "127.0.0.1:0"], {
      NX_MAX_PEERS: "9",
      NX_LOG_FORMAT: "json",
    });
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trimEnd().split("\n");
    const rowOf = (key: string) => lines.find((line) => line.startsWith(`${key} `))?.replace(/ +/g, " ");
    assert.equal(rowOf("network.listen"), 'network.listen "127.0.0.1:0" flag --listen');
    assert.equal(rowOf("limits.max_peers"), "limits.max_peers 9 env NX_MAX_PEERS");
    assert.equal(rowOf("observability.log_format"), 'observability.log_format "json" env NX_LOG_FORMAT');
    assert.equal(
      rowOf("network.serialization_format"),
      `network.serialization_format "msgpack" file ${path}`,
    );
    assert.equal(rowOf("limits.max_message_size"), 'limits.max_message_size "16MiB" default');
    assert.equal(rowOf("tls.cert"), "tls.cert (unset) default");
    assert.match(lines.at(-1) ?? "", /^note: .*"bincode" .* read as "msgpack"/);
    assert.equal(lines.filter((line) => !line.startsWith("note:")).length, CONFIG_KEYS.length);

    const json = await nx(["config", "show", "--effective", "--json"], {
      NX_PEERS: "10.0.0.1:1",
      NX_LISTEN: "0.0.0.0:1",
    });
    assert.equal(json.code, 0, json.stderr);
    const shown = JSON.parse(json.stdout);
    assert.equal(shown.configPath, null);
    assert.deepEqual(shown.values["network.peers"], {
      value: ["10.0.0.1:1"],
      source: "env",
      via: "NX_PEERS",
    });
    assert.deepEqual(shown.values["limits.cpu_ms_per_run"], { value: null, source: "default", via: null });
    assert.equal(Object.keys(shown.values).length, CONFIG_KEYS.length);
  });

  test("show lists the [[serve]] listeners key by key, routes and static directories too; --json as serve[]", async () => {
    const path = join(dir, "serve.toml");
    await writeFile(
      path,
      '[[serve]]\nlisten = "127.0.0.1:8080"\nmax_body = "64KiB"\n\n[serve.routes]\n"GET /hello/:name" = "http_hello#hello"\n"WS /ws" = "http_hello#wsEcho"\n\n' +
        '[serve.static]\n"/app/*" = "web"\n\n[[serve]]\nlisten = "127.0.0.1:0"\n\n[serve.routes]\n"POST /echo" = "http_hello#echo"\n',
    );
    const run = await nx(["config", "show", "--config", path]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(
      run.stdout
        .trimEnd()
        .split("\n")
        .map((line) => line.replace(/ +/g, " ")),
      [
        `serve[1].listen "127.0.0.1:8080" file ${path}`,
        `serve[1].max_body "64KiB" file ${path}`,
        `serve[1].routes."GET /hello/:name" "http_hello#hello" file ${path}`,
        `serve[1].routes."WS /ws" "http_hello#wsEcho" file ${path}`,
        `serve[1].static."/app/*" "${resolve("web")}" file ${path}`,
        `serve[2].listen "127.0.0.1:0" file ${path}`,
        `serve[2].routes."POST /echo" "http_hello#echo" file ${path}`,
      ],
    );
    const json = await nx(["config", "show", "--config", path, "--effective", "--json"]);
    assert.equal(json.code, 0, json.stderr);
    const shown = JSON.parse(json.stdout);
    assert.equal(shown.serve.length, 2);
    assert.deepEqual(shown.serve[0].max_body, { value: "64KiB", source: "file", via: path });
    assert.deepEqual(shown.serve[1].max_body, { value: "1MiB", source: "default", via: null });
    assert.deepEqual(shown.serve[1]['routes."POST /echo"'], {
      value: "http_hello#echo",
      source: "file",
      via: path,
    });
  });

  test("show without --effective prints only what the file sets", async () => {
    const path = join(dir, "partial.toml");
    await writeFile(path, '[limits]\nanti_entropy_interval = "90s"\n');
    const run = await nx(["config", "show", "--config", path], { NX_MAX_PEERS: "9" });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.replace(/ +/g, " "), `limits.anti_entropy_interval "1m30s" file ${path}\n`);
    const nothing = await nx(["config", "show"]);
    assert.equal(nothing.code, 2);
    assert.match(nothing.stderr, /^nx: error: nothing to show: pass --config FILE, --effective, or both\n$/);
  });
});
