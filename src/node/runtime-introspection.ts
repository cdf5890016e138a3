import { resolve } from "node:path";
import { monotonicMs } from "../clock/monotonic-clock.ts";
import type { NodeConfig } from "../config/node-config.ts";
import { hlcPhysicalMs } from "../crdt/hybrid-clock.ts";
import { formatPid, type Pid } from "../kernel/pid.ts";
import type { ProcessInfo } from "../kernel/process-info.ts";
import { QUOTA_KEYS, type QuotaField } from "../policy/module-quotas.ts";
import type { ServeComponent } from "../serve/serve-component.ts";
import { convergenceView } from "./convergence.ts";
import {
  CRDT_FAMILY_NAMES,
  crdtFamilyName,
  crdtFamilyOf,
  crdtValueJson,
  readCrdtValue,
} from "./crdt-values.ts";
import { pageOfKeys, parseKeyCursor } from "./key-page.ts";
import type { LoadedModule, ModuleHostComponent } from "./module-host.ts";
import type { EventsComponent, ReplicaComponent, StoreComponent, SyncComponent } from "./node-components.ts";
import type {
  ModuleView,
  NodeIntrospection,
  NodeView,
  PeerView,
  ProcessView,
  RuntimeIntrospection,
} from "./node-introspection.ts";
import type { SyncActivity } from "./sync-activity.ts";

/** The parts of a node its introspection reads; each is read when asked, never copied. */
export interface IntrospectedParts {
  readonly config: NodeConfig;
  /** The Numax version, read when asked. */
  readonly version: () => string;
  /** `monotonicMs()` when the node started. */
  readonly startedAtMs: number;
  readonly store: StoreComponent | undefined;
  readonly replica: ReplicaComponent | undefined;
  readonly sync: SyncComponent | undefined;
  readonly events: EventsComponent;
  readonly modules: ModuleHostComponent | undefined;
  readonly serve: ServeComponent | undefined;
  /** The management API's URL once it listens. */
  readonly managementUrl: () => string | undefined;
  /** The op ring and throughput meter sync reports to; undefined without sync. */
  readonly activity: SyncActivity | undefined;
}

const MIB = 1024 * 1024;
const roundMs = (ms: number): number => Math.round(ms * 1000) / 1000;

/** The node's {@link RuntimeIntrospection}, built once by startNumaxNode. */
export function createRuntimeIntrospection(parts: IntrospectedParts): RuntimeIntrospection {
  const { config } = parts;
  const limits = { cpuMsPerRun: config.limits.cpuMsPerRun ?? null, memoryMaxMb: config.limits.memoryMaxMb };
  const loaded = (): readonly LoadedModule[] => parts.modules?.loaded() ?? [];

  /** The id of the module whose code a process runs: wasm processes are labelled `id` or `id:entry`. */
  const moduleOfLabel = (info: ProcessInfo, ids: readonly string[]): string | undefined => {
    if (info.kind !== "wasm") return undefined;
    return ids.find((id) => info.label === id || info.label.startsWith(`${id}:`));
  };
  const processInfos = (): ProcessInfo[] => parts.modules?.kernel?.processes() ?? [];
  const processView = (info: ProcessInfo, ids: readonly string[]): ProcessView => {
    const module = moduleOfLabel(info, ids);
    return {
      pid: formatPid(info.pid),
      name: info.name,
      label: info.label,
      kind: info.kind,
      status: info.status,
      parent: formatPid(info.parent),
      mailboxLength: info.mailboxLength,
      droppedMessages: info.droppedMessages,
      reductions: info.reductions,
      memoryBytes: info.memoryBytes,
      trapExit: info.trapExit,
      links: info.links.map(formatPid),
      monitors: info.monitors.map(formatPid),
      monitoredBy: info.monitoredBy.map(formatPid),
      ...(module === undefined ? {} : { module }),
    };
  };
  const moduleIds = (): string[] => loaded().map(({ module }) => module.moduleId);

  const moduleViews = (): ModuleView[] => {
    const processes = processInfos().map((info) => processView(info, moduleIds()));
    return loaded().map((entry) => {
      const { module, events } = entry;
      const own = processes.filter((process) => process.module === module.moduleId);
      return {
        id: module.moduleId,
        path: entry.path === undefined ? null : resolve(entry.path),
        reactive: events?.reactive ?? false,
        state: events?.state ?? "starting",
        queuedEvents: events?.queued ?? 0,
        processes: own.length,
        hash: module.sha256,
        loadedAt: new Date(entry.loadedAtMs).toISOString(),
        reloads: entry.reloads,
        cpuMs: roundMs(entry.endedRunsCpuMs + (events?.reactive === true ? events.callbackMs : 0)),
        memoryBytes: own.reduce((sum, process) => sum + process.memoryBytes, 0),
        hostCalls: entry.hostCalls.total(),
        limits: {
          cpuMsPerRun: entry.quotas.cpuMsPerRun ?? limits.cpuMsPerRun,
          memoryMaxMb: module.memoryMaxBytes / MIB,
        },
        quotas: Object.fromEntries(
          (Object.entries(entry.quotas) as [QuotaField, number][]).map(([field, value]) => [
            QUOTA_KEYS[field].name,
            value,
          ]),
        ),
        usage: {
          ops: entry.usage.ops,
          bytesWritten: entry.usage.bytesWritten,
          quotaHits: Object.fromEntries(entry.usage.quotaHits),
        },
      };
    });
  };

  const summary = (): NodeIntrospection => {
    const replica = parts.replica?.replica;
    const sync = parts.sync?.service;
    return {
      modules: (parts.events.bus?.modules() ?? []).map((module) => ({
        id: module.moduleId,
        reactive: module.reactive,
        state: module.state,
        queuedEvents: module.queued,
      })),
      nodeId: parts.replica?.nodeId,
      datastorePath: config.storage.datastorePath,
      storeSizeBytes: parts.store?.backend?.sizeBytes(),
      sync:
        sync === undefined || replica === undefined
          ? undefined
          : {
              listen: sync.peers.listenAddress(),
              connectedPeers: sync.peers.connectedPeers(),
              configuredPeers: sync.peers.configuredPeers(),
              members: sync.membership.members(),
              versionVector: Object.fromEntries(replica.versionVector()),
              replica: replica.stats(),
              engine: {
                ...sync.engine.stats,
                queuedOps: sync.engine.queuedOps(),
                inflightBatches: sync.engine.inflightBatches(),
              },
            },
    };
  };

  return {
    summary,
    node: (): NodeView => {
      const replica = parts.replica?.replica;
      const memory = process.memoryUsage();
      const cpu = process.cpuUsage();
      const modules = moduleViews();
      return {
        nodeId: parts.replica?.nodeId ?? null,
        version: parts.version(),
        uptimeMs: Math.round(monotonicMs() - parts.startedAtMs),
        datastorePath: config.storage.datastorePath,
        storeSizeBytes: parts.store?.backend?.sizeBytes() ?? null,
        opLogEntries: replica?.stats().opLogSize ?? null,
        versionVector: replica === undefined ? {} : Object.fromEntries(replica.versionVector()),
        memory: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed },
        cpu: { userMs: Math.round(cpu.user / 1000), systemMs: Math.round(cpu.system / 1000) },
        listen: {
          sync: parts.sync?.service?.peers.listenAddress() ?? null,
          management: parts.managementUrl() ?? null,
          serve: parts.serve?.listeners.map(({ url }) => url) ?? [],
        },
        quotas: {
          ...limits,
          guestCpuMs: roundMs(modules.reduce((sum, module) => sum + module.cpuMs, 0)),
          guestMemoryBytes: modules.reduce((sum, module) => sum + module.memoryBytes, 0),
          modules: Object.fromEntries(
            modules.map(({ id, cpuMs, memoryBytes, usage }) => [id, { cpuMs, memoryBytes, ...usage }]),
          ),
        },
      };
    },
    modules: moduleViews,
    module: (id) => moduleViews().find((module) => module.id === id),
    processes: () => {
      const ids = moduleIds();
      return processInfos().map((info) => processView(info, ids));
    },
    process: (pid) => {
      const info = parts.modules?.kernel?.processInfo(pid as Pid);
      return info === undefined || info.status === "exited" ? undefined : processView(info, moduleIds());
    },
    keys: ({ prefix, limit, cursor }) => {
      const replica = parts.replica?.replica;
      if (replica === undefined) return undefined;
      const entries = function* () {
        for (const { family, key } of replica.objects()) yield { key, family: crdtFamilyName(family) };
      };
      return pageOfKeys(entries(), {
        prefix,
        limit,
        after: cursor === undefined ? undefined : parseKeyCursor(cursor),
      });
    },
    keyFamilies: (key) => {
      const replica = parts.replica?.replica;
      if (replica === undefined) return undefined;
      return CRDT_FAMILY_NAMES.filter((name) => replica.object(crdtFamilyOf(name), key) !== undefined);
    },
    key: (key, family) => {
      const replica = parts.replica?.replica;
      const object = replica?.object(crdtFamilyOf(family), key);
      if (replica === undefined || object === undefined) return undefined;
      return {
        key,
        family,
        value: crdtValueJson(readCrdtValue(replica, family, key)),
        lastWriter: object.latest?.origin ?? null,
        lastChangeAt:
          object.latest === undefined ? null : new Date(hlcPhysicalMs(object.latest.timestamp)).toISOString(),
      };
    },
    peers: () =>
      parts.sync?.service?.peers.peerStatuses().map(
        (peer): PeerView => ({
          address: peer.address,
          nodeId: peer.nodeId ?? null,
          state: peer.state,
          direction: peer.direction,
          rttMs: peer.rttMs === undefined ? null : roundMs(peer.rttMs),
          since: new Date(peer.sinceMs).toISOString(),
          health: peer.health,
        }),
      ),
    recentOps: (query) => {
      const ring = parts.activity?.ring;
      return ring === undefined ? undefined : { lastSeq: ring.lastSeq, ops: ring.recent(query) };
    },
    throughput: () => parts.activity?.meter.view(Date.now()),
    convergence: () => {
      const replica = parts.replica?.replica;
      const service = parts.sync?.service;
      if (replica === undefined || service === undefined) return undefined;
      return convergenceView({
        nodeId: replica.nodeId(),
        versionVector: replica.versionVector(),
        peers: service.peers.peerStatuses(),
        reported: service.engine.reportedVectors(),
        antiEntropyIntervalMs: config.limits.antiEntropyIntervalMs,
        nowMs: Date.now(),
      });
    },
  };
}
