import type { VirtualClock } from "../../clock/virtual-clock.ts";
import type { NodeId } from "../../identity/node-id.ts";
import type { SessionMessage } from "../../net/messages.ts";
import type { SeededRandom } from "../seeded-random.ts";
import type { Outgoing, SyncEngine } from "../sync-engine.ts";

/** How hostile the simulated network is. Rates are probabilities per message. */
export interface NetworkFaults {
  delayMinMs: number;
  delayMaxMs: number;
  dropRate: number;
  duplicateRate: number;
}

export const CALM_NETWORK: NetworkFaults = { delayMinMs: 1, delayMaxMs: 5, dropRate: 0, duplicateRate: 0 };

/**
 * Links SyncEngines through a lossy, reordering, duplicating network driven by one seeded PRNG
 * and the simulation's virtual clock. Every message goes through `transfer` (the real wire codec
 * in the simulator), so nodes never share object references and codec bugs surface here.
 */
export class SimulatedNetwork<Op> {
  readonly #clock: VirtualClock;
  readonly #random: SeededRandom;
  readonly #transfer: (message: SessionMessage<Op>) => SessionMessage<Op>;
  readonly #engines = new Map<NodeId, SyncEngine<Op>>();
  readonly #links = new Set<string>();
  #partitionOf = new Map<NodeId, number>();
  faults: NetworkFaults;
  delivered = 0;
  dropped = 0;

  constructor(
    clock: VirtualClock,
    random: SeededRandom,
    faults: NetworkFaults,
    transfer: (message: SessionMessage<Op>) => SessionMessage<Op>,
  ) {
    this.#clock = clock;
    this.#random = random;
    this.faults = faults;
    this.#transfer = transfer;
  }

  addNode(nodeId: NodeId, engine: SyncEngine<Op>): void {
    this.#engines.set(nodeId, engine);
  }

  /** Connects two nodes (as a completed handshake does). */
  link(a: NodeId, b: NodeId): void {
    this.#links.add(linkKey(a, b));
    const now = this.#clock.now();
    const engineA = this.#engine(a);
    const engineB = this.#engine(b);
    this.send(a, engineA.peerConnected(b, now));
    this.send(b, engineB.peerConnected(a, now));
  }

  /** Nodes in different groups cannot reach each other until `heal`; unlisted nodes form one more group. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    this.#partitionOf = new Map();
    groups.forEach((group, index) => {
      for (const node of group) this.#partitionOf.set(node, index + 1);
    });
  }

  heal(): void {
    this.#partitionOf = new Map();
  }

  send(from: NodeId, outgoing: readonly Outgoing<Op>[]): void {
    for (const { peer, message } of outgoing) {
      if (!this.#links.has(linkKey(from, peer))) continue;
      const copies = this.#random.chance(this.faults.duplicateRate) ? 2 : 1;
      for (let i = 0; i < copies; i++) {
        if (this.#random.chance(this.faults.dropRate)) {
          this.dropped++;
          continue;
        }
        const wire = this.#transfer(message);
        const delayMs = this.#random.int(this.faults.delayMinMs, this.faults.delayMaxMs);
        this.#clock.setTimeout(() => this.#deliver(from, peer, wire), delayMs);
      }
    }
  }

  #deliver(from: NodeId, to: NodeId, message: SessionMessage<Op>): void {
    if ((this.#partitionOf.get(from) ?? 0) !== (this.#partitionOf.get(to) ?? 0)) {
      this.dropped++;
      return;
    }
    this.delivered++;
    this.send(to, this.#engine(to).receive(from, message, this.#clock.now()));
  }

  #engine(node: NodeId): SyncEngine<Op> {
    const engine = this.#engines.get(node);
    if (engine === undefined) throw new Error(`simulated network: unknown node ${node}`);
    return engine;
  }
}

function linkKey(a: NodeId, b: NodeId): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}
