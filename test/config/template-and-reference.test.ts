import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, test } from "node:test";
import { parseConfigText } from "../../src/config/config-file.ts";
import { renderConfigReference, updateConfigReference } from "../../src/config/config-reference.ts";
import { renderConfigTemplate } from "../../src/config/config-template.ts";
import { resolveConfigLayers } from "../../src/config/resolve.ts";
import { CONFIG_ENV_NAMES, CONFIG_KEYS, CONFIG_SECTIONS } from "../../src/config/schema.ts";

const DOC_PATH = new URL("../../docs/configuration.md", import.meta.url);

describe("schema", () => {
  test("environment variables and flags are unique and follow the naming rules", () => {
    const flags = CONFIG_KEYS.map((entry) => entry.flag.name);
    assert.equal(CONFIG_ENV_NAMES.size, CONFIG_KEYS.length, "one variable per key");
    assert.equal(new Set(flags).size, flags.length);
    for (const entry of CONFIG_KEYS) {
      assert.match(entry.env, /^NX_[A-Z0-9_]+$/, entry.key);
      assert.match(entry.flag.name, /^--[a-z0-9-]+$/, entry.key);
      assert.ok(entry.doc.length > 10 && !entry.doc.includes("\n"), `${entry.key} has a one-line doc`);
      assert.ok(Object.hasOwn(CONFIG_SECTIONS, entry.section));
    }
  });

  test("only the optional features are unset by default, and each has an example", () => {
    const unset = CONFIG_KEYS.filter((entry) => entry.default === undefined);
    assert.deepEqual(
      unset.map((entry) => entry.key),
      [
        "network.listen",
        "tls.cert",
        "tls.key",
        "tls.ca",
        "limits.cpu_ms_per_run",
        "observability.listen",
        "discovery.peers_file",
        "discovery.dns_srv_name",
        "discovery.dns_server",
        "discovery.mdns_interface",
        // Unset: the files in the datastore.
        "management.token_file",
        "management.read_token_file",
        "management.tls_cert",
        "management.tls_key",
        "policy.audit_log",
      ],
    );
    for (const entry of unset) assert.notEqual(entry.example, undefined, entry.key);
  });
});

describe("nx config init template", () => {
  const template = renderConfigTemplate();

  test("parses, validates and yields exactly the defaults (all from the file)", () => {
    const parsed = parseConfigText(template, "numax.toml");
    assert.ok(parsed.ok, "the template is valid TOML");
    const fromTemplate = resolveConfigLayers({ file: { path: "numax.toml", table: parsed.table } });
    const defaults = resolveConfigLayers({});
    assert.deepEqual(fromTemplate.config, defaults.config);
    for (const entry of CONFIG_KEYS) {
      assert.equal(
        fromTemplate.sourceOf(entry.key),
        entry.default === undefined ? "default" : "file",
        entry.key,
      );
    }
  });

  test("lists every key with its doc, env and flag; unset keys commented out with an example", () => {
    for (const section of Object.keys(CONFIG_SECTIONS))
      assert.match(template, new RegExp(`^\\[${section}\\]$`, "m"));
    for (const entry of CONFIG_KEYS) {
      const linePrefix = entry.default === undefined ? `# ${entry.name} = ` : `${entry.name} = `;
      assert.ok(template.includes(`\n${linePrefix}`), `${entry.key} is in the template`);
      assert.ok(
        template.includes(`env ${entry.env} · flag ${entry.flag.name}`),
        `${entry.key} names env and flag`,
      );
      assert.ok(template.includes(`# ${entry.doc}`), `${entry.key} has its doc`);
    }
  });

  /** The template with the examples of `keys` uncommented, resolved with `flags` on top. */
  function uncomment(keys: readonly string[], flags: Record<string, string> = {}) {
    let section = "";
    const text = template
      .split("\n")
      .map((line) => {
        section = /^\[([a-z_]+)\]$/.exec(line)?.[1] ?? section;
        const name = /^# ([a-z_]+) = /.exec(line)?.[1];
        return name !== undefined && keys.includes(`${section}.${name}`) ? line.slice(2) : line;
      })
      .join("\n");
    const parsed = parseConfigText(text, "numax.toml");
    assert.ok(parsed.ok);
    return resolveConfigLayers({ flags, file: { path: "numax.toml", table: parsed.table } }).config;
  }

  test("uncommenting the examples gives a file that still validates", () => {
    // The [discovery] examples belong to different modes: each is checked with its own below.
    const config = uncomment(
      CONFIG_KEYS.filter((entry) => entry.default === undefined && entry.section !== "discovery").map(
        (e) => e.key,
      ),
    );
    assert.deepEqual(config.network.listen, { host: "0.0.0.0", port: 9000 });
    assert.equal(config.tls.cert, "./certs/node.crt");
    assert.equal(config.limits.cpuMsPerRun, 5000);
    assert.deepEqual(config.observability.listen, { host: "127.0.0.1", port: 9100 });
  });

  test("each discovery example validates with the mode that reads it", () => {
    const withMode = (mode: string, keys: string[]) =>
      uncomment(["network.listen", ...keys], { "discovery.mode": mode }).discovery;
    assert.equal(withMode("file", ["discovery.peers_file"]).peersFile, "./peers.txt");
    const dns = withMode("dns-srv", ["discovery.dns_srv_name", "discovery.dns_server"]);
    assert.equal(dns.dnsSrvName, "_numax._tcp.numax.default.svc.cluster.local");
    assert.deepEqual(dns.dnsServer, { host: "10.96.0.10", port: 53 });
    assert.equal(withMode("mdns", ["discovery.mdns_interface"]).mdnsInterface, "192.168.1.10");
  });
});

describe("docs/configuration.md", () => {
  test("its reference table is the one generated from the schema (run scripts/generate-config-docs.ts)", async () => {
    const document = await readFile(DOC_PATH, "utf8");
    assert.equal(document, updateConfigReference(document), "docs/configuration.md is stale");
    for (const entry of CONFIG_KEYS) assert.ok(document.includes(`\`${entry.env}\``), entry.env);
  });

  test("the table has one row per key", () => {
    const rows = renderConfigReference()
      .split("\n")
      .filter((line) => line.startsWith("| `"));
    assert.equal(rows.length, CONFIG_KEYS.length);
  });
});
