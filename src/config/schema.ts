import { MDNS_SERVICE_DEFAULT } from "../discovery/mdns-records.ts";
import { NumaxError } from "../errors/numax-error.ts";
import { isNodeId, type NodeId } from "../identity/node-id.ts";
import { MAX_MESSAGE_SIZE_MIN_BYTES } from "../net/frame.ts";
import { LOG_FORMATS, LOG_LEVELS } from "../observe/logger.ts";
import { MAX_CONNECTIONS_DEFAULT, MAX_CONNECTIONS_MIN } from "../sync/connection-bound.ts";
import { type ConfigSection, DISCOVERY_MODES, type NodeConfig } from "./node-config.ts";
import { formatSocketAddress, parseSocketAddress } from "./socket-address.ts";
import {
  addressKind,
  addressOrOffKind,
  booleanKind,
  dnsNameKind,
  durationKind,
  enumKind,
  integerKind,
  ipEndpointKind,
  ipv4Kind,
  listKind,
  pathKind,
  secondsKind,
  sizeKind,
  type ValueKind,
} from "./value-kind.ts";

/**
 * The single source of truth for every configuration key: its TOML section and name, type,
 * range, default, environment variable, CLI flag and documentation. Validation, `nx config init`,
 * `nx config show`, the `nx run` flags and docs/configuration.md are all generated from it.
 * Adding a key = adding an entry here (and its field in NodeConfig: the types insist).
 */

/** The CLI flag that sets a key (one per key). */
export interface FlagSpec {
  /** Long name, e.g. `--listen`. */
  readonly name: string;
  /** Placeholder of the argument, e.g. `<host:port>`; absent for a switch. */
  readonly argument?: string;
  /** The flag may be repeated; the values form the list (`--peer a --peer b`). */
  readonly repeatable?: boolean;
  /** For a switch: the value it stands for, as text (`--debug-protocol` = `json`). */
  readonly switchValue?: string;
  /** Help text when the flag needs its own wording (a switch standing for one value). */
  readonly help?: string;
}

export interface ConfigKeyDef<V, N extends string = string> {
  /** Name inside the section, as written in numax.toml. */
  readonly name: N;
  readonly kind: ValueKind<V>;
  /** The default; `undefined` = unset (the feature is off). */
  readonly default: V | undefined;
  /** For keys unset by default: the value `nx config init` shows, commented out. */
  readonly example?: V;
  /** Unit of a plain number as written in the file (`seconds`, `MiB`); durations and sizes carry their own. */
  readonly unit?: string;
  /** One line for the docs, the generated file and `--help`. */
  readonly doc: string;
  readonly env: string;
  readonly flag: FlagSpec;
}

function defineKey<const N extends string, V>(def: ConfigKeyDef<V, N>): ConfigKeyDef<V, N> {
  return def;
}

function nodeIdItem(text: string): NodeId {
  if (!isNodeId(text)) {
    throw new NumaxError(
      "USAGE_INVALID_NODE_ID",
      `"${text}" is not a NodeId (32 lowercase hex characters; \`nx cert id <cert.pem>\` prints one)`,
    );
  }
  return text;
}

const listenAddress = addressKind({ allowPortZero: true });
const peerAddresses = listKind({
  typeName: "host:port",
  parse: (text) => parseSocketAddress(text, { allowPortZero: false }),
  format: formatSocketAddress,
});
const nodeIds = listKind<NodeId>({ typeName: "NodeId", parse: nodeIdItem, format: (id) => id });

const MB = 1024 * 1024;

/** Port of the management API by default (the observability endpoint's examples use 9100, the dashboard 9101). */
export const MANAGEMENT_PORT_DEFAULT = 9102;

/** Port of the dashboard by default. */
export const DASHBOARD_PORT_DEFAULT = 9101;

/** Sections in the order the generated file and the docs list them, with a line about each. */
export const CONFIG_SECTIONS: Readonly<Record<ConfigSection, string>> = {
  storage: "Where the node keeps its data.",
  network: "Sync between nodes: setting `listen` turns sync on.",
  sync: "What this node's replicated state sends its peers. Set the same on every node of a cluster.",
  tls: "Mutual TLS between nodes. NodeIds are derived from certificates.",
  limits: "Bounds on resources, queues and timing. The defaults suit most clusters.",
  observability: "Logs, and the opt-in HTTP endpoint with /metrics, /health and /ready.",
  discovery: "How peers are found.",
  management:
    "The management API (`/api/v1/`, bearer tokens) of a node that keeps running; docs/management-api.md.",
  policy: "Capability policies of the modules (docs/design/policies.md).",
  dashboard:
    "The built-in dashboard (read-only web pages, the management tokens) of a node that keeps running; docs/dashboard.md.",
};

export const CONFIG_SCHEMA = {
  storage: {
    datastorePath: defineKey({
      name: "datastore_path",
      kind: pathKind(),
      default: "./nx-data",
      doc: "Directory of the node's LMDB store, created if missing.",
      env: "NX_DATASTORE_PATH",
      flag: { name: "--datastore-path", argument: "<dir>" },
    }),
    durability: defineKey({
      name: "durability",
      kind: enumKind(["group", "relaxed"]),
      default: "group",
      doc: 'When guest output may leave the node: "group" holds it until the writes before it are on disk; "relaxed" lets it out at once (a crash may lose writes already reported).',
      env: "NX_DURABILITY",
      flag: { name: "--durability", argument: "<group|relaxed>" },
    }),
  },
  network: {
    listen: defineKey({
      name: "listen",
      kind: listenAddress,
      default: undefined,
      example: { host: "0.0.0.0", port: 9000 },
      doc: "Address that accepts peer connections; setting it enables sync (port 0: any free port).",
      env: "NX_LISTEN",
      flag: { name: "--listen", argument: "<host:port>" },
    }),
    peers: defineKey({
      name: "peers",
      kind: peerAddresses,
      default: [],
      doc: "Peers always dialled, whatever discovery.mode finds besides.",
      env: "NX_PEERS",
      flag: { name: "--peer", argument: "<host:port>", repeatable: true },
    }),
    serializationFormat: defineKey({
      name: "serialization_format",
      kind: enumKind(["msgpack", "json"], {
        bincode: {
          member: "msgpack",
          note: 'network.serialization_format "bincode" (the Rust seed\'s binary format) is read as "msgpack", Numax\'s binary format',
        },
      }),
      default: "msgpack",
      doc: 'Preferred sync wire format; "json" is for debugging. "bincode" is read as "msgpack".',
      env: "NX_SERIALIZATION_FORMAT",
      flag: {
        name: "--debug-protocol",
        switchValue: "json",
        help: "Use JSON instead of MessagePack on the sync wire, for debugging.",
      },
    }),
    fanoutExtra: defineKey({
      name: "fanout_extra",
      kind: integerKind({ min: 0, max: 1024 }),
      default: 1,
      doc: "c of the K-fanout: each op batch goes to K = ceil(log2(N)) + c peers chosen at random among the connected ones, N the live members, once N reaches 50 (below, to every peer: cheaper there); 1024 sends to every peer (full relay).",
      env: "NX_FANOUT_EXTRA",
      flag: { name: "--fanout-extra", argument: "<n>" },
    }),
    maxConnections: defineKey({
      name: "max_connections",
      kind: integerKind({ min: MAX_CONNECTIONS_MIN, max: 1024 }),
      default: MAX_CONNECTIONS_DEFAULT,
      doc: "Most connections a node keeps to the peers discovery finds: it dials floor((n - 1) / 2) of them at random (all when they fit in n), accepts others' up to n, replaces lost ones and rotates one a minute; network.peers are always connected and count toward it. At or above limits.max_peers: every candidate (full mesh).",
      env: "NX_MAX_CONNECTIONS",
      flag: { name: "--max-connections", argument: "<n>" },
    }),
  },
  sync: {
    coalesceMapWrites: defineKey({
      name: "coalesce_map_writes",
      kind: booleanKind(),
      default: false,
      doc: "Make one op of the LWW-Map writes of a map within a store batch (10 ms), many distinct fields a second at a fraction of the cost; a peer of a build that cannot read such ops (Numax 0.1.0) is refused. Set it on every node once every node of the cluster runs a build that announces the wire feature map-batch.",
      env: "NX_SYNC_COALESCE_MAP_WRITES",
      flag: { name: "--sync-coalesce-map-writes", switchValue: "true" },
    }),
  },
  tls: {
    cert: defineKey({
      name: "cert",
      kind: pathKind(),
      default: undefined,
      example: "./certs/node.crt",
      doc: "PEM certificate of this node (its NodeId derives from it); needs key and ca.",
      env: "NX_TLS_CERT",
      flag: { name: "--tls-cert", argument: "<file>" },
    }),
    key: defineKey({
      name: "key",
      kind: pathKind(),
      default: undefined,
      example: "./certs/node.key",
      doc: "PEM private key of `cert`.",
      env: "NX_TLS_KEY",
      flag: { name: "--tls-key", argument: "<file>" },
    }),
    ca: defineKey({
      name: "ca",
      kind: pathKind(),
      default: undefined,
      example: "./certs/ca.crt",
      doc: "PEM CA certificate that peers' certificates must chain to.",
      env: "NX_TLS_CA",
      flag: { name: "--tls-ca", argument: "<file>" },
    }),
    allowedPeers: defineKey({
      name: "allowed_peers",
      kind: nodeIds,
      default: [],
      doc: "If not empty, only these NodeIds may connect (needs ca).",
      env: "NX_ALLOWED_PEERS",
      flag: { name: "--allowed-peers", argument: "<ids>" },
    }),
    insecure: defineKey({
      name: "insecure",
      kind: booleanKind(),
      default: false,
      doc: "Plain TCP without authentication, for local development only.",
      env: "NX_TLS_INSECURE",
      flag: { name: "--tls-insecure", switchValue: "true" },
    }),
  },
  limits: {
    maxPeers: defineKey({
      name: "max_peers",
      kind: integerKind({ min: 1, max: 1024 }),
      default: 64,
      doc: "Most peer connections at once (inbound and outbound); peers that are not configured get at most max_peers minus the number of configured peers (with network.max_connections below max_peers, configured means named by the operator: network.peers and peers added at run time, not discovered).",
      env: "NX_MAX_PEERS",
      flag: { name: "--max-peers", argument: "<n>" },
    }),
    queuedOpsLimit: defineKey({
      name: "queued_ops_limit",
      kind: integerKind({ min: 1, max: 10_000_000 }),
      default: 10_000,
      doc: "Ops queued per peer before new ones wait for anti-entropy (never lost).",
      env: "NX_QUEUED_OPS_LIMIT",
      flag: { name: "--queued-ops-limit", argument: "<n>" },
    }),
    opLogLimit: defineKey({
      name: "op_log_limit",
      kind: integerKind({ min: 1, max: 100_000_000 }),
      default: 300_000,
      doc: "Ops kept in the op-log for anti-entropy.",
      env: "NX_OP_LOG_LIMIT",
      flag: { name: "--op-log-limit", argument: "<n>" },
    }),
    opLogSizeLimitBytes: defineKey({
      name: "op_log_size_limit",
      kind: sizeKind({ minBytes: 64 * 1024, maxBytes: 64 * 1024 * MB }),
      default: 64 * MB,
      doc: "Bytes of ops kept in the op-log for anti-entropy; whichever of this and op_log_limit is reached first evicts.",
      env: "NX_OP_LOG_SIZE_LIMIT",
      flag: { name: "--op-log-size-limit", argument: "<size>" },
    }),
    seenOpsLimit: defineKey({
      name: "seen_ops_limit",
      kind: integerKind({ min: 1, max: 100_000_000 }),
      default: 100_000,
      doc: "OpIds remembered for de-duplication.",
      env: "NX_SEEN_OPS_LIMIT",
      flag: { name: "--seen-ops-limit", argument: "<n>" },
    }),
    maxMessageSizeBytes: defineKey({
      name: "max_message_size",
      kind: sizeKind({ minBytes: MAX_MESSAGE_SIZE_MIN_BYTES, maxBytes: 1024 * MB }),
      default: 16 * MB,
      doc: "Largest wire frame accepted or sent; checked before any allocation. Announced to peers, which send this node nothing larger (nodes may differ).",
      env: "NX_MAX_MESSAGE_SIZE",
      flag: { name: "--max-message-size", argument: "<size>" },
    }),
    socketTimeoutMs: defineKey({
      name: "socket_timeout_secs",
      kind: secondsKind({ minSecs: 1, maxSecs: 3600 }),
      default: 30_000,
      unit: "seconds",
      doc: "Handshake, read and write timeout of peer sockets.",
      env: "NX_SOCKET_TIMEOUT_SECS",
      flag: { name: "--socket-timeout-secs", argument: "<secs>" },
    }),
    reconnectInitialDelayMs: defineKey({
      name: "reconnect_initial_delay",
      kind: durationKind({ minMs: 1, maxMs: 3_600_000 }),
      default: 500,
      doc: "First delay before redialing a lost peer; doubles up to reconnect_max_delay.",
      env: "NX_RECONNECT_INITIAL_DELAY",
      flag: { name: "--reconnect-initial-delay", argument: "<duration>" },
    }),
    reconnectMaxDelayMs: defineKey({
      name: "reconnect_max_delay",
      kind: durationKind({ minMs: 1, maxMs: 86_400_000 }),
      default: 30_000,
      doc: "Longest delay between redial attempts.",
      env: "NX_RECONNECT_MAX_DELAY",
      flag: { name: "--reconnect-max-delay", argument: "<duration>" },
    }),
    peerDeadAfterFailures: defineKey({
      name: "peer_dead_after_failures",
      kind: integerKind({ min: 1, max: 1000 }),
      default: 3,
      doc: "Consecutive failed dials after which a peer counts as dead.",
      env: "NX_PEER_DEAD_AFTER_FAILURES",
      flag: { name: "--peer-dead-after-failures", argument: "<n>" },
    }),
    antiEntropyIntervalMs: defineKey({
      name: "anti_entropy_interval",
      kind: durationKind({ minMs: 100, maxMs: 86_400_000 }),
      default: 30_000,
      doc: "Period of the anti-entropy round that repairs ops a push missed.",
      env: "NX_ANTI_ENTROPY_INTERVAL",
      flag: { name: "--anti-entropy-interval", argument: "<duration>" },
    }),
    compactionIntervalMs: defineKey({
      name: "compaction_interval",
      kind: durationKind({ minMs: 100, maxMs: 86_400_000 }),
      default: 60_000,
      doc: "Period of the compaction pass that collects causally stable tombstones.",
      env: "NX_COMPACTION_INTERVAL",
      flag: { name: "--compaction-interval", argument: "<duration>" },
    }),
    tombstoneHorizonMs: defineKey({
      name: "tombstone_horizon",
      kind: durationKind({ minMs: 1000, maxMs: 365 * 86_400_000 }),
      default: 7 * 86_400_000,
      doc: "A peer silent for longer stops holding tombstone collection back; back, it takes a peer's state.",
      env: "NX_TOMBSTONE_HORIZON",
      flag: { name: "--tombstone-horizon", argument: "<duration>" },
    }),
    cpuMsPerRun: defineKey({
      name: "cpu_ms_per_run",
      kind: integerKind({ min: 1, max: 86_400_000 }),
      default: undefined,
      example: 5000,
      unit: "milliseconds",
      doc: "CPU budget of one guest run; unset = no budget.",
      env: "NX_CPU_MS_PER_RUN",
      flag: { name: "--cpu-ms-per-run", argument: "<ms>" },
    }),
    memoryMaxMb: defineKey({
      name: "memory_max_mb",
      kind: integerKind({ min: 1, max: 4096 }),
      default: 256,
      unit: "MiB",
      doc: "Most linear memory a guest may grow to (wasm32 caps it at 4096 MiB).",
      env: "NX_MEMORY_MAX_MB",
      flag: { name: "--memory-max-mb", argument: "<mb>" },
    }),
  },
  observability: {
    listen: defineKey({
      name: "listen",
      kind: listenAddress,
      default: undefined,
      example: { host: "127.0.0.1", port: 9100 },
      doc: "Address of the HTTP endpoint (/metrics, /health, /ready); unset = no endpoint.",
      env: "NX_OBSERVABILITY_LISTEN",
      flag: { name: "--observability-listen", argument: "<host:port>" },
    }),
    logLevel: defineKey({
      name: "log_level",
      kind: enumKind(LOG_LEVELS),
      default: "info",
      doc: "Least severe level written.",
      env: "NX_LOG_LEVEL",
      flag: { name: "--log-level", argument: "<level>" },
    }),
    logFormat: defineKey({
      name: "log_format",
      kind: enumKind(LOG_FORMATS),
      default: "text",
      doc: '"text" for people, "json" (one object per line) for log collectors.',
      env: "NX_LOG_FORMAT",
      flag: { name: "--log-format", argument: "<format>" },
    }),
    requestTimeoutMs: defineKey({
      name: "request_timeout_secs",
      kind: secondsKind({ minSecs: 1, maxSecs: 300 }),
      default: 5000,
      unit: "seconds",
      doc: "Time a client has to send its request to the HTTP endpoint.",
      env: "NX_OBSERVABILITY_REQUEST_TIMEOUT_SECS",
      flag: { name: "--observability-request-timeout-secs", argument: "<secs>" },
    }),
    exposeData: defineKey({
      name: "expose_data",
      kind: booleanKind(),
      default: false,
      doc: "Also serve node data on the HTTP endpoint, unauthenticated: /v1/node (peers, the data path) and /v1/crdt/ (replicated values).",
      env: "NX_OBSERVABILITY_EXPOSE_DATA",
      flag: { name: "--observability-expose-data", switchValue: "true" },
    }),
  },
  discovery: {
    mode: defineKey({
      name: "mode",
      kind: enumKind(DISCOVERY_MODES),
      default: "static",
      doc: 'How peers are found besides network.peers: "static" (that list only), "bootstrap" (join through discovery.bootstrap, learn the rest from peers), "file" (discovery.peers_file), "dns-srv" (discovery.dns_srv_name), "mdns" (the LAN).',
      env: "NX_DISCOVERY_MODE",
      flag: { name: "--discovery", argument: "<mode>" },
    }),
    bootstrap: defineKey({
      name: "bootstrap",
      kind: peerAddresses,
      default: [],
      doc: 'Addresses to join the cluster through (mode "bootstrap"); the other peers are learned from them.',
      env: "NX_DISCOVERY_BOOTSTRAP",
      flag: { name: "--bootstrap", argument: "<host:port>", repeatable: true },
    }),
    peersFile: defineKey({
      name: "peers_file",
      kind: pathKind(),
      default: undefined,
      example: "./peers.txt",
      doc: 'File of peer addresses, one host:port per line, # comments (mode "file"); watched for changes.',
      env: "NX_DISCOVERY_PEERS_FILE",
      flag: { name: "--peers-file", argument: "<file>" },
    }),
    dnsSrvName: defineKey({
      name: "dns_srv_name",
      kind: dnsNameKind(),
      default: undefined,
      example: "_numax._tcp.numax.default.svc.cluster.local",
      doc: 'DNS name whose SRV records list the peers (mode "dns-srv").',
      env: "NX_DISCOVERY_DNS_SRV_NAME",
      flag: { name: "--dns-srv-name", argument: "<name>" },
    }),
    dnsServer: defineKey({
      name: "dns_server",
      kind: ipEndpointKind(),
      default: undefined,
      example: { host: "10.96.0.10", port: 53 },
      doc: 'DNS server (ip:port) that resolves dns_srv_name; unset = the system\'s resolvers (mode "dns-srv").',
      env: "NX_DISCOVERY_DNS_SERVER",
      flag: { name: "--dns-server", argument: "<ip:port>" },
    }),
    mdnsService: defineKey({
      name: "mdns_service",
      kind: dnsNameKind(),
      default: MDNS_SERVICE_DEFAULT,
      doc: 'DNS-SD service the node announces and looks for on the LAN (mode "mdns"); clusters sharing a LAN use different names.',
      env: "NX_DISCOVERY_MDNS_SERVICE",
      flag: { name: "--mdns-service", argument: "<name>" },
    }),
    mdnsInterface: defineKey({
      name: "mdns_interface",
      kind: ipv4Kind(),
      default: undefined,
      example: "192.168.1.10",
      doc: 'IPv4 address of the interface mDNS uses (127.0.0.1: this host only); unset = every interface (mode "mdns").',
      env: "NX_DISCOVERY_MDNS_INTERFACE",
      flag: { name: "--mdns-interface", argument: "<ip>" },
    }),
    refreshIntervalMs: defineKey({
      name: "refresh_interval",
      kind: durationKind({ minMs: 100, maxMs: 86_400_000 }),
      default: 30_000,
      doc: "How often dns-srv resolves again, file reads its file again (besides watching it) and mdns queries the LAN.",
      env: "NX_DISCOVERY_REFRESH_INTERVAL",
      flag: { name: "--discovery-refresh-interval", argument: "<duration>" },
    }),
  },
  management: {
    listen: defineKey({
      name: "listen",
      kind: addressOrOffKind({ allowPortZero: true }),
      default: { host: "127.0.0.1", port: MANAGEMENT_PORT_DEFAULT },
      doc: 'Address of the management API of a node that runs until a signal (reactive modules, serving or sync, without --settle-for); "off" = none. A non-loopback address needs tls_cert and tls_key, or allow_remote_plaintext.',
      env: "NX_MANAGEMENT_LISTEN",
      flag: { name: "--management-listen", argument: "<host:port|off>" },
    }),
    tokenFile: defineKey({
      name: "token_file",
      kind: pathKind(),
      default: undefined,
      example: "./nx-data/management.token",
      doc: "File holding the admin token (mode 0600); unset = <datastore_path>/management.token, generated on first start.",
      env: "NX_MANAGEMENT_TOKEN_FILE",
      flag: { name: "--management-token-file", argument: "<file>" },
    }),
    readTokenFile: defineKey({
      name: "read_token_file",
      kind: pathKind(),
      default: undefined,
      example: "./nx-data/management-read.token",
      doc: "File holding the read-only token (mode 0600); unset = <datastore_path>/management-read.token, generated on first start.",
      env: "NX_MANAGEMENT_READ_TOKEN_FILE",
      flag: { name: "--management-read-token-file", argument: "<file>" },
    }),
    tlsCert: defineKey({
      name: "tls_cert",
      kind: pathKind(),
      default: undefined,
      example: "./certs/management.crt",
      doc: "PEM certificate: the management API then speaks HTTPS; needs tls_key.",
      env: "NX_MANAGEMENT_TLS_CERT",
      flag: { name: "--management-tls-cert", argument: "<file>" },
    }),
    tlsKey: defineKey({
      name: "tls_key",
      kind: pathKind(),
      default: undefined,
      example: "./certs/management.key",
      doc: "PEM private key of tls_cert.",
      env: "NX_MANAGEMENT_TLS_KEY",
      flag: { name: "--management-tls-key", argument: "<file>" },
    }),
    allowRemotePlaintext: defineKey({
      name: "allow_remote_plaintext",
      kind: booleanKind(),
      default: false,
      doc: "Serve the management API on a non-loopback address over plain HTTP (tokens then cross the network in clear).",
      env: "NX_MANAGEMENT_ALLOW_REMOTE_PLAINTEXT",
      flag: { name: "--management-allow-remote-plaintext", switchValue: "true" },
    }),
  },
  policy: {
    default: defineKey({
      name: "default",
      kind: enumKind(["deny", "trusted"]),
      default: "deny",
      doc: 'A module without a policy: "deny" refuses to start the node, "trusted" (development only, logged loudly) runs it with every capability.',
      env: "NX_POLICY_DEFAULT",
      flag: { name: "--policy-default", argument: "<mode>" },
    }),
    requireSignatures: defineKey({
      name: "require_signatures",
      kind: booleanKind(),
      default: false,
      doc: "Run only policies signed (nx policy sign) with a certificate of tls.ca; refuse unsigned, tampered or inline ones.",
      env: "NX_POLICY_REQUIRE_SIGNATURES",
      flag: { name: "--policy-require-signatures", switchValue: "true" },
    }),
    auditLog: defineKey({
      name: "audit_log",
      kind: pathKind(),
      default: undefined,
      example: "./nx-audit.jsonl",
      doc: "File the modules' host calls are logged to as JSON lines (sampled) with every policy denial; unset = no audit log.",
      env: "NX_POLICY_AUDIT_LOG",
      flag: { name: "--policy-audit-log", argument: "<file>" },
    }),
    auditSampleEvery: defineKey({
      name: "audit_sample_every",
      kind: integerKind({ min: 1, max: 1_000_000 }),
      default: 100,
      doc: "The audit log records one host call in this many, per module and function (1: every call); denials are always recorded.",
      env: "NX_POLICY_AUDIT_SAMPLE_EVERY",
      flag: { name: "--policy-audit-sample-every", argument: "<n>" },
    }),
  },
  dashboard: {
    listen: defineKey({
      name: "listen",
      kind: addressOrOffKind({ allowPortZero: true }),
      default: { host: "127.0.0.1", port: DASHBOARD_PORT_DEFAULT },
      doc: 'Address of the dashboard of a node that runs until a signal (the nodes that have the management API); "off" = none. It takes the management tokens; a non-loopback address follows the management API\'s rule (tls_cert and tls_key, or allow_remote_plaintext).',
      env: "NX_DASHBOARD_LISTEN",
      flag: { name: "--dashboard-listen", argument: "<host:port|off>" },
    }),
  },
} as const satisfies {
  readonly [S in ConfigSection]: {
    readonly [F in keyof NodeConfig[S]]-?: ConfigKeyDef<NonNullable<NodeConfig[S][F]>>;
  };
};

type Schema = typeof CONFIG_SCHEMA;

/** A key's full name, `section.name` as in the docs and in errors: `limits.max_peers`. */
export type ConfigKey = {
  [S in keyof Schema]: {
    [F in keyof Schema[S]]: `${S}.${Schema[S][F] extends { name: infer N extends string } ? N : never}`;
  }[keyof Schema[S]];
}[keyof Schema];

/** A schema key with where it lives: its full name, section and NodeConfig field. */
export interface ConfigKeyEntry extends ConfigKeyDef<unknown> {
  readonly key: ConfigKey;
  readonly section: ConfigSection;
  /** The field of `NodeConfig[section]` that holds the normalized value. */
  readonly field: string;
}

/**
 * Every key, in schema order: the schema's own definitions, each given its full name, section and
 * field. Not copies (a spread of each definition, a Map by name beside them): the list is built at
 * every start, and the copies were a twentieth of the young generation a plain `nx run` fills
 * before its first scavenge.
 */
export const CONFIG_KEYS: readonly ConfigKeyEntry[] = keyEntries();

function keyEntries(): ConfigKeyEntry[] {
  const entries: ConfigKeyEntry[] = [];
  for (const section in CONFIG_SCHEMA) {
    const keys: Readonly<Record<string, ConfigKeyDef<unknown>>> = CONFIG_SCHEMA[section as ConfigSection];
    for (const field in keys) {
      const def = keys[field]!;
      entries.push(
        Object.assign(def, {
          key: `${section}.${def.name}` as ConfigKey,
          section: section as ConfigSection,
          field,
        }),
      );
    }
  }
  return entries;
}

/** The entry of a full key name (`limits.max_peers`), or undefined. */
export function findConfigKey(key: string): ConfigKeyEntry | undefined {
  return CONFIG_KEYS.find((entry) => entry.key === key);
}

/**
 * Every `NX_*` variable that configures the node. The node reads them; guests, which see `NX_*`
 * variables, should not (a config value is the host's business, not the guest's).
 */
export const CONFIG_ENV_NAMES: ReadonlySet<string> = new Set(CONFIG_KEYS.map((entry) => entry.env));
