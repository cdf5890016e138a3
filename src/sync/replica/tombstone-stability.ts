import type { TombstoneEpoch } from "../../crdt/crdt.ts";
import { type VersionVector, vectorCovers } from "../../crdt/version-vector.ts";
import type { NodeId } from "../../identity/node-id.ts";

/** A member's latest reported version vector (its PullSince) and when it arrived. */
export interface MemberReport {
  readonly vector: VersionVector;
  readonly atMs: number;
}

/** What one compaction pass knows about the cluster. */
export interface StabilityView {
  readonly nowMs: number;
  /** This replica's version vector (everything up to it applied). */
  readonly ownVector: VersionVector;
  /** Per origin, the highest sequence this replica has applied (out of order included). */
  readonly maxApplied: VersionVector;
  /** The other known members' NodeIds (`knownMembers()`); a peer that reported counts too. */
  readonly members: readonly NodeId[];
  readonly reports: ReadonlyMap<NodeId, MemberReport>;
  /** Per member, when an op of its own was last applied here (a writer that reports to others). */
  readonly lastOpAtMs?: ReadonlyMap<NodeId, number>;
}

type Stage =
  | { readonly waitingFor: "seen"; readonly epoch: number; readonly applied: VersionVector }
  | {
      readonly waitingFor: "frontier";
      readonly epoch: number;
      readonly applied: VersionVector;
      readonly frontier: VersionVector;
    };

/**
 * Decides when tombstones are causally stable, pass by pass (docs/design/compaction.md). Pure: fed
 * views, it answers the epoch through which tombstones may be dropped.
 *
 * Every tombstone records the epoch it was made in. A pass closes the current epoch E, noting
 * `applied`: every op this replica had applied then, so every remove behind a tombstone of E or
 * before. Stage one waits until every member's latest report covers `applied`: every member has
 * applied those removes. Stage two then takes, from those same reports, each member's own
 * sequence (`frontier`): a write a member made concurrently with one of the removes (before it
 * had applied it) is at most that. Once this replica has applied the frontier, no write that
 * could still need one of these tombstones can arrive: it collects through E.
 *
 * A member whose latest report is older than `horizonMs` (or that does not report to this node),
 * and whose ops stopped arriving that long ago (counting from the start at the earliest), no
 * longer holds collection back; docs/design/compaction.md says what it gets when it comes back.
 */
export class TombstoneStability {
  readonly #epoch = { current: 0 };
  readonly #horizonMs: number;
  readonly #startedAtMs: number;
  #stage: Stage | undefined;

  constructor(options: { horizonMs: number; startedAtMs: number }) {
    this.#horizonMs = options.horizonMs;
    this.#startedAtMs = options.startedAtMs;
  }

  /** The epoch tombstones are made in now (shared with the CRDTs). */
  get epoch(): TombstoneEpoch {
    return this.#epoch;
  }

  /**
   * One pass: the epoch through which tombstones are stable now, if one became so, and `applied`:
   * every remove behind those tombstones is at most it, so a replica whose version vector does
   * not cover it may still hold what they removed.
   */
  pass(view: StabilityView): { readonly epoch: number; readonly applied: VersionVector } | undefined {
    if (this.#stage === undefined) this.#close(view);
    const stage = this.#stage!;
    if (stage.waitingFor === "seen") {
      const counted = this.#countedReports(view);
      if (counted === undefined) return undefined;
      for (const report of counted.values())
        if (!vectorCovers(report.vector, stage.applied)) return undefined;
      if (!vectorCovers(view.ownVector, stage.applied)) return undefined;
      const frontier = new Map<NodeId, number>();
      for (const [member, report] of counted) frontier.set(member, report.vector.get(member) ?? 0);
      this.#stage = { waitingFor: "frontier", epoch: stage.epoch, applied: stage.applied, frontier };
    }
    const waiting = this.#stage!;
    if (waiting.waitingFor !== "frontier" || !vectorCovers(view.ownVector, waiting.frontier))
      return undefined;
    this.#close(view);
    return { epoch: waiting.epoch, applied: waiting.applied };
  }

  /**
   * Forgets the epoch being waited on: the replica discarded its state (a replacing snapshot), so
   * the tombstones of that epoch are gone and its `applied` names ops the replica no longer holds,
   * which it may never hold again. The next pass closes a new epoch.
   */
  restart(): void {
    this.#stage = undefined;
  }

  #close(view: StabilityView): void {
    this.#stage = { waitingFor: "seen", epoch: this.#epoch.current, applied: new Map(view.maxApplied) };
    this.#epoch.current++;
  }

  /** The reports that count; undefined while a member within the horizon has not reported yet. */
  #countedReports(view: StabilityView): Map<NodeId, MemberReport> | undefined {
    const counted = new Map<NodeId, MemberReport>();
    for (const member of new Set([...view.members, ...view.reports.keys()])) {
      const report = view.reports.get(member);
      if (report !== undefined && view.nowMs - report.atMs <= this.#horizonMs) {
        counted.set(member, report);
        continue;
      }
      // Without a report within the horizon there is nothing to check: it holds collection back
      // while it is heard of (a peer that reported once may go on writing through others).
      const heardAtMs = Math.max(this.#startedAtMs, view.lastOpAtMs?.get(member) ?? 0);
      if (view.nowMs - heardAtMs <= this.#horizonMs) return undefined;
    }
    return counted;
  }
}
