import type { VirtualClock } from "../../clock/virtual-clock.ts";
import type { Op } from "../../crdt/op.ts";
import { createBootstrapDiscovery } from "../../discovery/bootstrap-discovery.ts";
import { DiscoveryRunner } from "../../discovery/discovery-runner.ts";
import { KnownPeers } from "../../discovery/known-peers.ts";
import type { NodeId } from "../../identity/node-id.ts";
import type { MembershipService } from "../../membership/membership-service.ts";
import type { MembershipChange } from "../../membership/membership-view.ts";
import { DEFAULT_SWIM_OPTIONS } from "../../membership/swim-options.ts";
import type { MemoryNetwork } from "../../net/memory-transport.ts";
import type { VersionVector } from "../../net/messages.ts";
import { silentLogger } from "../../observe/logger.ts";
import { createMemoryBackend } from "../../store/memory-backend.ts";
import { createSyncMessageCodec } from "../crdt-op-codec.ts";
import {
  createNodeMembership,
  departedAddresses,
  liveMemberCount,
  redirectEntries,
} from "../node-membership.ts";
import { PeerExchange } from "../peer-exchange.ts";
import { PeerManager } from "../peer-manager.ts";
import type { BackoffPolicy } from "../reconnect-backoff.ts";
import { openReplicatedState, type ReplicatedState } from "../replica/replicated-state.ts";
import { replicaForSync } from "../replica-sync-adapter.ts";
import type { SeededRandom } from "../seeded-random.ts";
import { SyncEngine } from "../sync-engine.ts";
import { openingOf } from "./reopenable-store.ts";

/** The node settings a whole-node scenario runs with (the config's limits, in ms). */
export interface SimulatedNodeTuning {
  readonly tickIntervalMs: number;
  readonly antiEntropyIntervalMs: number;
  /** `network.fanout_extra` (the c of the K-fanout); undefined: full relay. */
  readonly fanoutExtra: number | undefined;
  readonly maxPeers: number;
  /** `network.max_connections`: at or above `maxPeers`, no bound (a full mesh). */
  readonly maxConnections: number;
  readonly backoff: BackoffPolicy;
  /** The connections' `socket_timeout`: read timeout, handshake and dial timeout. */
  readonly socketTimeoutMs: number;
  /** `limits.queued_ops_limit`: ops queued per peer before they are shed. */
  readonly queuedOpsLimit: number;
  /** The sync engine times acks and adapts its send window (a node does); false: a fixed window. */
  readonly adaptiveSendWindow: boolean;
}

/** What a node's send path held and did (sampled by the simulation; counters since the node last started). */
export interface SendPathSample {
  readonly longestQueue: number;
  readonly inflightBatches: number;
  readonly opsShed: number;
  readonly sendWindowCuts: number;
}

export interface SimulatedNodeOptions {
  readonly nodeId: NodeId;
  /** Where it listens on the in-memory network, and how peers dial it. */
  readonly address: string;
  /** `[discovery] bootstrap`: it joins through these and learns the rest by peer exchange. */
  readonly bootstrap: readonly string[];
  readonly network: MemoryNetwork;
  readonly clock: VirtualClock;
  /** Unix ms at virtual time 0 (HLC stamps are wall-clock ms). */
  readonly epochMs: number;
  readonly random: SeededRandom;
  readonly tuning: SimulatedNodeTuning;
  /** A dial of `address` failed (counted as `dial_failures`). */
  readonly onDialFailed: (address: string) => void;
  /** This node's SWIM member table changed (the simulation judges its suspicions: `false_suspicions`). */
  readonly onMembershipChange: (change: MembershipChange) => void;
}

const KEYS = ["a", "b", "c", "d"];

interface Run {
  readonly replica: ReplicatedState;
  readonly engine: SyncEngine<Op>;
  readonly peers: PeerManager<Op>;
  readonly exchange: PeerExchange;
  readonly runner: DiscoveryRunner;
  readonly membership: MembershipService;
}

/**
 * One whole node's I/O half in the simulator: a ReplicatedState on a store that outlives
 * restarts, the SyncEngine, the PeerManager with framed connections over the in-memory network,
 * bootstrap discovery fed by peer exchange and SWIM membership (a restart starts it afresh at
 * incarnation 0, as a process restart does). Built as `SyncService` builds a node (it wires the
 * same parts; the transport and the store are the in-memory ones), every timer on the clock.
 */
export class SimulatedNode {
  readonly nodeId: NodeId;
  readonly address: string;
  readonly #options: SimulatedNodeOptions;
  readonly #store = createMemoryBackend();
  #run: Run | undefined;
  /** What the replica held when the node last stopped (its ops count while it is down). */
  #lastVector: VersionVector = new Map();
  /** Starts and stops run one after the other (a restart's start waits for its stop). */
  #lifecycle: Promise<void> = Promise.resolve();
  #peakConnections = 0;

  constructor(options: SimulatedNodeOptions) {
    this.#options = options;
    this.nodeId = options.nodeId;
    this.address = options.address;
  }

  get running(): boolean {
    return this.#run !== undefined;
  }

  /** Opens the replica on the node's store (again, after a restart), listens, discovers and dials. */
  start(): Promise<void> {
    this.#lifecycle = this.#lifecycle.then(() => this.#start());
    return this.#lifecycle;
  }

  /** Stops as a node shuts down: queued ops are sent, connections closed, the store closed. */
  stop(): Promise<void> {
    this.#lifecycle = this.#lifecycle.then(() => this.#stop());
    return this.#lifecycle;
  }

  async #start(): Promise<void> {
    if (this.#run !== undefined) return;
    const { nodeId, address, network, clock, epochMs, tuning, random } = this.#options;
    const replica = openReplicatedState({
      backend: openingOf(this.#store),
      nodeId,
      nowMs: () => epochMs + clock.now(),
      clock,
    });
    const engine = new SyncEngine(replicaForSync(replica), {
      antiEntropyIntervalMs: tuning.antiEntropyIntervalMs,
      fanoutExtra: tuning.fanoutExtra,
      clusterSize: () => liveMemberCount(membership),
      random: () => random.next(),
      queuedOpsLimit: tuning.queuedOpsLimit,
      clock: tuning.adaptiveSendWindow ? () => clock.now() : undefined,
    });
    const transport = network.transport({
      nodeId,
      name: address,
      codec: createSyncMessageCodec(),
      versionVector: () => replica.versionVector(),
      limits: { socketTimeoutMs: tuning.socketTimeoutMs },
    });
    const known = new KnownPeers();
    const peers = new PeerManager<Op>({
      transport,
      engine,
      listen: address,
      maxPeers: tuning.maxPeers,
      maxConnections: tuning.maxConnections,
      departedAddresses: () => departedAddresses(membership),
      redirectEntries: () => redirectEntries(exchange.entries(), membership),
      backoff: tuning.backoff,
      tickIntervalMs: tuning.tickIntervalMs,
      dialTimeoutMs: tuning.socketTimeoutMs,
      logger: silentLogger,
      random01: () => random.next(),
      nowMs: () => epochMs + clock.now(),
      clock,
      onPeerEvent: (event, peer) => {
        if (event !== "connected") return;
        this.#peakConnections = Math.max(this.#peakConnections, peers.connectedPeers().length);
        exchange.connected(peer);
        membership.connected(peer);
      },
      onPeerAddresses: (peer, entries) => exchange.received(peer, entries),
      onMembership: (peer, message) => membership.received(peer, message),
      onDialFailed: (failed, error, failures) => {
        this.#options.onDialFailed(failed);
        runner.dialFailed(failed, error);
        if (failures >= tuning.backoff.deadAfterFailures) known.forgetAddress(failed);
      },
    });
    const exchange = new PeerExchange(nodeId, peers, known, clock);
    const membership = createNodeMembership(
      {
        self: nodeId,
        swim: DEFAULT_SWIM_OPTIONS,
        peers,
        clock,
        random: () => random.next(),
        logger: silentLogger,
      },
      known,
    );
    membership.onChange(this.#options.onMembershipChange);
    const runner = new DiscoveryRunner(
      [
        {
          discovery: createBootstrapDiscovery({
            seeds: this.#options.bootstrap,
            known,
            logger: silentLogger,
          }),
          dropRefused: false,
        },
      ],
      peers,
      nodeId,
      undefined,
      silentLogger,
    );
    // As SyncService does: a local op reaches peers once it is durable here.
    replica.setSyncHooks({
      onLocalOps: (ops) => {
        void replica.written().then(() => {
          engine.localOps(ops);
          peers.sendQueued();
        });
      },
    });
    this.#run = { replica, engine, peers, exchange, runner, membership };
    await runner.start();
    await peers.start();
    membership.start(address);
    await runner.announce({ address, nodeId });
  }

  async #stop(): Promise<void> {
    const run = this.#run;
    if (run === undefined) return;
    this.#run = undefined;
    this.#lastVector = run.replica.versionVector();
    run.membership.leave();
    run.exchange.stop();
    await run.runner.stop();
    await run.peers.stop();
    await run.replica.close();
  }

  /** One guest run's writes: a counter increment, a register write or a set add, then the flush. */
  mutate(random: SeededRandom): void {
    const replica = this.#run?.replica;
    if (replica === undefined) return;
    const key = random.pick(KEYS);
    const value = new TextEncoder().encode(`${this.nodeId.slice(-4)}-${random.int(0, 999)}`);
    switch (random.int(0, 2)) {
      case 0:
        replica.gcounterInc(key, 1n);
        break;
      case 1:
        replica.lwwSet(key, value);
        break;
      default:
        replica.orsetAdd(key, value);
    }
    replica.flush();
  }

  versionVector(): VersionVector {
    return this.#run?.replica.versionVector() ?? this.#lastVector;
  }

  /** Every value, rendered canonically: equal on two nodes exactly when their states agree. */
  digest(): string {
    const replica = this.#run?.replica;
    if (replica === undefined) return "";
    const hex = (bytes: Uint8Array | undefined) => Buffer.from(bytes ?? new Uint8Array()).toString("hex");
    return JSON.stringify(
      KEYS.map((key) => [
        replica.gcounterValue(key).toString(),
        hex(replica.lwwGet(key)),
        replica.orsetElements(key).map(hex).sort(),
      ]),
    );
  }

  /** The most connections this node held at once, over all its runs. */
  get peakConnections(): number {
    return this.#peakConnections;
  }

  /** The sync engine's send path now; undefined while stopped. */
  sendPath(): SendPathSample | undefined {
    const engine = this.#run?.engine;
    if (engine === undefined) return undefined;
    return {
      longestQueue: engine.longestQueue(),
      inflightBatches: engine.inflightBatches(),
      opsShed: engine.stats.opsShed,
      sendWindowCuts: engine.stats.sendWindowCuts,
    };
  }

  connectedPeers(): number {
    return this.#run?.peers.connectedPeers().length ?? 0;
  }
}
