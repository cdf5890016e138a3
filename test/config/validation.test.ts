import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { ConfigError, type ConfigIssue } from "../../src/config/config-error.ts";
import { parseConfigText } from "../../src/config/config-file.ts";
import { type ConfigLayers, resolveConfig, resolveConfigLayers } from "../../src/config/resolve.ts";
import { NumaxError } from "../../src/errors/numax-error.ts";

function issuesOf(layers: ConfigLayers): readonly ConfigIssue[] {
  try {
    resolveConfigLayers(layers);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    return error.issues;
  }
  assert.fail("expected the configuration to be refused");
}

function fileIssues(toml: string): readonly ConfigIssue[] {
  const parsed = parseConfigText(toml, "numax.toml");
  if (!parsed.ok) return [parsed.issue];
  return issuesOf({ file: { path: "numax.toml", table: parsed.table } });
}

/** The single issue about `subject`, checked for kind and message. */
function assertIssue(
  issues: readonly ConfigIssue[],
  subject: string,
  kind: ConfigIssue["kind"],
  message: RegExp,
): void {
  const matching = issues.filter((issue) => issue.subject === subject);
  assert.equal(matching.length, 1, `one issue about ${subject} in ${JSON.stringify(issues, null, 1)}`);
  assert.equal(matching[0].kind, kind, `kind of the issue about ${subject}`);
  assert.match(matching[0].message, message);
}

describe("validation: each kind of problem names its key", () => {
  test("syntax errors carry line and column", () => {
    const [issue] = fileIssues('[network]\nlisten = "0.0.0.0:9000"\npeers = [ "a:1",\n');
    assert.equal(issue.kind, "syntax");
    assert.equal(issue.subject, "numax.toml");
    assert.equal(issue.line, 4);
    assert.equal(typeof issue.column, "number");
    const other = fileIssues("[limits]\nmax_peers = = 3\n")[0];
    assert.equal(other.kind, "syntax");
    assert.equal(other.line, 2);
    assert.match(other.message, /^not valid TOML: /);
  });

  test("unknown sections suggest the closest one", () => {
    const issues = fileIssues('[netwrok]\nlisten = "0.0.0.0:1"\n[metrics]\nx = 1\n');
    assertIssue(issues, "[netwrok]", "unknown-section", /did you mean \[network\]\?/);
    assertIssue(issues, "[metrics]", "unknown-section", /sections are \[storage\], \[network\]/);
  });

  test("unknown keys suggest a near name, the right section, or list the section", () => {
    const issues = fileIssues(
      [
        "listen = '0.0.0.0:1'",
        "[network]",
        "lisen = '0.0.0.0:1'",
        "max_peers = 3",
        "zzz = 1",
        "[tls]",
        "allowed_peer = []",
      ].join("\n"),
    );
    assertIssue(issues, "network.lisen", "unknown-key", /did you mean listen\?/);
    assertIssue(issues, "network.max_peers", "unknown-key", /did you mean \[limits\] max_peers\?/);
    assertIssue(issues, "network.zzz", "unknown-key", /\[network\] has listen, peers, serialization_format/);
    assertIssue(issues, "tls.allowed_peer", "unknown-key", /did you mean allowed_peers\?/);
    assertIssue(
      issues,
      "listen",
      "unknown-key",
      /inside a section; did you mean \[network\] listen or \[observability\] listen or \[management\] listen\?/,
    );
  });

  test("wrong TOML types", () => {
    const issues = fileIssues(
      [
        "[network]",
        'peers = "10.0.0.1:9000"',
        "[tls]",
        'insecure = "yes"',
        "allowed_peers = [1]",
        "[limits]",
        'max_peers = "64"',
        "queued_ops_limit = 64.5",
        "reconnect_max_delay = 30",
        "max_message_size = true",
        "[storage]",
        "datastore_path = { a = 1 }",
        "[[observability]]",
        "listen = '127.0.0.1:1'",
      ].join("\n"),
    );
    assertIssue(
      issues,
      "network.peers",
      "wrong-type",
      /expected an array of host:port strings, got the string "10.0.0.1:9000"/,
    );
    assertIssue(issues, "tls.insecure", "wrong-type", /expected true or false, got the string "yes"/);
    assertIssue(issues, "tls.allowed_peers", "wrong-type", /an item is not a string\), got the integer 1/);
    assertIssue(issues, "limits.max_peers", "wrong-type", /expected an integer, got the string "64"/);
    assertIssue(issues, "limits.queued_ops_limit", "wrong-type", /expected an integer, got the float 64.5/);
    assertIssue(
      issues,
      "limits.reconnect_max_delay",
      "wrong-type",
      /a duration string such as "30s", got the integer 30/,
    );
    assertIssue(issues, "limits.max_message_size", "wrong-type", /got the boolean true/);
    assertIssue(issues, "storage.datastore_path", "wrong-type", /expected a string, got a table/);
    assertIssue(issues, "[observability]", "wrong-type", /not \[\[observability\]\]/);
  });

  test("invalid values", () => {
    const issues = fileIssues(
      [
        "[network]",
        'listen = "9000"',
        'peers = ["10.0.0.1:9000", "10.0.0.1:9000"]',
        'serialization_format = "protobuf"',
        "[tls]",
        'allowed_peers = ["node-id-1"]',
        'ca = ""',
        "[limits]",
        'anti_entropy_interval = "30 seconds"',
        'max_message_size = "16M"',
        "[observability]",
        'log_level = "verbose"',
        'listen = "[::1]9100"',
        "[discovery]",
        'mode = "mdns"',
      ].join("\n"),
    );
    assertIssue(issues, "network.listen", "invalid-value", /expected host:port, e.g. 0.0.0.0:9000/);
    assertIssue(issues, "network.peers", "invalid-value", /"10.0.0.1:9000" is listed twice/);
    assertIssue(
      issues,
      "network.serialization_format",
      "invalid-value",
      /expected one of "msgpack", "json", got "protobuf"/,
    );
    assertIssue(issues, "tls.allowed_peers", "invalid-value", /item 1: "node-id-1" is not a NodeId/);
    assertIssue(issues, "tls.ca", "invalid-value", /must not be empty/);
    assertIssue(issues, "limits.anti_entropy_interval", "invalid-value", /invalid duration "30 seconds"/);
    assertIssue(issues, "limits.max_message_size", "invalid-value", /ambiguous unit "M"/);
    assertIssue(
      issues,
      "observability.log_level",
      "invalid-value",
      /expected one of "trace", "debug", "info", "warn", "error"/,
    );
    assertIssue(issues, "observability.listen", "invalid-value", /expected \[ipv6\]:port/);
    assertIssue(issues, "discovery.mode", "invalid-value", /expected one of "static", got "mdns"/);
  });

  test("values out of range", () => {
    const issues = fileIssues(
      [
        "[network]",
        'listen = "0.0.0.0:70000"',
        'peers = ["10.0.0.1:0"]',
        "[limits]",
        "max_peers = 0",
        "memory_max_mb = 5000",
        "seen_ops_limit = 99999999999999999999",
        'max_message_size = "2GiB"',
        "socket_timeout_secs = 0",
        'reconnect_initial_delay = "2h"',
        'anti_entropy_interval = "10ms"',
        "[observability]",
        "request_timeout_secs = 301",
      ].join("\n"),
    );
    assertIssue(issues, "network.listen", "invalid-value", /port 70000 is above 65535/);
    assertIssue(issues, "network.peers", "invalid-value", /port 0 only makes sense for a listening address/);
    assertIssue(issues, "limits.max_peers", "out-of-range", /must be between 1 and 1024, got 0/);
    assertIssue(issues, "limits.memory_max_mb", "out-of-range", /must be between 1 and 4096, got 5000/);
    assertIssue(issues, "limits.seen_ops_limit", "out-of-range", /got 99999999999999999999/);
    assertIssue(issues, "limits.max_message_size", "out-of-range", /must be between 4KiB and 1GiB, got 2GiB/);
    assertIssue(issues, "limits.socket_timeout_secs", "out-of-range", /between 1 and 3600, got 0/);
    assertIssue(issues, "limits.reconnect_initial_delay", "out-of-range", /between 1ms and 1h, got 2h/);
    assertIssue(issues, "limits.anti_entropy_interval", "out-of-range", /between 100ms and 1d, got 10ms/);
    assertIssue(issues, "observability.request_timeout_secs", "out-of-range", /between 1 and 300, got 301/);
  });

  test("contradictions", () => {
    const cases: { flags: Record<string, string | boolean>; subject: string; message: RegExp }[] = [
      { flags: { "tls.cert": "n.crt", "tls.ca": "ca.crt" }, subject: "tls.cert", message: /tls.key is not/ },
      { flags: { "tls.key": "n.key", "tls.ca": "ca.crt" }, subject: "tls.key", message: /tls.cert is not/ },
      {
        flags: { "tls.cert": "n.crt", "tls.key": "n.key" },
        subject: "tls.cert",
        message: /tls.ca is not: mutual TLS/,
      },
      { flags: { "tls.ca": "ca.crt" }, subject: "tls.ca", message: /tls.cert and tls.key are not/ },
      {
        flags: { "tls.allowed_peers": "0123456789abcdef0123456789abcdef" },
        subject: "tls.allowed_peers",
        message: /an allowlist needs certificates verified against a CA/,
      },
      {
        flags: { "tls.insecure": true, "tls.cert": "n.crt", "tls.key": "n.key", "tls.ca": "ca.crt" },
        subject: "tls.insecure",
        message: /tls.cert, tls.key, tls.ca are set: choose mutual TLS or plain TCP/,
      },
      {
        flags: { "network.peers": "10.0.0.1:9000" },
        subject: "network.peers",
        message: /network.listen is not/,
      },
      {
        flags: { "limits.reconnect_initial_delay": "1m", "limits.reconnect_max_delay": "30s" },
        subject: "limits.reconnect_initial_delay",
        message: /longer than limits.reconnect_max_delay/,
      },
      {
        flags: { "network.listen": "0.0.0.0:9100", "observability.listen": "127.0.0.1:9100" },
        subject: "observability.listen",
        message: /collides with network.listen 0.0.0.0:9100/,
      },
    ];
    for (const { flags, subject, message } of cases) {
      const issues = issuesOf({ flags });
      assert.equal(issues.length, 1, `${subject}: ${JSON.stringify(issues)}`);
      assertIssue(issues, subject, "contradiction", message);
      assert.equal(issues[0].source, "flag");
    }
    // Consistent combinations pass.
    resolveConfigLayers({
      flags: {
        "tls.cert": "n.crt",
        "tls.key": "n.key",
        "tls.ca": "ca.crt",
        "tls.allowed_peers": "0123456789abcdef0123456789abcdef",
        "network.listen": "0.0.0.0:9000",
        "network.peers": "10.0.0.1:9000",
        "observability.listen": "127.0.0.1:9100",
      },
    });
    resolveConfigLayers({
      flags: { "tls.insecure": true, "network.listen": "127.0.0.1:0", "observability.listen": "127.0.0.1:0" },
    });
  });

  test("a contradiction is not reported on top of a bad value of the same key", () => {
    const issues = issuesOf({ flags: { "network.peers": "nonsense", "network.listen": undefined } });
    assert.deepEqual(
      issues.map((issue) => [issue.subject, issue.kind]),
      [["network.peers", "invalid-value"]],
    );
  });

  test("environment and flag problems name the variable and the flag", () => {
    const issues = issuesOf({
      env: { NX_MAX_PEERS: "many", NX_TLS_INSECURE: "yes", NX_LISTEN: "localhost" },
      flags: { "limits.memory_max_mb": "0", "observability.log_format": "xml" },
    });
    assertIssue(issues, "limits.max_peers", "invalid-value", /expected an integer, got "many"/);
    assertIssue(issues, "tls.insecure", "invalid-value", /expected true, false, 1 or 0/);
    assertIssue(issues, "network.listen", "invalid-value", /expected host:port/);
    assertIssue(issues, "limits.memory_max_mb", "out-of-range", /between 1 and 4096, got 0/);
    assertIssue(issues, "observability.log_format", "invalid-value", /"text", "json"/);
    const byKey = new Map(issues.map((issue) => [issue.subject, issue]));
    assert.equal(byKey.get("limits.max_peers")?.via, "NX_MAX_PEERS");
    assert.equal(byKey.get("limits.max_peers")?.source, "env");
    assert.equal(byKey.get("limits.memory_max_mb")?.via, "--memory-max-mb");
    assert.equal(byKey.get("limits.memory_max_mb")?.source, "flag");
  });

  test("an unknown flag key is reported", () => {
    const issues = issuesOf({ flags: { "limits.max_peer": "3" } as never });
    assertIssue(issues, "limits.max_peer", "unknown-key", /not a configuration key/);
  });

  test("every problem at once, in one ConfigError: a summary and one line per issue", () => {
    const parsed = parseConfigText(
      '[limits]\nmax_peers = 0\n[netwrok]\n[network]\npeers = ["a:1"]\n',
      "n.toml",
    );
    assert.ok(parsed.ok);
    try {
      resolveConfigLayers({ file: { path: "n.toml", table: parsed.table }, env: { NX_LOG_LEVEL: "loud" } });
      assert.fail("should be refused");
    } catch (error) {
      assert.ok(error instanceof ConfigError && error instanceof NumaxError);
      assert.equal(error.code, "USAGE_CONFIG_INVALID");
      assert.equal(
        error.message,
        [
          "invalid configuration (4 problems):",
          "  limits.max_peers (n.toml): must be between 1 and 1024, got 0",
          "  [netwrok] (n.toml): unknown section; did you mean [network]?",
          '  observability.log_level (NX_LOG_LEVEL): expected one of "trace", "debug", "info", "warn", "error", got "loud"',
          "  network.peers (n.toml): is set but network.listen is not: listen turns sync on, without it the peers are never dialed",
        ].join("\n"),
      );
    }
  });

  describe("files that cannot be used", () => {
    const dirs: string[] = [];
    after(async () => {
      for (const dir of dirs) await rm(dir, { recursive: true, force: true });
    });

    test("a missing file and a directory are one clear issue each", async () => {
      const dir = await mkdtemp(join(tmpdir(), "numax-config-"));
      dirs.push(dir);
      await assert.rejects(
        resolveConfig({ env: {}, configPath: join(dir, "absent.toml") }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assertIssue(
            error.issues,
            join(dir, "absent.toml"),
            "unreadable",
            /no such file .*nx config init --output FILE/,
          );
          return true;
        },
      );
      await assert.rejects(resolveConfig({ env: {}, configPath: dir }), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assertIssue(error.issues, dir, "unreadable", /is a directory/);
        return true;
      });
    });
  });
});
