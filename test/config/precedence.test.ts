import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { ConfigSource } from "../../src/config/config-error.ts";
import { parseConfigText } from "../../src/config/config-file.ts";
import { effectiveValues } from "../../src/config/effective-config-view.ts";
import {
  type ConfigFlags,
  type ConfigLayers,
  resolveConfig,
  resolveConfigLayers,
} from "../../src/config/resolve.ts";
import { CONFIG_KEYS, type ConfigKey, findConfigKey } from "../../src/config/schema.ts";

/** Two distinct valid values per key: as text (env, flag) and as the TOML literal written in a file. */
interface Sample {
  readonly text: string;
  readonly toml: string;
}

const NODE_A = "0123456789abcdef0123456789abcdef";
const NODE_B = "fedcba9876543210fedcba9876543210";

const SAMPLES: Readonly<Record<ConfigKey, readonly [Sample, Sample]>> = {
  "storage.datastore_path": [
    { text: "/data/a", toml: '"/data/a"' },
    { text: "/data/b", toml: '"/data/b"' },
  ],
  "storage.durability": [
    { text: "group", toml: '"group"' },
    { text: "relaxed", toml: '"relaxed"' },
  ],
  "network.listen": [
    { text: "127.0.0.1:9001", toml: '"127.0.0.1:9001"' },
    { text: "[::1]:9002", toml: '"[::1]:9002"' },
  ],
  "network.peers": [
    { text: "10.0.0.1:9000,10.0.0.2:9000", toml: '["10.0.0.1:9000", "10.0.0.2:9000"]' },
    { text: "node-3.local:9000", toml: '["node-3.local:9000"]' },
  ],
  "network.serialization_format": [
    { text: "msgpack", toml: '"msgpack"' },
    { text: "json", toml: '"json"' },
  ],
  "network.fanout_extra": [
    { text: "2", toml: "2" },
    { text: "5", toml: "5" },
  ],
  "network.max_connections": [
    { text: "6", toml: "6" },
    { text: "12", toml: "12" },
  ],
  "sync.coalesce_map_writes": [
    { text: "false", toml: "false" },
    { text: "true", toml: "true" },
  ],
  "tls.cert": [
    { text: "a.crt", toml: '"a.crt"' },
    { text: "b.crt", toml: '"b.crt"' },
  ],
  "tls.key": [
    { text: "a.key", toml: '"a.key"' },
    { text: "b.key", toml: '"b.key"' },
  ],
  "tls.ca": [
    { text: "a-ca.crt", toml: '"a-ca.crt"' },
    { text: "b-ca.crt", toml: '"b-ca.crt"' },
  ],
  "tls.allowed_peers": [
    { text: NODE_A, toml: `["${NODE_A}"]` },
    { text: `${NODE_A},${NODE_B}`, toml: `["${NODE_A}", "${NODE_B}"]` },
  ],
  "tls.insecure": [
    { text: "false", toml: "false" },
    { text: "true", toml: "true" },
  ],
  "limits.max_peers": [
    { text: "8", toml: "8" },
    { text: "16", toml: "16" },
  ],
  "limits.queued_ops_limit": [
    { text: "100", toml: "100" },
    { text: "200", toml: "200" },
  ],
  "limits.op_log_limit": [
    { text: "300", toml: "300" },
    { text: "400", toml: "400" },
  ],
  "limits.seen_ops_limit": [
    { text: "500", toml: "500" },
    { text: "600", toml: "600" },
  ],
  "limits.op_log_size_limit": [
    { text: "1MiB", toml: '"1MiB"' },
    { text: "2MiB", toml: '"2MiB"' },
  ],
  "limits.max_message_size": [
    { text: "1MiB", toml: '"1MiB"' },
    { text: "2MiB", toml: '"2MiB"' },
  ],
  "limits.socket_timeout_secs": [
    { text: "10", toml: "10" },
    { text: "20", toml: "20" },
  ],
  "limits.reconnect_initial_delay": [
    { text: "100ms", toml: '"100ms"' },
    { text: "200ms", toml: '"200ms"' },
  ],
  "limits.reconnect_max_delay": [
    { text: "1m", toml: '"1m"' },
    { text: "2m", toml: '"2m"' },
  ],
  "limits.peer_dead_after_failures": [
    { text: "5", toml: "5" },
    { text: "6", toml: "6" },
  ],
  "limits.anti_entropy_interval": [
    { text: "10s", toml: '"10s"' },
    { text: "20s", toml: '"20s"' },
  ],
  "limits.compaction_interval": [
    { text: "10s", toml: '"10s"' },
    { text: "20s", toml: '"20s"' },
  ],
  "limits.tombstone_horizon": [
    { text: "1h", toml: '"1h"' },
    { text: "2h", toml: '"2h"' },
  ],
  "limits.cpu_ms_per_run": [
    { text: "100", toml: "100" },
    { text: "200", toml: "200" },
  ],
  "limits.memory_max_mb": [
    { text: "64", toml: "64" },
    { text: "128", toml: "128" },
  ],
  "observability.listen": [
    { text: "127.0.0.1:9100", toml: '"127.0.0.1:9100"' },
    { text: "127.0.0.1:9101", toml: '"127.0.0.1:9101"' },
  ],
  "observability.log_level": [
    { text: "debug", toml: '"debug"' },
    { text: "warn", toml: '"warn"' },
  ],
  "observability.log_format": [
    { text: "json", toml: '"json"' },
    { text: "text", toml: '"text"' },
  ],
  "observability.request_timeout_secs": [
    { text: "2", toml: "2" },
    { text: "3", toml: "3" },
  ],
  "observability.expose_data": [
    { text: "false", toml: "false" },
    { text: "true", toml: "true" },
  ],
  "discovery.mode": [
    { text: "bootstrap", toml: '"bootstrap"' },
    { text: "mdns", toml: '"mdns"' },
  ],
  "discovery.bootstrap": [
    { text: "10.0.0.1:9000", toml: '["10.0.0.1:9000"]' },
    { text: "10.0.0.2:9000,10.0.0.3:9000", toml: '["10.0.0.2:9000", "10.0.0.3:9000"]' },
  ],
  "discovery.peers_file": [
    { text: "/etc/numax/peers", toml: '"/etc/numax/peers"' },
    { text: "./peers.txt", toml: '"./peers.txt"' },
  ],
  "discovery.dns_srv_name": [
    { text: "_numax._tcp.example.com", toml: '"_numax._tcp.example.com"' },
    {
      text: "_numax._tcp.numax.default.svc.cluster.local",
      toml: '"_numax._tcp.numax.default.svc.cluster.local"',
    },
  ],
  "discovery.dns_server": [
    { text: "127.0.0.1:5353", toml: '"127.0.0.1:5353"' },
    { text: "[::1]:53", toml: '"[::1]:53"' },
  ],
  "discovery.mdns_service": [
    { text: "_numax._tcp.local", toml: '"_numax._tcp.local"' },
    { text: "_blue._tcp.local", toml: '"_blue._tcp.local"' },
  ],
  "discovery.mdns_interface": [
    { text: "127.0.0.1", toml: '"127.0.0.1"' },
    { text: "192.168.1.10", toml: '"192.168.1.10"' },
  ],
  "discovery.refresh_interval": [
    { text: "1s", toml: '"1s"' },
    { text: "2m", toml: '"2m"' },
  ],
  "management.listen": [
    { text: "127.0.0.1:9202", toml: '"127.0.0.1:9202"' },
    { text: "off", toml: '"off"' },
  ],
  "management.token_file": [
    { text: "/run/a.token", toml: '"/run/a.token"' },
    { text: "/run/b.token", toml: '"/run/b.token"' },
  ],
  "management.read_token_file": [
    { text: "/run/a-read.token", toml: '"/run/a-read.token"' },
    { text: "/run/b-read.token", toml: '"/run/b-read.token"' },
  ],
  "management.tls_cert": [
    { text: "a.crt", toml: '"a.crt"' },
    { text: "b.crt", toml: '"b.crt"' },
  ],
  "management.tls_key": [
    { text: "a.key", toml: '"a.key"' },
    { text: "b.key", toml: '"b.key"' },
  ],
  "management.allow_remote_plaintext": [
    { text: "true", toml: "true" },
    { text: "false", toml: "false" },
  ],
  "policy.default": [
    { text: "trusted", toml: '"trusted"' },
    { text: "deny", toml: '"deny"' },
  ],
  "policy.require_signatures": [
    { text: "true", toml: "true" },
    { text: "false", toml: "false" },
  ],
  "policy.audit_log": [
    { text: "/tmp/a.jsonl", toml: '"/tmp/a.jsonl"' },
    { text: "/tmp/b.jsonl", toml: '"/tmp/b.jsonl"' },
  ],
  "policy.audit_sample_every": [
    { text: "10", toml: "10" },
    { text: "1", toml: "1" },
  ],
  "dashboard.listen": [
    { text: "127.0.0.1:9201", toml: '"127.0.0.1:9201"' },
    { text: "off", toml: '"off"' },
  ],
};

/** Keys a key needs beside it to be consistent; given as flags on every other key's behalf. */
const COMPANIONS: Partial<Record<ConfigKey, ConfigFlags>> = {
  "network.peers": { "network.listen": "127.0.0.1:0" },
  "tls.cert": { "tls.key": "n.key", "tls.ca": "ca.crt" },
  "tls.key": { "tls.cert": "n.crt", "tls.ca": "ca.crt" },
  "tls.ca": { "tls.cert": "n.crt", "tls.key": "n.key" },
  "tls.allowed_peers": { "tls.cert": "n.crt", "tls.key": "n.key", "tls.ca": "ca.crt" },
  "discovery.mode": { "network.listen": "127.0.0.1:0" },
  "discovery.bootstrap": { "network.listen": "127.0.0.1:0", "discovery.mode": "bootstrap" },
  "discovery.peers_file": { "network.listen": "127.0.0.1:0", "discovery.mode": "file" },
  "discovery.dns_srv_name": { "network.listen": "127.0.0.1:0", "discovery.mode": "dns-srv" },
  "discovery.dns_server": {
    "network.listen": "127.0.0.1:0",
    "discovery.mode": "dns-srv",
    "discovery.dns_srv_name": "_numax._tcp.example.com",
  },
  "discovery.mdns_interface": { "network.listen": "127.0.0.1:0", "discovery.mode": "mdns" },
  "management.tls_cert": { "management.tls_key": "m.key" },
  "management.tls_key": { "management.tls_cert": "m.crt" },
};

function envName(key: ConfigKey): string {
  return findConfigKey(key)!.env;
}

function layerWith(key: ConfigKey, source: Exclude<ConfigSource, "default">, sample: Sample): ConfigLayers {
  if (source === "flag") return { flags: { [key]: sample.text } };
  if (source === "env") return { env: { [envName(key)]: sample.text } };
  const entry = findConfigKey(key)!;
  const parsed = parseConfigText(`[${entry.section}]\n${entry.name} = ${sample.toml}\n`, "test.toml");
  assert.ok(parsed.ok);
  return { file: { path: "test.toml", table: parsed.table } };
}

function merge(...layers: ConfigLayers[]): ConfigLayers {
  return layers.reduce<ConfigLayers>(
    (merged, layer) => ({
      flags: { ...merged.flags, ...layer.flags },
      env: { ...merged.env, ...layer.env },
      ...((layer.file ?? merged.file) ? { file: layer.file ?? merged.file } : {}),
    }),
    {},
  );
}

function effective(layers: ConfigLayers, key: ConfigKey): { value: unknown; source: ConfigSource } {
  const row = effectiveValues(resolveConfigLayers(layers)).find((candidate) => candidate.key === key)!;
  return { value: row.value, source: row.source };
}

/** The value of `sample` as `show` renders it, read through the layer alone. */
function expectedValue(key: ConfigKey, sample: Sample): unknown {
  return effective(merge({ flags: COMPANIONS[key] ?? {} }, layerWith(key, "env", sample)), key).value;
}

const PAIRS: readonly [Exclude<ConfigSource, "default">, ConfigSource][] = [
  ["flag", "env"],
  ["flag", "file"],
  ["flag", "default"],
  ["env", "file"],
  ["env", "default"],
  ["file", "default"],
];

describe("precedence: flag > env > file > default", () => {
  test("the samples cover every key", () => {
    assert.deepEqual(Object.keys(SAMPLES).sort(), CONFIG_KEYS.map((entry) => entry.key).sort());
  });

  for (const [higher, lower] of PAIRS) {
    test(`${higher} beats ${lower}, for every key`, () => {
      for (const entry of CONFIG_KEYS) {
        const [winner, loser] = SAMPLES[entry.key];
        const layers = [{ flags: COMPANIONS[entry.key] ?? {} }, layerWith(entry.key, higher, winner)];
        if (lower !== "default") layers.push(layerWith(entry.key, lower, loser));
        const got = effective(merge(...layers), entry.key);
        assert.equal(got.source, higher, `${entry.key}: source`);
        assert.deepEqual(got.value, expectedValue(entry.key, winner), `${entry.key}: value`);
        if (winner.text !== loser.text) {
          assert.notDeepEqual(got.value, expectedValue(entry.key, loser), `${entry.key}: the samples differ`);
        }
      }
    });
  }

  test("all three layers at once: the flag wins, and each source is reported per key", () => {
    const layers = merge(
      layerWith("limits.max_peers", "file", { text: "1", toml: "1" }),
      layerWith("limits.max_peers", "env", { text: "2", toml: "2" }),
      layerWith("limits.max_peers", "flag", { text: "3", toml: "3" }),
      layerWith("limits.op_log_limit", "file", { text: "7", toml: "7" }),
      layerWith("observability.log_level", "env", { text: "error", toml: '"error"' }),
    );
    const resolved = resolveConfigLayers(layers);
    assert.equal(resolved.config.limits.maxPeers, 3);
    assert.equal(resolved.sourceOf("limits.max_peers"), "flag");
    assert.equal(resolved.config.limits.opLogLimit, 7);
    assert.equal(resolved.sourceOf("limits.op_log_limit"), "file");
    assert.equal(resolved.config.observability.logLevel, "error");
    assert.equal(resolved.sourceOf("observability.log_level"), "env");
    assert.equal(resolved.sourceOf("limits.seen_ops_limit"), "default");
  });

  test("an empty NX_ variable counts as unset", () => {
    const resolved = resolveConfigLayers({ env: { NX_MAX_PEERS: "", NX_LISTEN: "" } });
    assert.equal(resolved.sourceOf("limits.max_peers"), "default");
    assert.equal(resolved.config.network.listen, undefined);
  });
});

describe("resolveConfig (reads the file)", () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  test("file, environment and flags from a real numax.toml, normalized", async () => {
    const dir = await mkdtemp(join(tmpdir(), "numax-config-"));
    dirs.push(dir);
    const path = join(dir, "numax.toml");
    await writeFile(
      path,
      [
        "[network]",
        'listen = "0.0.0.0:9000"',
        'peers = ["10.0.0.2:9000", "10.0.0.3:9000"]',
        'serialization_format = "bincode"',
        "[limits]",
        'max_message_size = "512KiB"',
        "socket_timeout_secs = 12",
        'reconnect_initial_delay = "250ms"',
        "[observability]",
        "request_timeout_secs = 2",
      ].join("\n"),
    );
    const resolved = await resolveConfig({
      configPath: path,
      env: { NX_PEERS: "10.0.0.9:9000", NX_LOG_LEVEL: "debug", UNRELATED: "x" },
      flags: { "network.listen": "127.0.0.1:0" },
    });
    const { config, sourceOf } = resolved;
    assert.deepEqual(config.network.listen, { host: "127.0.0.1", port: 0 });
    assert.equal(sourceOf("network.listen"), "flag");
    assert.deepEqual(config.network.peers, [{ host: "10.0.0.9", port: 9000 }]);
    assert.equal(sourceOf("network.peers"), "env");
    assert.equal(config.network.serializationFormat, "msgpack");
    assert.match(resolved.notes.join("\n"), /"bincode" .* read as "msgpack"/);
    assert.equal(config.limits.maxMessageSizeBytes, 512 * 1024);
    assert.equal(config.limits.socketTimeoutMs, 12_000);
    assert.equal(config.limits.reconnectInitialDelayMs, 250);
    assert.equal(config.observability.requestTimeoutMs, 2000);
    assert.equal(config.observability.logLevel, "debug");
    assert.equal(config.storage.datastorePath, "./nx-data");
    assert.equal(resolved.configPath, path);
  });

  test("without a file: defaults, normalized", async () => {
    const { config, sourceOf } = await resolveConfig({ env: {} });
    assert.deepEqual(config, {
      storage: { datastorePath: "./nx-data", durability: "group" },
      network: {
        listen: undefined,
        peers: [],
        serializationFormat: "msgpack",
        fanoutExtra: 1,
        maxConnections: 12,
      },
      sync: { coalesceMapWrites: false },
      tls: { cert: undefined, key: undefined, ca: undefined, allowedPeers: [], insecure: false },
      limits: {
        maxPeers: 64,
        queuedOpsLimit: 10_000,
        opLogLimit: 300_000,
        opLogSizeLimitBytes: 64 * 1024 * 1024,
        seenOpsLimit: 100_000,
        maxMessageSizeBytes: 16 * 1024 * 1024,
        socketTimeoutMs: 30_000,
        reconnectInitialDelayMs: 500,
        reconnectMaxDelayMs: 30_000,
        peerDeadAfterFailures: 3,
        antiEntropyIntervalMs: 30_000,
        compactionIntervalMs: 60_000,
        tombstoneHorizonMs: 7 * 86_400_000,
        cpuMsPerRun: undefined,
        memoryMaxMb: 256,
      },
      observability: {
        listen: undefined,
        logLevel: "info",
        logFormat: "text",
        requestTimeoutMs: 5000,
        exposeData: false,
      },
      discovery: {
        mode: "static",
        bootstrap: [],
        peersFile: undefined,
        dnsSrvName: undefined,
        dnsServer: undefined,
        mdnsService: "_numax._tcp.local",
        mdnsInterface: undefined,
        refreshIntervalMs: 30_000,
      },
      management: {
        listen: { host: "127.0.0.1", port: 9102 },
        tokenFile: undefined,
        readTokenFile: undefined,
        tlsCert: undefined,
        tlsKey: undefined,
        allowRemotePlaintext: false,
      },
      policy: { default: "deny", requireSignatures: false, auditLog: undefined, auditSampleEvery: 100 },
      dashboard: { listen: { host: "127.0.0.1", port: 9101 } },
    });
    assert.ok(CONFIG_KEYS.every((entry) => sourceOf(entry.key) === "default"));
    assert.ok(
      Object.isFrozen(config) && Object.isFrozen(config.limits) && Object.isFrozen(config.network.peers),
    );
  });
});
