import { createVirtualClock } from "../../clock/virtual-clock.ts";
import type { NodeId } from "../../identity/node-id.ts";
import { createSeededRandom, type SeededRandom } from "../../sync/seeded-random.ts";
import type { MembershipChange } from "../membership-view.ts";
import { type MembershipMessage, SwimMembership, type SwimOutput } from "../swim-membership.ts";
import { DEFAULT_SWIM_OPTIONS, type SwimOptions } from "../swim-options.ts";

/** How often the simulated driver ticks each machine (the real one: MEMBERSHIP_TICK_MS). */
export const SIMULATED_TICK_MS = 50;

export interface SwimClusterOptions {
  readonly seed: number;
  readonly nodes: number;
  /** Probability that one message is lost. */
  readonly lossRate?: number;
  readonly delayMinMs?: number;
  readonly delayMaxMs?: number;
  readonly swim?: Partial<SwimOptions>;
  /** Bytes of one message on the wire (the bench passes the real codec); default 0. */
  readonly measure?: (message: MembershipMessage) => number;
  /**
   * False: a node connects only where `join` says (a bounded set of connections), instead of
   * dialling every member it learns alive. Default true.
   */
  readonly dialLearned?: boolean;
  /** What the test lets arrive of a message that passed the loss rate's draw: it, another, or none (undefined). */
  readonly alter?: (from: NodeId, to: NodeId, message: MembershipMessage) => MembershipMessage | undefined;
}

/** A change as node `observer` saw it, at `atMs`. */
export interface ObservedChange extends MembershipChange {
  readonly observer: NodeId;
  readonly atMs: number;
}

/**
 * N SwimMembership machines on one seeded, lossy network with a virtual clock: what the
 * property tests and `npm run bench -- gossip` drive. Node `i` joins through node 0 (a connection:
 * a MemberSync exchange), then connects to every member it learns alive, as a node's discovery
 * dials them: a full mesh of connections once the tables agree (unless `dialLearned` is false). A message between two nodes with
 * no connection is dropped, as the I/O half does. A killed node neither sends nor receives and its
 * connections are gone; a restarted one is a new machine with the same NodeId, incarnation 0 (a
 * process restart). A partition cuts messages and fails dials across it; its heal connects
 * every cut pair again (their connections timed out meanwhile).
 */
export class SwimCluster {
  readonly clock = createVirtualClock();
  readonly random: SeededRandom;
  readonly ids: NodeId[];
  readonly machines: SwimMembership[] = [];
  readonly changes: ObservedChange[] = [];
  readonly #options: SwimClusterOptions;
  readonly #down = new Set<NodeId>();
  /** Pairs that cannot exchange messages, both ways ("a|b"). */
  readonly #cut = new Set<string>();
  /** Pairs with a connection ("a|b"). */
  readonly #links = new Set<string>();
  /** Nodes whose event loop stands still: the messages that reached them meanwhile, unread. */
  readonly #stalled = new Map<NodeId, (() => void)[]>();
  messages = 0;
  bytes = 0;

  constructor(options: SwimClusterOptions) {
    this.#options = options;
    this.random = createSeededRandom(options.seed);
    this.ids = Array.from({ length: options.nodes }, (_, i) => nodeIdOf(options.seed, i));
    for (let i = 0; i < options.nodes; i++) {
      this.machines.push(this.#machine(i));
      this.#scheduleTicks(i);
    }
    for (let i = 1; i < options.nodes; i++) this.join(i, 0);
  }

  /** Node `i` opens a connection to node `through` (unless one is open): both send their tables. */
  join(i: number, through: number): void {
    const key = pairKey(this.ids[i], this.ids[through]);
    if (i === through || this.#links.has(key) || this.#cut.has(key) || this.isDown(i) || this.isDown(through))
      return;
    this.#links.add(key);
    const nowMs = this.clock.now();
    this.#output(i, this.machines[i].connected(this.ids[through], nowMs));
    this.#output(through, this.machines[through].connected(this.ids[i], nowMs));
  }

  /**
   * Node `i`'s event loop stands still for `ms` (a long GC pause, a blocking call): it neither
   * ticks nor reads. Then, as Node's timers phase runs before its poll phase, it ticks first
   * (told of the lag) and reads what arrived meanwhile after.
   */
  stall(i: number, ms: number): void {
    const id = this.ids[i];
    this.#stalled.set(id, []);
    this.clock.setTimeout(() => {
      const unread = this.#stalled.get(id) ?? [];
      this.#stalled.delete(id);
      if (!this.#down.has(id)) this.#output(i, this.machines[i].tick(this.clock.now(), ms));
      for (const read of unread) read();
    }, ms);
  }

  runFor(ms: number): void {
    this.clock.advance(ms);
  }

  kill(i: number): void {
    this.#down.add(this.ids[i]);
    this.#unlink(i);
  }

  /** Node `i` comes back as a fresh process (incarnation 0) and joins through `through`. */
  restart(i: number, through: number): void {
    this.#down.delete(this.ids[i]);
    this.machines[i] = this.#machine(i);
    this.join(i, through);
  }

  /** Node `i` leaves cleanly and stops. */
  leave(i: number): void {
    this.#output(i, this.machines[i].leave());
    this.#down.add(this.ids[i]);
    this.#unlink(i);
  }

  /** No message passes between any node of `a` and any node of `b` until `heal`. */
  partition(a: readonly number[], b: readonly number[]): void {
    for (const x of a) for (const y of b) this.#cut.add(pairKey(this.ids[x], this.ids[y]));
  }

  heal(): void {
    const cut = [...this.#cut];
    this.#cut.clear();
    for (const key of cut) {
      this.#links.delete(key);
      const [a, b] = key.split("|") as [NodeId, NodeId];
      this.#dial(this.ids.indexOf(a), this.ids.indexOf(b));
    }
  }

  isDown(i: number): boolean {
    return this.#down.has(this.ids[i]);
  }

  /** The state node `observer` holds for node `subject` (undefined: not a member there). */
  stateOf(observer: number, subject: number): string | undefined {
    return this.machines[observer].members().find((m) => m.nodeId === this.ids[subject])?.state;
  }

  #machine(i: number): SwimMembership {
    return new SwimMembership({
      self: this.ids[i],
      address: `10.0.${i >> 8}.${i & 255}:9000`,
      options: { ...DEFAULT_SWIM_OPTIONS, ...this.#options.swim },
      random: () => this.random.next(),
      nowMs: this.clock.now() + this.random.int(0, DEFAULT_SWIM_OPTIONS.probeIntervalMs),
      connectedPeers: () => this.#linkedTo(i),
    });
  }

  #scheduleTicks(i: number): void {
    this.clock.setTimeout(() => {
      if (!this.#down.has(this.ids[i]) && !this.#stalled.has(this.ids[i]))
        this.#output(i, this.machines[i].tick(this.clock.now()));
      this.#scheduleTicks(i);
    }, SIMULATED_TICK_MS);
  }

  #linkedTo(i: number): NodeId[] {
    return this.ids.filter((id, j) => j !== i && this.#links.has(pairKey(this.ids[i], id)));
  }

  #unlink(i: number): void {
    for (const key of [...this.#links]) if (key.includes(this.ids[i])) this.#links.delete(key);
  }

  /** Node `i` dials node `j`: connected after a round trip or so. */
  #dial(i: number, j: number): void {
    const { delayMinMs = 1, delayMaxMs = 5 } = this.#options;
    this.clock.setTimeout(() => this.join(i, j), 2 * this.random.int(delayMinMs, delayMaxMs));
  }

  #output(i: number, output: SwimOutput): void {
    const from = this.ids[i];
    const atMs = this.clock.now();
    const {
      lossRate = 0,
      delayMinMs = 1,
      delayMaxMs = 5,
      measure,
      dialLearned = true,
      alter,
    } = this.#options;
    for (const change of output.changes) {
      this.changes.push({ ...change, observer: from, atMs });
      if (change.member.state !== "alive" || !dialLearned) continue;
      const j = this.ids.indexOf(change.member.nodeId as NodeId);
      if (!this.#links.has(pairKey(from, this.ids[j]))) this.#dial(i, j);
    }
    for (const { peer, message: sent } of output.send) {
      // No connection, no message (the I/O half drops it); one in flight arrives even if the sender dies next.
      if (!this.#links.has(pairKey(from, peer))) continue;
      this.messages++;
      if (measure !== undefined) this.bytes += measure(sent);
      // A MemberSync rides on a connection that just opened (or on the last frames of one that
      // closes cleanly): a stream transport delivers it. Loss models the probes' stalls.
      if (sent.type !== "MemberSync" && this.random.chance(lossRate)) continue;
      const message = alter === undefined ? sent : alter(from, peer, sent);
      if (message === undefined) continue;
      const delayMs = this.random.int(delayMinMs, delayMaxMs);
      this.clock.setTimeout(() => this.#deliver(from, peer, message), delayMs);
    }
  }

  #deliver(from: NodeId, to: NodeId, message: MembershipMessage): void {
    // A message already sent arrives even if its sender died since (it left the sender's socket).
    if (this.#down.has(to) || this.#cut.has(pairKey(from, to))) return;
    const unread = this.#stalled.get(to);
    if (unread !== undefined) {
      unread.push(() => this.#deliver(from, to, message));
      return;
    }
    const index = this.ids.indexOf(to);
    this.#output(index, this.machines[index].receive(from, message, this.clock.now()));
  }
}

/** A distinct, valid NodeId per (seed, index). */
export function nodeIdOf(seed: number, index: number): NodeId {
  return `${(seed >>> 0).toString(16).padStart(8, "0")}${index.toString(16).padStart(24, "0")}` as NodeId;
}

function pairKey(a: NodeId, b: NodeId): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}
