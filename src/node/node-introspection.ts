import type { ModuleState } from "../events/module-events.ts";
import type { NodeId } from "../identity/node-id.ts";
import type { MemberInfo } from "../membership/membership-view.ts";
import type { CrdtHost } from "../wasm/abi/crdt-host.ts";
import type { ConvergenceView } from "./convergence.ts";
import { type CrdtFamilyName, crdtValueToJson, isCrdtFamilyName, readCrdtValue } from "./crdt-values.ts";
import type { KeysPage } from "./key-page.ts";
import type { OpFlowEntry, OpFlowQuery } from "./op-ring.ts";
import type { ThroughputView } from "./throughput-meter.ts";

/**
 * What a node says about itself: the one surface CLI output, the HTTP endpoint and later tools
 * read (none of them reaches into internals).
 */
export interface NodeIntrospection {
  readonly nodeId: NodeId | undefined;
  readonly datastorePath: string;
  readonly storeSizeBytes: number | undefined;
  readonly sync:
    | {
        readonly listen: string | undefined;
        readonly connectedPeers: readonly unknown[];
        readonly configuredPeers: readonly unknown[];
        /** SWIM membership: every member (this node first) with its state and incarnation. */
        readonly members: readonly MemberInfo[];
        readonly versionVector: Readonly<Record<string, number>>;
        readonly replica: unknown;
        readonly engine: unknown;
      }
    | undefined;
  /** The modules `nx run` runs, in the order given. */
  readonly modules: readonly ModuleIntrospection[];
}

export interface ModuleIntrospection {
  readonly id: string;
  /** Reactive (exports callbacks) or one-shot. */
  readonly reactive: boolean;
  readonly state: ModuleState;
  /** Events waiting in its queue. */
  readonly queuedEvents: number;
}

export interface IntrospectionAnswer {
  readonly status: number;
  readonly body: unknown;
}

/**
 * Read-only HTTP introspection under `/v1/`: `/v1/node` (the NodeIntrospection) and
 * `/v1/crdt/<family>/<key>` (one CRDT's value; the key is URL-encoded). undefined: not ours (404).
 */
export function answerIntrospection(
  path: string,
  introspect: () => NodeIntrospection,
  crdt: CrdtHost | undefined,
): IntrospectionAnswer | undefined {
  if (path === "/v1/node") return { status: 200, body: introspect() };
  const match = /^\/v1\/crdt\/([a-z-]+)\/(.+)$/.exec(path);
  if (match === null) return undefined;
  const [, family, encodedKey] = match;
  if (!isCrdtFamilyName(family)) return { status: 404, body: { error: `no CRDT family "${family}"` } };
  if (crdt === undefined)
    return { status: 409, body: { error: "sync is not enabled on this node (no --listen)" } };
  let key: string;
  try {
    key = decodeURIComponent(encodedKey);
  } catch {
    return { status: 400, body: { error: "the key is not valid URL encoding" } };
  }
  return { status: 200, body: crdtValueToJson(key, readCrdtValue(crdt, family, key)) };
}

/**
 * The views of a running node that the management API, the `nx` client commands (through the
 * API) and the dashboard read: one object the node builds from its components
 * (runtime-introspection.ts). Nothing computes one of these figures anywhere else; `/v1/node`
 * of the observability endpoint is `summary()`. Field names are the API's JSON
 * (docs/api/openapi.yaml).
 */
export interface RuntimeIntrospection {
  /** The `/v1/node` body of the observability endpoint. */
  summary(): NodeIntrospection;
  node(): NodeView;
  modules(): ModuleView[];
  module(id: string): ModuleView | undefined;
  processes(): ProcessView[];
  /** Undefined for a pid that is not alive (or a node without processes). */
  process(pid: number): ProcessView | undefined;
  /** Undefined: the node does not sync (no peers to show). */
  peers(): PeerView[] | undefined;
  /**
   * A page of the CRDT objects whose key starts with `prefix`, in key order; `cursor` is a page's
   * `nextCursor` (see key-page.ts). Undefined: the node does not sync (no CRDTs).
   */
  keys(query: {
    readonly prefix: string;
    readonly limit: number;
    readonly cursor?: string;
  }): KeysPage | undefined;
  /** The families holding a CRDT under `key`. Undefined: the node does not sync. */
  keyFamilies(key: string): CrdtFamilyName[] | undefined;
  /** One CRDT object; undefined when there is none of `family` under `key` (or no sync). */
  key(key: string, family: CrdtFamilyName): KeyView | undefined;
  /** The newest ops of the node's op ring that match `query` (op-ring.ts). Undefined: the node does not sync. */
  recentOps(query: OpFlowQuery): OpFlowView | undefined;
  /** Ops per second, propagation latency percentiles and errors of the last minute. Undefined: the node does not sync. */
  throughput(): ThroughputView | undefined;
  /** This node's version vector against each peer's latest report (convergence.ts). Undefined: the node does not sync. */
  convergence(): ConvergenceView | undefined;
}

/** A page of the op ring: `ops` oldest first; `lastSeq` is the ring's newest (pass it as `after` to get only newer ones). */
export interface OpFlowView {
  readonly lastSeq: number;
  readonly ops: readonly OpFlowEntry[];
}

/** One CRDT object: its value as `/v1/crdt/<family>/<key>` gives it, and its latest change. */
export interface KeyView {
  readonly key: string;
  readonly family: CrdtFamilyName;
  /** Counters as decimal strings, a register's text or null, a map's fields, a set's or list's elements. */
  readonly value: unknown;
  /**
   * The node whose op with the greatest HLC stamp this node applied to the object since it
   * started; null when not changed since (loaded from the store at start, or changed only by a
   * peer's state snapshot).
   */
  readonly lastWriter: NodeId | null;
  /** That op's stamp as wall-clock time (the writer's clock), ISO 8601; null with lastWriter. */
  readonly lastChangeAt: string | null;
}

export interface NodeView {
  readonly nodeId: NodeId | null;
  readonly version: string;
  readonly uptimeMs: number;
  readonly datastorePath: string;
  /** Null when the node has no store open. */
  readonly storeSizeBytes: number | null;
  /** Null without sync (no replica). */
  readonly opLogEntries: number | null;
  readonly versionVector: Readonly<Record<string, number>>;
  readonly memory: { readonly rssBytes: number; readonly heapUsedBytes: number };
  /** CPU time of the whole node process (host and guests). */
  readonly cpu: { readonly userMs: number; readonly systemMs: number };
  readonly listen: {
    readonly sync: string | null;
    readonly management: string | null;
    readonly serve: readonly string[];
  };
  readonly quotas: QuotasView;
}

/** The guest limits in force and what the guests used of them so far. */
export interface QuotasView {
  /** `limits.cpu_ms_per_run`: CPU budget of one guest run; null = none. */
  readonly cpuMsPerRun: number | null;
  /** `limits.memory_max_mb`: linear memory cap of a guest. */
  readonly memoryMaxMb: number;
  /** Guest CPU time of every module since the node started. */
  readonly guestCpuMs: number;
  /** Memory of every live guest process now (ProcessInfo.memoryBytes summed). */
  readonly guestMemoryBytes: number;
  /** Each module's usage, by module id (the `usage` of its ModuleView, with its `cpuMs` and `memoryBytes`). */
  readonly modules: Readonly<
    Record<string, ModuleUsageView & { readonly cpuMs: number; readonly memoryBytes: number }>
  >;
}

/** What a module's host calls used since it was started or added, and its quota hits. */
export interface ModuleUsageView {
  /** CRDT ops it made. */
  readonly ops: number;
  /** Store bytes it wrote (keys and values of db_set, keys of db_delete). */
  readonly bytesWritten: number;
  /** Times each quota throttled, refused or stopped it, by quota name (`ops_per_sec`...); absent: none. */
  readonly quotaHits: Readonly<Record<string, number>>;
}

export interface ModuleView {
  readonly id: string;
  /** The file it was loaded from, absolute; null for a module given as bytes. */
  readonly path: string | null;
  readonly reactive: boolean;
  readonly state: ModuleState;
  readonly queuedEvents: number;
  /** Live processes running its code. */
  readonly processes: number;
  /** SHA-256 of its code, hex. */
  readonly hash: string;
  /** When this code was loaded, ISO 8601. */
  readonly loadedAt: string;
  readonly reloads: number;
  /** Guest CPU time since it was started or added (reloads included): callbacks of a reactive module, runs of a one-shot one. */
  readonly cpuMs: number;
  /** Its live processes' memory (ProcessInfo.memoryBytes summed). */
  readonly memoryBytes: number;
  /** Host calls its guests made since it was started or added (reloads included). */
  readonly hostCalls: number;
  /** The limits its guests run under: its own quotas, else the node's. */
  readonly limits: { readonly cpuMsPerRun: number | null; readonly memoryMaxMb: number };
  /** Its quotas in force (docs/design/policies.md#quotas) by name (`ops_per_sec`...); a quota it does not have is absent. */
  readonly quotas: Readonly<Record<string, number>>;
  readonly usage: ModuleUsageView;
}

/** A kernel ProcessInfo as JSON: pids in the kernel's `<0.N>` form, plus the module it runs. */
export interface ProcessView {
  readonly pid: string;
  readonly name: string | null;
  readonly label: string;
  readonly kind: string;
  readonly status: string;
  readonly parent: string;
  readonly mailboxLength: number;
  readonly droppedMessages: number;
  readonly reductions: number;
  readonly memoryBytes: number;
  readonly trapExit: boolean;
  readonly links: readonly string[];
  readonly monitors: readonly string[];
  readonly monitoredBy: readonly string[];
  /** The module whose code it runs; absent for the kernel's own processes (supervisors). */
  readonly module?: string;
}

export interface PeerView {
  readonly address: string;
  readonly nodeId: NodeId | null;
  readonly state: "connected" | "connecting" | "backoff" | "configured";
  readonly direction: "outbound" | "inbound";
  /** Keepalive round trip in ms; null until a Ping was answered (a busy connection sends none). */
  readonly rttMs: number | null;
  /** When it entered `state`, ISO 8601. */
  readonly since: string;
  /** `healthy` while connected or not failing; `suspect`, then `dead` (limits.peer_dead_after_failures), as dials fail in a row. */
  readonly health: "healthy" | "suspect" | "dead";
}
