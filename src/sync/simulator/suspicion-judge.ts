import type { MemberInfo } from "../../membership/membership-view.ts";

/** The simulated world at the moment a node records a claim about a member. */
export interface SuspicionWorld {
  /** Whether `member` is running and reachable both ways from `observer` now. */
  reachable(observer: string, member: string): boolean;
}

export interface SuspicionCounts {
  /** One per suspected incarnation of a member (a dead declaration that no `suspect` preceded counts as one). */
  readonly suspicions: number;
  /** Of those, the ones whose first recorder (the accuser: gossip reaches the others later) could reach the member. */
  readonly falseSuspicions: number;
  /**
   * Suspected incarnations declared dead (a suspicion timing out, not a death heard by gossip) by
   * a node that could reach the member both when it first held the suspicion and when it
   * declared: one per incarnation, however many nodes declared it.
   */
  readonly falseDeaths: number;
}

export interface SuspicionJudge {
  /** `observer` recorded `member` in a new state, a claim made by `by`; only `suspect` and `dead` are judged. */
  record(observer: string, member: MemberInfo, by: string): void;
  counts(): SuspicionCounts;
}

/**
 * Judges the simulator's SWIM suspicions against the world's truth (who runs, who reaches whom).
 * Suspicions are counted per incarnation of a member and judged by their first recorder; a death
 * is judged per declaring node, since the nodes holding one incarnation's suspicion may have
 * raised it on either side of a partition: one that raised it across the cut and declares after
 * the heal makes a true declaration, even when a node that reached the member had suspected it first.
 */
export function createSuspicionJudge(world: SuspicionWorld): SuspicionJudge {
  let suspicions = 0;
  let falseSuspicions = 0;
  let falseDeaths = 0;
  /** Per suspected incarnation ("nodeId incarnation"): whether its first recorder could reach the member. */
  const episodes = new Map<string, boolean>();
  /** Per incarnation and recording node ("nodeId incarnation observer"): whether it could reach the member when it first held the claim. */
  const claims = new Map<string, boolean>();
  const falselyDeclared = new Set<string>();
  return {
    record(observer, member, by) {
      if (member.state !== "suspect" && member.state !== "dead") return;
      const episode = `${member.nodeId} ${member.incarnation}`;
      const reachable = world.reachable(observer, member.nodeId);
      if (!episodes.has(episode)) {
        episodes.set(episode, reachable);
        suspicions++;
        if (reachable) falseSuspicions++;
      }
      const claim = `${episode} ${observer}`;
      if (!claims.has(claim)) claims.set(claim, reachable);
      // A suspicion held across a partition that times out after the heal is a true one; so is a
      // false one that times out across a partition raised since.
      const declared = member.state === "dead" && by === observer;
      if (declared && claims.get(claim) === true && reachable && !falselyDeclared.has(episode)) {
        falselyDeclared.add(episode);
        falseDeaths++;
      }
    },
    counts: () => ({ suspicions, falseSuspicions, falseDeaths }),
  };
}
