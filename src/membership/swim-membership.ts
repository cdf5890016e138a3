import type { NodeId } from "../identity/node-id.ts";
import {
  MEMBER_UPDATES_PER_MESSAGE_MAX,
  MEMBERS_MAX,
  type MemberAckMessage,
  type MemberNackMessage,
  type MemberPingMessage,
  type MemberPingReqMessage,
  type MemberState,
  type MemberSyncMessage,
  type MemberUpdate,
} from "../net/messages.ts";
import { GossipQueue } from "./gossip-queue.ts";
import type { MemberInfo, MembershipChange, MembershipView } from "./membership-view.ts";
import {
  retransmitLimit,
  SWIM_PENDING_RELAYS_MAX,
  SWIM_REFUTATION_BROADCAST_INTERVAL_MS,
  type SwimOptions,
  suspicionTimeoutMs,
} from "./swim-options.ts";

/** The messages of the `membership` wire feature. */
export type MembershipMessage =
  | MemberPingMessage
  | MemberAckMessage
  | MemberPingReqMessage
  | MemberNackMessage
  | MemberSyncMessage;

/** A message for one peer, produced by the state machine for the I/O part to send. */
export interface MembershipOutgoing {
  readonly peer: NodeId;
  readonly message: MembershipMessage;
}

/** What one input produced: messages to send, and the member table's changes. */
export interface SwimOutput {
  readonly send: readonly MembershipOutgoing[];
  readonly changes: readonly MembershipChange[];
}

export interface SwimMembershipInit {
  readonly self: NodeId;
  /** This node's listen address (`host:port`), undefined when it does not listen. */
  readonly address: string | undefined;
  readonly options: SwimOptions;
  /** Uniform in [0, 1): the probe order and the helpers (seeded in tests and the simulator). */
  readonly random: () => number;
  readonly nowMs: number;
  /** The members this node has a connection to now (that speak membership): its push-pull partners. */
  readonly connectedPeers: () => Iterable<NodeId>;
}

interface Member {
  readonly nodeId: NodeId;
  address: string | null;
  state: MemberState;
  incarnation: number;
  /** Who made the claim the state comes from (see MemberUpdate.by). */
  by: NodeId;
  /** When this node took the claim it holds (for suspicion timeouts and the retention of the departed). */
  sinceMs: number;
  /** When this node last took a newer claim about it (push-pull sends the latest changes first). */
  changedAtMs: number;
  /** While suspect: every accuser of this incarnation, the first included. */
  accusers: Set<NodeId>;
  /**
   * Suspect, and to be probed out of turn: not probed by this node since it became so, or (a
   * suspicion of this node's own) no probe of it acked since.
   */
  unprobedSuspect: boolean;
  /** When this node last probed it (among suspects due out of turn, the longest waiting goes first). */
  probedAtMs: number;
  /**
   * This node has a connection to it (or heard from it) since it was last declared dead or left:
   * only such members are probed and asked to help. A member known by gossip alone would be
   * probed over no connection (the I/O half drops the ping) and suspected for nothing.
   */
  linked: boolean;
}

interface Probe {
  readonly target: NodeId;
  readonly seq: number;
  readonly startedMs: number;
  /** Local health scale when it started: its timeouts keep it. */
  readonly scale: number;
  /** The indirect phase began (helpers asked, possibly none). */
  indirect: boolean;
  helpers: number;
  nacks: number;
}

interface Relay {
  readonly requester: NodeId;
  readonly seq: number;
  readonly deadlineMs: number;
}

const RANK: Readonly<Record<MemberState, number>> = { alive: 0, suspect: 1, dead: 2, left: 2 };

/**
 * True when `update` is newer than what `current` says about the same member: a higher
 * incarnation, or the same one with a graver state (alive < suspect < dead = left). Only the
 * member itself raises its incarnation, so `alive` overrides a suspicion only by refuting it.
 */
export function supersedes(
  update: { readonly state: MemberState; readonly incarnation: number },
  current: { readonly state: MemberState; readonly incarnation: number },
): boolean {
  return (
    update.incarnation > current.incarnation ||
    (update.incarnation === current.incarnation && RANK[update.state] > RANK[current.state])
  );
}

/**
 * SWIM membership with the Lifeguard refinements, as a pure state machine: fed ticks, connections
 * and messages, it returns the messages to send and the changes of its member table. No timers,
 * sockets or clocks inside (time arrives as `nowMs`), so the same code runs in a node
 * (src/membership/membership-service.ts) and in the simulator.
 *
 * - **Probes**: each probe interval, one member (round robin over a shuffled list of those this
 *   node has a connection to) gets a MemberPing; without an ack within the probe timeout,
 *   `indirectProbes` connected helpers get a MemberPingReq and probe it for this node; without
 *   any ack by the end of the interval it is suspected.
 * - **Suspicion** (Lifeguard): a suspect is declared dead after `suspicionTimeoutMs`, which
 *   shrinks as independent accusers confirm it; the member refutes by gossiping `alive` with a
 *   higher incarnation. An accuser probes its suspect out of turn until one probe is acked (each
 *   tells it of the suspicion); a node that receives an accusation of an incarnation refuted since
 *   sends the newer claim straight back to its sender.
 * - **Local health** (Lifeguard): missed nacks, failed probes without helpers, refuted
 *   suspicions of itself and event-loop lag past `loopLagMaxMs` raise a score
 *   (0..localHealthMax-1); a successful probe lowers it. The probe interval and timeout are
 *   multiplied by score + 1.
 * - **Dissemination**: every change is piggybacked on probes and acks, λ·ceil(log10(N+1)) times.
 *   A new connection exchanges whole tables (MemberSync: the join); `leave` sends this node's
 *   `left` entry to every live member.
 * - **Push-pull** (SWIM's anti-entropy): every `pushPullIntervalMs` or so, this node's table (in
 *   parts of `pushPullMembersMax`) goes to one random connected member, which answers with its
 *   own. A MemberSync of more than one entry is answered unless this node sent that peer one
 *   within half the interval: the tables a connection opens with, and an answer, are not
 *   answered again.
 */
export class SwimMembership implements MembershipView {
  readonly #self: NodeId;
  readonly #options: SwimOptions;
  readonly #random: () => number;
  readonly #members = new Map<NodeId, Member>();
  readonly #gossip = new GossipQueue();
  readonly #relays = new Map<number, Relay>();
  readonly #connectedPeers: () => Iterable<NodeId>;
  /** When this node last sent each peer a MemberSync (kept half a push-pull interval). */
  readonly #syncSentAtMs = new Map<NodeId, number>();
  #nextPushPullAtMs: number;
  /** Where the last push-pull part stopped, in NodeId order (undefined: at the start). */
  #pushPullAfter: NodeId | undefined;
  #address: string | null;
  #incarnation = 0;
  #leaving = false;
  #health = 0;
  #nextSeq = 1;
  #probe: Probe | undefined;
  #nextProbeAtMs: number;
  #probeOrder: NodeId[] = [];
  #probeIndex = 0;
  #send: MembershipOutgoing[] = [];
  #changes: MembershipChange[] = [];
  /** While one message is applied: what this node knows that refutes the stale accusations it carries. */
  #corrections: MemberUpdate[] = [];
  /** When a refutation last went straight to every connected member (SWIM_REFUTATION_BROADCAST_INTERVAL_MS). */
  #refutedToAllAtMs = Number.NEGATIVE_INFINITY;
  /** A refutation made since then waits for the interval to end to go to every connected member. */
  #refutationWaits = false;

  constructor(init: SwimMembershipInit) {
    this.#self = init.self;
    this.#address = init.address ?? null;
    this.#options = init.options;
    this.#random = init.random;
    this.#nextProbeAtMs = init.nowMs;
    this.#connectedPeers = init.connectedPeers;
    this.#nextPushPullAtMs = init.nowMs + this.#pushPullDelayMs();
    // The join is announced by gossip too, so members this node's first contact misses still learn of it.
    this.#gossip.push(this.#selfUpdate("alive"));
  }

  /** Every member, this node first, then by NodeId. */
  members(): MemberInfo[] {
    const others = [...this.#members.values()]
      .sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1))
      .map((m) => ({
        nodeId: m.nodeId,
        address: m.address ?? undefined,
        state: m.state,
        incarnation: m.incarnation,
      }));
    return [this.#selfInfo(), ...others];
  }

  /** This node's incarnation: raised each time it refutes a suspicion of itself. */
  incarnation(): number {
    return this.#incarnation;
  }

  /** Lifeguard's local health score: 0 is healthy; probe timing is stretched by score + 1. */
  localHealth(): number {
    return this.#health;
  }

  /** Members that are alive or suspect, this node included: the N of the formulas. */
  liveCount(): number {
    let count = 1;
    for (const member of this.#members.values())
      if (member.state === "alive" || member.state === "suspect") count++;
    return count;
  }

  /** This node's listen address became known (it listens once the transport is bound). */
  setAddress(address: string | undefined): void {
    if ((address ?? null) === this.#address) return;
    this.#address = address ?? null;
    // Members that took this node's entry without an address fill it in from its own claim.
    this.#gossip.push(this.#selfUpdate("alive"));
  }

  /** A connection to `peer`, which speaks membership, opened: both sides send their tables (the join). */
  connected(peer: NodeId, nowMs: number): SwimOutput {
    this.#heardFrom(peer, nowMs);
    this.#sync(peer, this.#table(), nowMs);
    return this.#flush();
  }

  /** A membership message from `peer` (an authenticated connection). */
  receive(peer: NodeId, message: MembershipMessage, nowMs: number): SwimOutput {
    this.#heardFrom(peer, nowMs);
    switch (message.type) {
      case "MemberSync":
        this.#applyAll(message.members, nowMs);
        // One entry is a leave, a refutation or a correction: nothing to exchange a table for.
        if (message.members.length > 1 && !this.#syncedRecently(peer, nowMs))
          this.#sync(peer, this.#pushPullPart(), nowMs);
        break;
      case "MemberPing":
        this.#applyAll(message.updates, nowMs);
        this.#emit(peer, { type: "MemberAck", seq: message.seq, updates: this.#piggyback() });
        break;
      case "MemberPingReq":
        this.#applyAll(message.updates, nowMs);
        this.#relay(peer, message, nowMs);
        break;
      case "MemberAck":
        this.#applyAll(message.updates, nowMs);
        this.#acked(message.seq);
        break;
      case "MemberNack":
        if (this.#probe?.seq === message.seq) this.#probe.nacks++;
        break;
    }
    this.#correct(peer, nowMs);
    return this.#flush();
  }

  /**
   * `peer` sent accusations older than what this node knows (a suspicion or death of an
   * incarnation since refuted): it missed the refutation, and the gossip that carried it may have
   * died out since. Left alone it would declare a live member dead when its suspicion times out,
   * and keep gossiping the stale claim, which every other node ignores. It gets the newer claims
   * straight back.
   */
  #correct(peer: NodeId, nowMs: number): void {
    if (this.#corrections.length === 0) return;
    this.#sync(peer, this.#corrections, nowMs);
    this.#corrections = [];
  }

  /** Sends `peer` a MemberSync, remembered so that its answer is not answered in turn. */
  #sync(peer: NodeId, members: MemberUpdate[], nowMs: number): void {
    this.#syncSentAtMs.set(peer, nowMs);
    this.#emit(peer, { type: "MemberSync", members });
  }

  #syncedRecently(peer: NodeId, nowMs: number): boolean {
    const sentAtMs = this.#syncSentAtMs.get(peer);
    return sentAtMs !== undefined && nowMs - sentAtMs < this.#options.pushPullIntervalMs / 2;
  }

  #isolated(): boolean {
    for (const peer of this.#connectedPeers()) if (peer !== this.#self) return false;
    return true;
  }

  /** Jittered, so that the exchanges of nodes started together spread out. */
  #pushPullDelayMs(): number {
    return Math.floor(this.#options.pushPullIntervalMs * (0.5 + this.#random()));
  }

  #pushPull(nowMs: number): void {
    this.#nextPushPullAtMs = nowMs + this.#pushPullDelayMs();
    for (const peer of [...this.#syncSentAtMs.keys()])
      if (!this.#syncedRecently(peer, nowMs)) this.#syncSentAtMs.delete(peer);
    const partners = [...this.#connectedPeers()].filter((peer) => peer !== this.#self);
    if (partners.length === 0) return;
    const partner = partners[Math.floor(this.#random() * partners.length)]!;
    this.#sync(partner, this.#pushPullPart(), nowMs);
  }

  /**
   * This node's own entry and up to pushPullMembersMax − 1 others: the whole table when it fits;
   * else the latest changes first, up to half (a join, a refutation or a death whose gossip may
   * have died out), then the others in NodeId order from where the previous part stopped.
   */
  #pushPullPart(): MemberUpdate[] {
    const self = this.#selfUpdate(this.#leaving ? "left" : "alive");
    const room = this.#options.pushPullMembersMax - 1;
    const members = [...this.#members.values()];
    if (members.length <= room) return [self, ...members.map((m) => this.#claimOf(m))];
    const latest = [...members].sort((a, b) => b.changedAtMs - a.changedAtMs).slice(0, Math.floor(room / 2));
    const chosen = new Set(latest.map((m) => m.nodeId));
    const ids = members.map((m) => m.nodeId).sort();
    const after = this.#pushPullAfter;
    const start = Math.max(0, after === undefined ? 0 : ids.findIndex((id) => id > after));
    for (let i = 0; i < ids.length && chosen.size < room; i++) {
      const id = ids[(start + i) % ids.length]!;
      if (chosen.has(id)) continue;
      chosen.add(id);
      this.#pushPullAfter = id;
    }
    return [self, ...[...chosen].map((id) => this.#claimOf(this.#members.get(id)!))];
  }

  /**
   * Timer input (the driver calls it every few tens of milliseconds): probes, suspicion timeouts,
   * retention. `loopLagMs`: the longest event-loop delay since the previous tick (0 in a
   * simulator that models none); past `loopLagMaxMs` it raises local health and is taken off
   * every deadline running, so that a node that could not read its acks accuses no one for it.
   */
  tick(nowMs: number, loopLagMs = 0): SwimOutput {
    if (this.#leaving) return this.#flush();
    if (loopLagMs > this.#options.loopLagMaxMs) this.#lagged(nowMs, loopLagMs);
    this.#advanceProbe(nowMs);
    this.#refuteToAll(nowMs);
    if (nowMs >= this.#nextPushPullAtMs) this.#pushPull(nowMs);
    for (const [seq, relay] of this.#relays) {
      if (nowMs < relay.deadlineMs) continue;
      this.#relays.delete(seq);
      this.#emit(relay.requester, { type: "MemberNack", seq: relay.seq });
    }
    const live = this.liveCount();
    for (const member of [...this.#members.values()]) {
      if (member.state === "suspect") {
        const timeoutMs = suspicionTimeoutMs(this.#options, live, member.accusers.size - 1);
        if (nowMs - member.sinceMs >= timeoutMs) {
          this.#apply(
            {
              nodeId: member.nodeId,
              address: member.address,
              state: "dead",
              incarnation: member.incarnation,
              by: this.#self,
            },
            nowMs,
          );
        }
      } else if (
        (member.state === "dead" || member.state === "left") &&
        nowMs - member.sinceMs >= this.#options.deadMemberRetainMs
      ) {
        this.#members.delete(member.nodeId);
      }
    }
    return this.#flush();
  }

  /** A clean stop: this node's `left` entry goes to every live member; the machine stops probing. */
  leave(): SwimOutput {
    this.#leaving = true;
    const left = this.#selfUpdate("left");
    for (const member of this.#members.values()) {
      if (member.state === "alive" || member.state === "suspect")
        this.#emit(member.nodeId, { type: "MemberSync", members: [left] });
    }
    return this.#flush();
  }

  /** The event loop stood still for `lagMs`: what arrived meanwhile is read only now. */
  #lagged(nowMs: number, lagMs: number): void {
    this.#changeHealth(1);
    const probe = this.#probe;
    if (probe !== undefined) this.#probe = { ...probe, startedMs: Math.min(nowMs, probe.startedMs + lagMs) };
    for (const [seq, relay] of this.#relays)
      this.#relays.set(seq, { ...relay, deadlineMs: relay.deadlineMs + lagMs });
    for (const member of this.#members.values())
      if (member.state === "suspect") member.sinceMs = Math.min(nowMs, member.sinceMs + lagMs);
  }

  #selfInfo(): MemberInfo {
    return {
      nodeId: this.#self,
      address: this.#address ?? undefined,
      state: this.#leaving ? "left" : "alive",
      incarnation: this.#incarnation,
    };
  }

  #selfUpdate(state: "alive" | "left"): MemberUpdate {
    return {
      nodeId: this.#self,
      address: this.#address,
      state,
      incarnation: this.#incarnation,
      by: this.#self,
    };
  }

  #table(): MemberUpdate[] {
    const table = [this.#selfUpdate(this.#leaving ? "left" : "alive")];
    for (const m of this.#members.values()) {
      if (table.length >= MEMBERS_MAX) break;
      table.push(this.#claimOf(m));
    }
    return table;
  }

  /** What this node holds about `member`, as a claim to gossip. */
  #claimOf(member: Member): MemberUpdate {
    return {
      nodeId: member.nodeId,
      address: member.address,
      state: member.state,
      incarnation: member.incarnation,
      by: member.by,
    };
  }

  #scale(): number {
    return this.#health + 1;
  }

  #changeHealth(delta: number): void {
    this.#health = Math.min(this.#options.localHealthMax - 1, Math.max(0, this.#health + delta));
  }

  #advanceProbe(nowMs: number): void {
    const probe = this.#probe;
    if (probe !== undefined) {
      const elapsedMs = nowMs - probe.startedMs;
      if (!probe.indirect && elapsedMs >= this.#options.probeTimeoutMs * probe.scale) this.#askHelpers(probe);
      if (elapsedMs < this.#options.probeIntervalMs * probe.scale) return;
      this.#probe = undefined;
      this.#probeFailed(probe, nowMs);
    }
    if (nowMs < this.#nextProbeAtMs) return;
    this.#nextProbeAtMs = nowMs + this.#options.probeIntervalMs * this.#scale();
    // A node without a single connection (its first dials refused, or all its links just ended)
    // reaches no one, not even through a neighbour: a probe now would fail for its own want of
    // a route and accuse the member of it.
    if (this.#isolated()) return;
    const target = this.#nextTarget();
    if (target === undefined) return;
    this.#members.get(target)!.probedAtMs = nowMs;
    const seq = this.#nextSeq++;
    this.#probe = {
      target,
      seq,
      startedMs: nowMs,
      scale: this.#scale(),
      indirect: false,
      helpers: 0,
      nacks: 0,
    };
    this.#emit(target, {
      type: "MemberPing",
      seq,
      updates: this.#withSuspicionOf(target, this.#piggyback()),
    });
  }

  /** Round robin over a shuffled list of the live members, reshuffled at each pass (SWIM's time-bounded completeness). */
  #nextTarget(): NodeId | undefined {
    // A member that became suspect is probed next, out of turn: the probe tells it (buddy
    // system), and its ack brings its refutation here if it has refuted already. Without this, a
    // node that missed the refutation gossip would wait for its turn in the round robin (N
    // intervals, longer than the suspicion timeout in a large cluster) and declare a live member dead.
    // This node's own suspicions first: a suspicion heard by gossip has an accuser probing it too.
    let due: Member | undefined;
    const rank = (m: Member): number => (m.accusers.has(this.#self) ? 0 : 1);
    for (const member of this.#members.values()) {
      if (member.state !== "suspect" || !member.unprobedSuspect || !member.linked) continue;
      if (
        due === undefined ||
        rank(member) < rank(due) ||
        (rank(member) === rank(due) && member.probedAtMs < due.probedAtMs)
      )
        due = member;
    }
    if (due !== undefined) {
      due.unprobedSuspect = false;
      return due.nodeId;
    }
    for (let attempts = 0; attempts < 2; attempts++) {
      while (this.#probeIndex < this.#probeOrder.length) {
        const candidate = this.#members.get(this.#probeOrder[this.#probeIndex++]);
        if (candidate?.linked && (candidate.state === "alive" || candidate.state === "suspect"))
          return candidate.nodeId;
      }
      this.#probeOrder = this.#shuffled(this.#liveOthers());
      this.#probeIndex = 0;
    }
    return undefined;
  }

  #liveOthers(): NodeId[] {
    const live: NodeId[] = [];
    for (const m of this.#members.values())
      if (m.linked && (m.state === "alive" || m.state === "suspect")) live.push(m.nodeId);
    return live;
  }

  #shuffled<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.#random() * (i + 1));
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }

  #askHelpers(probe: Probe): void {
    const helpers = this.#shuffled(
      [...this.#members.values()]
        .filter((m) => m.state === "alive" && m.linked && m.nodeId !== probe.target)
        .map((m) => m.nodeId),
    ).slice(0, this.#options.indirectProbes);
    probe.indirect = true;
    probe.helpers = helpers.length;
    for (const helper of helpers) {
      this.#emit(helper, {
        type: "MemberPingReq",
        seq: probe.seq,
        target: probe.target,
        updates: this.#piggyback(),
      });
    }
  }

  #probeFailed(probe: Probe, nowMs: number): void {
    const { helpers } = probe;
    // Lifeguard: helpers that sent no nack point at this node's own trouble; with no helper, any failure does.
    this.#changeHealth(helpers > 0 ? Math.max(0, helpers - probe.nacks) : 1);
    const member = this.#members.get(probe.target);
    if (member === undefined || (member.state !== "alive" && member.state !== "suspect")) return;
    // This node's own suspicion reaches the suspect only through its probes (the gossip of it
    // may all go to others, or be lost): probed out of turn again until one is acked, so that it
    // refutes before the timeout declares it dead.
    if (member.state === "suspect" && member.accusers.has(this.#self)) {
      member.unprobedSuspect = true;
      return;
    }
    this.#apply(
      {
        nodeId: member.nodeId,
        address: member.address,
        state: "suspect",
        incarnation: member.incarnation,
        by: this.#self,
      },
      nowMs,
    );
  }

  #acked(seq: number): void {
    const relay = this.#relays.get(seq);
    if (relay !== undefined) {
      this.#relays.delete(seq);
      this.#emit(relay.requester, { type: "MemberAck", seq: relay.seq, updates: this.#piggyback() });
      return;
    }
    if (this.#probe?.seq !== seq) return;
    this.#probe = undefined;
    this.#changeHealth(-1);
  }

  #relay(requester: NodeId, request: MemberPingReqMessage, nowMs: number): void {
    if (this.#relays.size >= SWIM_PENDING_RELAYS_MAX || request.target === this.#self) return;
    const seq = this.#nextSeq++;
    // The nack must reach the requester before its round ends: 80 % of the probe timeout (Lifeguard).
    this.#relays.set(seq, {
      requester,
      seq: request.seq,
      deadlineMs: nowMs + Math.floor(this.#options.probeTimeoutMs * 0.8),
    });
    this.#emit(request.target, { type: "MemberPing", seq, updates: this.#piggyback() });
  }

  #applyAll(updates: readonly MemberUpdate[], nowMs: number): void {
    for (const update of updates) this.#apply(update, nowMs);
  }

  /**
   * A peer this node has no entry for spoke to it over an authenticated connection: it is alive.
   * Its incarnation is unknown, so it enters at 0 and is not gossiped (its own claims will be):
   * a member whose join gossip this node missed is learned at its first probe instead.
   */
  #heardFrom(peer: NodeId, nowMs: number): void {
    if (peer === this.#self) return;
    const known = this.#members.get(peer);
    if (known !== undefined) {
      known.linked = true;
      return;
    }
    if (this.#members.size + 1 >= MEMBERS_MAX && !this.#forgetOneDeparted()) return;
    const member: Member = {
      nodeId: peer,
      address: null,
      state: "alive",
      incarnation: 0,
      by: peer,
      sinceMs: nowMs,
      changedAtMs: nowMs,
      accusers: new Set(),
      unprobedSuspect: false,
      probedAtMs: 0,
      linked: true,
    };
    this.#members.set(peer, member);
    this.#changed(member, undefined);
  }

  /** One claim about a member, from gossip or from this node itself. */
  #apply(update: MemberUpdate, nowMs: number): void {
    if (update.nodeId === this.#self) {
      this.#aboutSelf(update, nowMs);
      return;
    }
    const current = this.#members.get(update.nodeId);
    if (current === undefined) {
      // The departed are not added: a late claim about a member forgotten since must not bring it back.
      if (update.state === "dead" || update.state === "left") return;
      if (this.#members.size + 1 >= MEMBERS_MAX && !this.#forgetOneDeparted()) return;
      const member: Member = {
        nodeId: update.nodeId,
        address: update.address,
        state: update.state,
        incarnation: update.incarnation,
        by: update.by,
        sinceMs: nowMs,
        changedAtMs: nowMs,
        accusers: new Set(update.state === "suspect" ? [update.by] : []),
        unprobedSuspect: update.state === "suspect",
        probedAtMs: 0,
        linked: false,
      };
      this.#members.set(member.nodeId, member);
      this.#gossip.push(update);
      this.#changed(member, undefined);
      return;
    }
    if (update.state !== "alive" && update.incarnation < current.incarnation) {
      this.#corrections.push(this.#claimOf(current));
      return;
    }
    if (supersedes(update, current)) {
      const previous = current.state;
      // A new claim starts its own clock: a suspicion of a later incarnation (the member refuted
      // the earlier one, unseen here) must not inherit the refuted suspicion's elapsed time.
      current.sinceMs = nowMs;
      current.changedAtMs = nowMs;
      current.state = update.state;
      current.incarnation = update.incarnation;
      current.by = update.by;
      if (update.address !== null) current.address = update.address;
      current.accusers = new Set(update.state === "suspect" ? [update.by] : []);
      current.unprobedSuspect = update.state === "suspect";
      // Back from the dead, it is probed again once a connection shows it reachable from here.
      if (update.state === "dead" || update.state === "left") current.linked = false;
      this.#gossip.push({ ...update, address: current.address });
      this.#changed(current, previous);
      return;
    }
    if (current.address === null && update.address !== null && update.nodeId === update.by) {
      // Its own claim, which the entry (made by `#heardFrom` or gossip) lacked: where it listens. Spread it,
      // as the join it announces would have been; when what this node knows of the member is
      // newer (a suspicion), spread that with the address: the queue holds one update per member.
      current.address = update.address;
      current.changedAtMs = nowMs;
      this.#gossip.push(supersedes(current, update) ? this.#claimOf(current) : update);
      this.#changed(current, current.state);
    }
    if (
      update.state === "suspect" &&
      current.state === "suspect" &&
      update.incarnation === current.incarnation &&
      !current.accusers.has(update.by)
    ) {
      // An independent confirmation: counted, and spread so that the others count it too.
      current.accusers.add(update.by);
      this.#gossip.push(update);
    }
  }

  /** Someone suspects this node, declares it dead, or knows a later incarnation of it (it restarted): refute. */
  #aboutSelf(update: MemberUpdate, nowMs: number): void {
    if (this.#leaving) return;
    const accused = update.state !== "alive";
    if (update.incarnation < this.#incarnation) {
      // An accusation this node refuted already: its sender missed the refutation, so spread it
      // again (the next ack to that sender carries it first: least sent), and tell the sender.
      if (accused) {
        this.#gossip.push(this.#selfUpdate("alive"));
        this.#corrections.push(this.#selfUpdate("alive"));
      }
      return;
    }
    if (update.incarnation === this.#incarnation && !accused) return;
    this.#incarnation = update.incarnation + 1;
    this.#gossip.push(this.#selfUpdate("alive"));
    if (!accused) return;
    this.#changeHealth(1);
    // The refutation also goes straight to every connected member, the accusers among them when
    // connected: an accuser whose probes are slowed (local health) and spent on members it cannot
    // reach (a partition) may otherwise miss the gossip of it and declare this node dead. At most
    // once per SWIM_REFUTATION_BROADCAST_INTERVAL_MS; meanwhile the accuser alone gets it at once.
    this.#refutationWaits = true;
    if (nowMs - this.#refutedToAllAtMs >= SWIM_REFUTATION_BROADCAST_INTERVAL_MS) this.#refuteToAll(nowMs);
    else if (update.by !== this.#self && this.#isConnected(update.by))
      this.#emit(update.by, { type: "MemberSync", members: [this.#selfUpdate("alive")] });
  }

  /** Sends this node's latest refutation to every connected member, if one waits and the interval allows. */
  #refuteToAll(nowMs: number): void {
    if (!this.#refutationWaits || nowMs - this.#refutedToAllAtMs < SWIM_REFUTATION_BROADCAST_INTERVAL_MS)
      return;
    this.#refutationWaits = false;
    this.#refutedToAllAtMs = nowMs;
    const refutation = this.#selfUpdate("alive");
    for (const peer of this.#connectedPeers())
      if (peer !== this.#self) this.#emit(peer, { type: "MemberSync", members: [refutation] });
  }

  #isConnected(peer: NodeId): boolean {
    for (const connected of this.#connectedPeers()) if (connected === peer) return true;
    return false;
  }

  /** Makes room for a new member by forgetting the departed one gone longest; false when there is none. */
  #forgetOneDeparted(): boolean {
    let oldest: Member | undefined;
    for (const m of this.#members.values()) {
      if ((m.state === "dead" || m.state === "left") && (oldest === undefined || m.sinceMs < oldest.sinceMs))
        oldest = m;
    }
    if (oldest === undefined) return false;
    this.#members.delete(oldest.nodeId);
    return true;
  }

  #changed(member: Member, previous: MemberState | undefined): void {
    this.#changes.push({
      member: {
        nodeId: member.nodeId,
        address: member.address ?? undefined,
        state: member.state,
        incarnation: member.incarnation,
      },
      previous,
      by: member.by,
    });
  }

  /**
   * Lifeguard's buddy system: a probe of a suspect tells it so first, whatever the piggyback queue
   * holds, so it refutes at once instead of waiting for the gossip to reach it.
   */
  #withSuspicionOf(target: NodeId, updates: MemberUpdate[]): MemberUpdate[] {
    const member = this.#members.get(target);
    if (member?.state !== "suspect") return updates;
    const suspicion: MemberUpdate = {
      nodeId: target,
      address: member.address,
      state: "suspect",
      incarnation: member.incarnation,
      by: member.by,
    };
    return [suspicion, ...updates.filter((u) => u.nodeId !== target)].slice(
      0,
      MEMBER_UPDATES_PER_MESSAGE_MAX,
    );
  }

  #piggyback(): MemberUpdate[] {
    return this.#gossip.take(
      MEMBER_UPDATES_PER_MESSAGE_MAX,
      retransmitLimit(this.#options, this.liveCount()),
    );
  }

  #emit(peer: NodeId, message: MembershipMessage): void {
    this.#send.push({ peer, message });
  }

  #flush(): SwimOutput {
    const output = { send: this.#send, changes: this.#changes };
    this.#send = [];
    this.#changes = [];
    return output;
  }
}
