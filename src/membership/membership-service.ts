import type { Clock } from "../clock/clock.ts";
import type { NodeId } from "../identity/node-id.ts";
import { formatHostPort, isUnspecifiedHost, parseHostPort } from "../net/host-port.ts";
import type { MemberPingReqMessage, MemberUpdate } from "../net/messages.ts";
import type { WireFeature } from "../net/wire-features.ts";
import type { Logger } from "../observe/logger.ts";
import type { EventLoopLag } from "./event-loop-lag.ts";
import type { MemberInfo, MemberState, MembershipListener, MembershipView } from "./membership-view.ts";
import { type MembershipMessage, SwimMembership, type SwimOutput } from "./swim-membership.ts";
import { SWIM_PENDING_RELAYS_MAX, type SwimOptions } from "./swim-options.ts";

/**
 * How often the state machine is ticked. Its deadlines (probe timeout 500 ms, interval 1 s,
 * suspicion timeouts of seconds) are met within this much; 100 ms is 10 cheap calls a second.
 */
export const MEMBERSHIP_TICK_MS = 100;

/**
 * Neighbours linked to the target that a probe of a member without a connection goes through at
 * once: two, so that one frame lost on one path (four frames, against two for a direct probe)
 * does not fail the probe. A relayed probe goes through one.
 */
export const PROBE_PATHS = 2;

/** Probes whose neighbours asked are remembered (so the indirect phase asks others): as many as relays run at once. */
const PROBE_ROUTES_KEPT = SWIM_PENDING_RELAYS_MAX;

/** What membership needs of the peer manager: the authenticated connections. */
export interface MembershipPeers {
  connectedPeers(): readonly { nodeId: NodeId; address: string; features: readonly WireFeature[] }[];
  sendTo(peer: NodeId, message: MembershipMessage): void;
  /** Connected peers that say they are connected to `target` (peer exchange): who can probe it for this node. */
  neighboursLinkedTo(target: NodeId): readonly NodeId[];
}

export interface MembershipServiceOptions {
  readonly self: NodeId;
  readonly swim: SwimOptions;
  readonly peers: MembershipPeers;
  /** The codebase's one clock seam: the simulator drives membership on virtual time. */
  readonly clock: Clock;
  readonly random: () => number;
  readonly logger: Logger;
  /**
   * This process's event-loop lag (`monitorEventLoopLag()` in a node), fed to local health with
   * the tick's own lateness; the service stops it when it leaves. Undefined: the tick's lateness
   * alone (on a virtual clock, none).
   */
  readonly loopLag?: EventLoopLag;
  /** Members by state after every change (the `numax_members{state}` gauge). */
  readonly onCounts?: (counts: Readonly<Record<MemberState, number>>) => void;
}

/**
 * The I/O half of membership: feeds the SwimMembership state machine the node's connections,
 * the membership messages peers send and a tick every MEMBERSHIP_TICK_MS, and sends what it
 * returns over the authenticated connections of peers that announced the `membership` feature
 * (a build without it is never sent one, and is no member: it still syncs). Listeners hear every
 * change of the member table.
 *
 * @example
 * const membership = new MembershipService({ self, swim: DEFAULT_SWIM_OPTIONS, peers, clock: backgroundClock, random: Math.random, logger });
 * membership.onChange(({ member, previous }) => console.log(member.nodeId, previous, "->", member.state));
 * membership.start(listenAddress);
 */
export class MembershipService implements MembershipView {
  readonly #options: MembershipServiceOptions;
  readonly #machine: SwimMembership;
  readonly #listeners = new Set<MembershipListener>();
  /** Per probe sequence number, the neighbours it went through already (the latest PROBE_ROUTES_KEPT). */
  readonly #asked = new Map<number, Set<NodeId>>();
  #timer: unknown;
  #tickDueMs = 0;
  /** Lag a tick's lateness counted before the histogram saw it. */
  #lagCountedAheadMs = 0;
  #stopped = false;

  constructor(options: MembershipServiceOptions) {
    this.#options = options;
    this.#machine = new SwimMembership({
      self: options.self,
      address: undefined,
      options: options.swim,
      random: options.random,
      nowMs: options.clock.now(),
      connectedPeers: () => this.#memberPeers(),
    });
  }

  members(): readonly MemberInfo[] {
    return this.#machine.members();
  }

  /** Lifeguard's local health score (0: healthy), for introspection. */
  localHealth(): number {
    return this.#machine.localHealth();
  }

  /** `listener` hears every change; returns the unsubscribe function. */
  onChange(listener: MembershipListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Starts ticking; `address` is this node's listen address (undefined: it does not listen). */
  start(address: string | undefined): void {
    this.#machine.setAddress(address);
    this.#schedule();
  }

  /** A peer connected: a member if it announced `membership` (the tables are exchanged). */
  connected(peer: NodeId): void {
    if (this.#stopped || !this.#speaks(peer)) return;
    this.#handle(this.#machine.connected(peer, this.#options.clock.now()));
  }

  /** A membership message from `peer`; its own address, when on an unspecified host, gets the host its connection comes from. */
  received(peer: NodeId, message: MembershipMessage): void {
    if (this.#stopped) return;
    this.#handle(
      this.#machine.receive(peer, this.#withConnectionHost(peer, message), this.#options.clock.now()),
      message.type === "MemberPingReq" ? "relay" : "none",
    );
  }

  /** Tells every live member this node leaves (they mark it `left`, not dead) and stops. */
  leave(): void {
    if (this.#stopped) return;
    this.#handle(this.#machine.leave());
    this.#stopped = true;
    this.#options.clock.clearTimeout(this.#timer);
    this.#options.loopLag?.stop();
  }

  #schedule(): void {
    if (this.#stopped) return;
    const { clock, loopLag } = this.#options;
    this.#tickDueMs = clock.now() + MEMBERSHIP_TICK_MS;
    this.#timer = clock.setTimeout(() => {
      const nowMs = clock.now();
      // A stall that delayed this tick shows in its lateness, and in the histogram only once the
      // sample it fell in ends (maybe after this tick): what the lateness counted is not counted twice.
      const lateMs = Math.max(0, nowMs - this.#tickDueMs);
      const stalledMs = loopLag?.takeStalledMs() ?? 0;
      const lagMs = Math.max(lateMs, stalledMs - this.#lagCountedAheadMs);
      this.#lagCountedAheadMs = Math.max(0, lateMs - stalledMs);
      this.#handle(this.#machine.tick(nowMs, lagMs), "own");
      this.#schedule();
    }, MEMBERSHIP_TICK_MS);
  }

  #speaks(peer: NodeId): boolean {
    return this.#memberPeers().includes(peer);
  }

  /** The connected peers that announced `membership`: the only ones sent membership messages. */
  #memberPeers(): NodeId[] {
    return this.#options.peers
      .connectedPeers()
      .filter((p) => p.features.includes("membership"))
      .map((p) => p.nodeId);
  }

  /**
   * `probes`: what the output's pings are, for those to members this node has no connection to
   * (a bounded set of connections): `own` (a tick: this node's probes, which may go through any
   * neighbour), `relay` (a MemberPingReq: an indirect probe run for another node, which goes only
   * through a neighbour linked to the target, so that a probe travels at most three hops).
   */
  #handle(output: SwimOutput, probes: "own" | "relay" | "none" = "none"): void {
    if (output.send.length > 0) {
      const members = new Set(this.#memberPeers());
      for (const { peer, message } of output.send) {
        if (members.has(peer)) this.#options.peers.sendTo(peer, message);
        else if (message.type === "MemberPing" && probes !== "none")
          this.#probeThrough(members, peer, message.seq, message.updates, probes === "own");
        else if (message.type === "MemberPingReq")
          this.#probeThrough(members, message.target, message.seq, message.updates, true);
        // Anything else for a member without a connection now is not sent: lost, as SWIM expects of a message.
      }
    }
    if (output.changes.length === 0) return;
    const { logger, onCounts } = this.#options;
    for (const change of output.changes) {
      const { member, previous } = change;
      if (previous !== member.state) {
        const level = member.state === "dead" || member.state === "suspect" ? "warn" : "info";
        logger[level](`member ${member.state}`, {
          nodeId: member.nodeId,
          incarnation: member.incarnation,
          ...(previous === undefined ? {} : { was: previous }),
        });
      }
      for (const listener of [...this.#listeners]) listener(change);
    }
    if (onCounts !== undefined) {
      const counts: Record<MemberState, number> = { alive: 0, suspect: 0, dead: 0, left: 0 };
      for (const member of this.#machine.members()) counts[member.state]++;
      onCounts(counts);
    }
  }

  /**
   * A probe of (or a helper for) a member this node has no connection to goes as a MemberPingReq
   * with the probe's sequence number to neighbours not asked yet for it: PROBE_PATHS of those
   * that say they are connected to the target (one for a relayed probe), else (`own`) every
   * neighbour, whose glue forwards it to a neighbour of its own linked to the target. The
   * helper's ack (or nack) answers the probe, as SWIM's indirect probe does; the state machine
   * cannot tell, and needs no change.
   */
  #probeThrough(
    members: ReadonlySet<NodeId>,
    target: NodeId,
    seq: number,
    updates: MemberPingReqMessage["updates"],
    own: boolean,
  ): void {
    let used = this.#asked.get(seq);
    if (used === undefined) {
      used = new Set<NodeId>();
      this.#asked.set(seq, used);
      if (this.#asked.size > PROBE_ROUTES_KEPT) this.#asked.delete(this.#asked.keys().next().value!);
    }
    const usable = (peer: NodeId): boolean => members.has(peer) && peer !== target && !used.has(peer);
    const linked = this.#options.peers.neighboursLinkedTo(target).filter(usable);
    if (linked.length > 0) {
      for (let paths = own ? PROBE_PATHS : 1; paths > 0 && linked.length > 0; paths--) {
        const [helper] = linked.splice(Math.floor(this.#options.random() * linked.length), 1);
        used.add(helper!);
        this.#options.peers.sendTo(helper!, { type: "MemberPingReq", seq, target, updates });
      }
      return;
    }
    if (!own) return;
    // No neighbour is linked to it: every neighbour is asked, and the one that has a neighbour
    // linked to it passes the probe on (the others nack). A member within three hops is reached.
    for (const helper of [...members].filter(usable)) {
      used.add(helper);
      this.#options.peers.sendTo(helper, { type: "MemberPingReq", seq, target, updates });
    }
  }

  #withConnectionHost(peer: NodeId, message: MembershipMessage): MembershipMessage {
    const fix = (update: MemberUpdate): MemberUpdate => {
      if (update.nodeId !== peer || update.address === null) return update;
      const { host, port } = parseHostPort(update.address);
      if (!isUnspecifiedHost(host)) return update;
      const from = this.#options.peers.connectedPeers().find((p) => p.nodeId === peer);
      return from === undefined
        ? { ...update, address: null }
        : { ...update, address: formatHostPort(parseHostPort(from.address).host, port) };
    };
    switch (message.type) {
      case "MemberSync":
        return { ...message, members: message.members.map(fix) };
      case "MemberPing":
      case "MemberAck":
      case "MemberPingReq":
        return { ...message, updates: message.updates.map(fix) };
      case "MemberNack":
        return message;
    }
  }
}
