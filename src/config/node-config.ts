import type { NodeId } from "../identity/node-id.ts";
import type { LogFormat, LogLevel } from "../observe/logger.ts";
import type { SocketAddress } from "./socket-address.ts";

/** The sync wire format: MessagePack in production, JSON for `--debug-protocol`. */
export type SerializationFormat = "msgpack" | "json";

/**
 * When a guest's output (stdout, stderr, log lines) may leave the node: `group` once every write
 * made before it is durable, `relaxed` at once. See docs/storage.md.
 */
export type Durability = "group" | "relaxed";

/**
 * What a module without a policy gets (docs/design/policies.md): `deny`, it does not start;
 * `trusted`, every capability, with a loud warning (a developer's switch).
 */
export type PolicyDefault = "deny" | "trusted";

/** How peers are found besides `[network] peers` (docs/design/peer-discovery.md). */
export const DISCOVERY_MODES = ["static", "bootstrap", "file", "dns-srv", "mdns"] as const;

export type DiscoveryMode = (typeof DISCOVERY_MODES)[number];

/**
 * The effective configuration of one node, typed and normalized: durations in milliseconds,
 * sizes in bytes, addresses parsed. `undefined` means "not set, feature off" (no `listen`, no
 * sync; no `observability.listen`, no HTTP endpoint; no `cpu_ms_per_run`, no CPU budget).
 * Built by `resolveConfig`; every field is documented in `schema.ts` and docs/configuration.md.
 */
export interface NodeConfig {
  readonly storage: {
    readonly datastorePath: string;
    readonly durability: Durability;
  };
  readonly network: {
    readonly listen: SocketAddress | undefined;
    readonly peers: readonly SocketAddress[];
    readonly serializationFormat: SerializationFormat;
    readonly fanoutExtra: number;
    readonly maxConnections: number;
  };
  readonly sync: {
    readonly coalesceMapWrites: boolean;
  };
  readonly tls: {
    readonly cert: string | undefined;
    readonly key: string | undefined;
    readonly ca: string | undefined;
    readonly allowedPeers: readonly NodeId[];
    readonly insecure: boolean;
  };
  readonly limits: {
    readonly maxPeers: number;
    readonly queuedOpsLimit: number;
    readonly opLogLimit: number;
    readonly opLogSizeLimitBytes: number;
    readonly seenOpsLimit: number;
    readonly maxMessageSizeBytes: number;
    readonly socketTimeoutMs: number;
    readonly reconnectInitialDelayMs: number;
    readonly reconnectMaxDelayMs: number;
    readonly peerDeadAfterFailures: number;
    readonly antiEntropyIntervalMs: number;
    readonly compactionIntervalMs: number;
    readonly tombstoneHorizonMs: number;
    readonly cpuMsPerRun: number | undefined;
    readonly memoryMaxMb: number;
  };
  readonly observability: {
    readonly listen: SocketAddress | undefined;
    readonly logLevel: LogLevel;
    readonly logFormat: LogFormat;
    readonly requestTimeoutMs: number;
    readonly exposeData: boolean;
  };
  readonly discovery: {
    readonly mode: DiscoveryMode;
    readonly bootstrap: readonly SocketAddress[];
    readonly peersFile: string | undefined;
    readonly dnsSrvName: string | undefined;
    readonly dnsServer: SocketAddress | undefined;
    readonly mdnsService: string;
    readonly mdnsInterface: string | undefined;
    readonly refreshIntervalMs: number;
  };
  readonly management: {
    readonly listen: SocketAddress | "off";
    /** Undefined: `<datastore_path>/management.token`. */
    readonly tokenFile: string | undefined;
    /** Undefined: `<datastore_path>/management-read.token`. */
    readonly readTokenFile: string | undefined;
    readonly tlsCert: string | undefined;
    readonly tlsKey: string | undefined;
    readonly allowRemotePlaintext: boolean;
  };
  readonly policy: {
    readonly default: PolicyDefault;
    readonly requireSignatures: boolean;
    readonly auditLog: string | undefined;
    readonly auditSampleEvery: number;
  };
  readonly dashboard: {
    readonly listen: SocketAddress | "off";
  };
}

export type ConfigSection = keyof NodeConfig;
