import { join } from "node:path";
import { type NodeCertificates, writeClusterCertificates } from "./cluster-certificates.ts";
import { freePorts } from "./free-port.ts";
import type { Incarnation } from "./load-recorder.ts";
import { type LaunchContext, launchNode } from "./node-launcher.ts";
import type { NxProcess } from "./nx-process.ts";
import {
  type NodeSyncView,
  readGCounter,
  readLwwMapSize,
  readMetricsText,
  readNodeSyncView,
} from "./observability-client.ts";
import {
  addHistograms,
  type BucketCounts,
  bucketPercentile,
  parseHistogram,
  sumSamples,
} from "./prometheus-text.ts";

/**
 * A cluster of real `nx run` nodes on 127.0.0.1, each running the counter load guest with sync
 * on (plain TCP, --tls-insecure, unless `tls`: mutual TLS with certificates from `nx cert`) and its observability
 * endpoint, every node dialling every other one (full mesh, static discovery). Node i is "n<i>",
 * with its own datastore under the run's work directory and ports chosen free at start and kept
 * across restarts.
 */

export interface ClusterNode {
  readonly name: string;
  readonly index: number;
  readonly listenPort: number;
  readonly observabilityPort: number;
  readonly datastore: string;
  process: NxProcess;
  incarnation: Incarnation;
}

export interface ClusterOptions {
  readonly size: number;
  readonly modulePath: string;
  /** The GCounters the nodes increment; a node's counter below is their sum. */
  readonly counterKeys: readonly string[];
  readonly launch: LaunchContext;
  /** NX_GATE_* variables of node `index`'s guest (called again for each restart). */
  readonly guestEnv: (index: number) => Record<string, string>;
  /** The port node `from` dials to reach node `to`; default its listen port (the partition gate puts proxies here). */
  readonly peerPort?: (from: number, to: number) => number;
  /** More flags for every node (GateSettings.nxArgs). */
  readonly nxArgs?: readonly string[];
  /** Listen ports decided by the caller (it needed them first, for its proxies). */
  readonly listenPorts?: readonly number[];
  /** Mutual TLS between the nodes (GateSettings.tls); default plain TCP. */
  readonly tls?: boolean;
}

/** How long a node may take to stop gracefully at the end before SIGKILL. */
const STOP_GRACE_MS = 15_000;

/** Totals over a cluster's nodes, see `Cluster.readMetrics`. */
export interface WireTraffic {
  readonly bytesSent: number;
  readonly pushOpsBytesSent: number;
  readonly opsSent: number;
}

export interface ClusterMetrics {
  readonly propagation: Record<string, number | null> | undefined;
  readonly traffic: WireTraffic | undefined;
}

function propagationFrom(texts: readonly (string | undefined)[]): Record<string, number | null> | undefined {
  const histograms = texts.flatMap((text) =>
    text === undefined ? [] : (parseHistogram(text, "numax_propagation_latency_seconds") ?? []),
  );
  const total: BucketCounts | undefined = addHistograms(histograms);
  if (total === undefined) return undefined;
  const ms = (percentile: number): number | null => {
    const seconds = bucketPercentile(total, percentile);
    return seconds === undefined || !Number.isFinite(seconds) ? null : seconds * 1000;
  };
  return {
    ops_observed: total.count,
    mean_ms: total.count === 0 ? null : Math.round((total.sum / total.count) * 1e6) / 1000,
    p50_ms_at_most: ms(50),
    p99_ms_at_most: ms(99),
  };
}

function trafficFrom(texts: readonly (string | undefined)[]): WireTraffic | undefined {
  if (texts.some((text) => text === undefined)) return undefined;
  const sum = (name: string, labels?: Record<string, string>): number =>
    texts.reduce((total, text) => total + sumSamples(text!, name, labels), 0);
  return {
    bytesSent: sum("numax_wire_bytes_total", { direction: "sent" }),
    pushOpsBytesSent: sum("numax_wire_bytes_total", { direction: "sent", message: "PushOps" }),
    opsSent: sum("numax_broadcast_ops_total"),
  };
}

export class Cluster {
  readonly nodes: ClusterNode[] = [];
  readonly #options: ClusterOptions;
  readonly #listenPorts: readonly number[];
  readonly #certificates: readonly NodeCertificates[] | undefined;

  private constructor(
    options: ClusterOptions,
    listenPorts: readonly number[],
    certificates: readonly NodeCertificates[] | undefined,
  ) {
    this.#options = options;
    this.#listenPorts = listenPorts;
    this.#certificates = certificates;
  }

  static async start(options: ClusterOptions): Promise<Cluster> {
    const ports = await freePorts(options.listenPorts === undefined ? 2 * options.size : options.size);
    const listenPorts = options.listenPorts ?? ports.slice(options.size);
    const certificates =
      options.tls === true
        ? await writeClusterCertificates(
            join(options.launch.workDir, "tls"),
            Array.from({ length: options.size }, (_, index) => `n${index}`),
          )
        : undefined;
    const cluster = new Cluster(options, listenPorts, certificates);
    for (let index = 0; index < options.size; index++) {
      const node = {
        name: `n${index}`,
        index,
        listenPort: listenPorts[index]!,
        observabilityPort: ports[index]!,
        datastore: join(options.launch.workDir, `n${index}`),
      };
      const { process, incarnation } = await launchNode(options.launch, cluster.#launchSpec(node));
      cluster.nodes.push({ ...node, process, incarnation });
    }
    return cluster;
  }

  /** Starts a new process for node `index` (its previous one must have exited), same ports and datastore. */
  async restart(index: number): Promise<ClusterNode> {
    const node = this.nodes[index]!;
    const { process, incarnation } = await launchNode(this.#options.launch, this.#launchSpec(node));
    node.process = process;
    node.incarnation = incarnation;
    return node;
  }

  /** Every node's value of every counter key: [node][key] (undefined: no answer). */
  readCounterMatrix(): Promise<(number | undefined)[][]> {
    return Promise.all(
      this.nodes.map((node) =>
        Promise.all(this.#options.counterKeys.map((key) => readGCounter(node.observabilityPort, key))),
      ),
    );
  }

  /** Every node's counter: the sum of its counter keys (undefined: a key did not answer). */
  async readCounters(): Promise<(number | undefined)[]> {
    return (await this.readCounterMatrix()).map(sumOrUndefined);
  }

  /** Every node's field count of the LWW-Map `key` (undefined: that node did not answer). */
  readMapSizes(key: string): Promise<(number | undefined)[]> {
    return Promise.all(this.nodes.map((node) => readLwwMapSize(node.observabilityPort, key)));
  }

  /** Every node's id and version vector (undefined: that node did not answer). */
  readSyncViews(): Promise<(NodeSyncView | undefined)[]> {
    return Promise.all(this.nodes.map((node) => readNodeSyncView(node.observabilityPort)));
  }

  /** A node that exited without being asked to, described in one line; undefined when all run. */
  unexpectedExit(): string | undefined {
    const gone = this.nodes.find((node) => !node.process.running);
    return gone === undefined ? undefined : gone.process.describeExit();
  }

  /**
   * The figures the runner reads from every node's /metrics, scraped once: propagation latency
   * (creation on one node to application on another, from numax_propagation_latency_seconds,
   * added up; bucket-bound estimates in ms) and what crossed the wire (numax_wire_bytes_total,
   * numax_broadcast_ops_total; undefined when a node did not answer).
   */
  async readMetrics(): Promise<ClusterMetrics> {
    const texts = await Promise.all(this.nodes.map((node) => readMetricsText(node.observabilityPort)));
    return { propagation: propagationFrom(texts), traffic: trafficFrom(texts) };
  }

  /**
   * Stops every node gracefully (SIGTERM) and returns the counter each printed on its way out
   * (`KEY = N` per key, nx run --print-gcounter, summed); undefined for a node that missed one.
   */
  async stop(): Promise<(number | undefined)[]> {
    await Promise.all(this.nodes.map((node) => node.process.stop(STOP_GRACE_MS)));
    return this.nodes.map((node) =>
      sumOrUndefined(
        this.#options.counterKeys.map((key) => {
          const prefix = `${key} = `;
          const line = node.process.otherLines.find((other) => other.startsWith(prefix));
          return line === undefined ? undefined : Number(line.slice(prefix.length));
        }),
      ),
    );
  }

  #tlsArgs(index: number): string[] {
    const certificates = this.#certificates?.[index];
    if (certificates === undefined) return ["--tls-insecure"];
    return ["--tls-cert", certificates.cert, "--tls-key", certificates.key, "--tls-ca", certificates.ca];
  }

  #launchSpec(node: Omit<ClusterNode, "process" | "incarnation">) {
    const peerPort = this.#options.peerPort ?? ((_from: number, to: number) => this.#listenPorts[to]!);
    const peers: string[] = [];
    for (let other = 0; other < this.#options.size; other++) {
      if (other !== node.index) peers.push("--peer", `127.0.0.1:${peerPort(node.index, other)}`);
    }
    return {
      name: node.name,
      modulePath: this.#options.modulePath,
      args: [
        "--datastore-path",
        node.datastore,
        "--listen",
        `127.0.0.1:${node.listenPort}`,
        ...peers,
        ...this.#tlsArgs(node.index),
        "--observability-listen",
        `127.0.0.1:${node.observabilityPort}`,
        // The runner reads counters and version vectors from /v1/.
        "--observability-expose-data",
        ...this.#options.counterKeys.flatMap((key) => ["--print-gcounter", key]),
        "--log-level",
        "error",
        ...(this.#options.nxArgs ?? []),
      ],
      env: this.#options.guestEnv(node.index),
    };
  }
}

function sumOrUndefined(values: readonly (number | undefined)[]): number | undefined {
  let sum = 0;
  for (const value of values) {
    if (value === undefined || Number.isNaN(value)) return undefined;
    sum += value;
  }
  return sum;
}
