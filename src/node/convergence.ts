import type { NodeId } from "../identity/node-id.ts";
import type { VersionVector } from "../net/messages.ts";
import type { PeerState } from "../sync/peer-manager.ts";
import type { ReportedVector } from "../sync/sync-engine.ts";

/**
 * Anti-entropy rounds a peer may miss before a difference between its vector and this node's
 * counts as suspected divergence. A healthy peer reports every round; one round missed can be a
 * busy connection, two are a peer that is partitioned, stopped or stuck.
 */
export const DIVERGENCE_SUSPECT_ROUNDS = 2;

/** How one peer's state compares with this node's, as far as its latest report tells. */
export interface PeerConvergenceView {
  readonly nodeId: NodeId;
  /** Its address in the peer list; null for a peer no longer listed (it disconnected and was not configured). */
  readonly address: string | null;
  /** Its state in the peer list; null when no longer listed. */
  readonly state: PeerState | null;
  /** The vector of its latest PullSince (what it held then); null: it never reported. */
  readonly versionVector: Readonly<Record<string, number>> | null;
  /** When that report arrived, ISO 8601; null with versionVector. */
  readonly reportedAt: string | null;
  readonly reportAgeMs: number | null;
  /** Ops this node holds now that the report did not: what the peer lags behind; null without a report. */
  readonly missingOps: number | null;
  /** Ops the report held that this node does not: what this node lags behind; null without a report. */
  readonly extraOps: number | null;
  /** Vectors differ and the peer has not reported for DIVERGENCE_SUSPECT_ROUNDS anti-entropy rounds. */
  readonly suspectedDivergence: boolean;
}

/** Per-node version vectors, lag and suspected divergence (the convergence view, `GET /api/v1/convergence`). */
export interface ConvergenceView {
  readonly nodeId: NodeId;
  readonly versionVector: Readonly<Record<string, number>>;
  readonly antiEntropyIntervalMs: number;
  /** A report older than this, with vectors that differ, is suspected divergence. */
  readonly suspectAfterMs: number;
  readonly peers: readonly PeerConvergenceView[];
  /** Some peer is suspected of divergence. */
  readonly suspectedDivergence: boolean;
}

/** Ops `have` holds that `other` does not (sum over origins of the sequence difference). */
function opsBeyond(have: VersionVector, other: VersionVector): number {
  let count = 0;
  for (const [origin, seq] of have) count += Math.max(0, seq - (other.get(origin) ?? 0));
  return count;
}

/**
 * Compares this node's vector with what each peer last reported. Pure: the peer list, the
 * reports and the time are given. Peers are listed as the peer list has them, then peers that
 * reported and are no longer listed.
 */
export function convergenceView(input: {
  readonly nodeId: NodeId;
  readonly versionVector: VersionVector;
  /** The peer list (PeerManager.peerStatuses). */
  readonly peers: readonly {
    readonly address: string;
    readonly nodeId: NodeId | undefined;
    readonly state: PeerState;
  }[];
  readonly reported: ReadonlyMap<NodeId, ReportedVector>;
  readonly antiEntropyIntervalMs: number;
  readonly nowMs: number;
}): ConvergenceView {
  const { versionVector, reported, nowMs } = input;
  const suspectAfterMs = DIVERGENCE_SUSPECT_ROUNDS * input.antiEntropyIntervalMs;
  const listed = input.peers.filter((peer) => peer.nodeId !== undefined && peer.nodeId !== input.nodeId);
  const ids = [...new Set([...listed.map((peer) => peer.nodeId!), ...reported.keys()])].filter(
    (id) => id !== input.nodeId,
  );
  const peers = ids.map((nodeId): PeerConvergenceView => {
    const peer = listed.find((candidate) => candidate.nodeId === nodeId);
    const report = reported.get(nodeId);
    const common = { nodeId, address: peer?.address ?? null, state: peer?.state ?? null };
    if (report === undefined) {
      return {
        ...common,
        versionVector: null,
        reportedAt: null,
        reportAgeMs: null,
        missingOps: null,
        extraOps: null,
        suspectedDivergence: false,
      };
    }
    const missingOps = opsBeyond(versionVector, report.vector);
    const extraOps = opsBeyond(report.vector, versionVector);
    const reportAgeMs = Math.max(0, Math.round(nowMs - report.atMs));
    return {
      ...common,
      versionVector: Object.fromEntries(report.vector),
      reportedAt: new Date(report.atMs).toISOString(),
      reportAgeMs,
      missingOps,
      extraOps,
      suspectedDivergence: missingOps + extraOps > 0 && reportAgeMs > suspectAfterMs,
    };
  });
  return {
    nodeId: input.nodeId,
    versionVector: Object.fromEntries(versionVector),
    antiEntropyIntervalMs: input.antiEntropyIntervalMs,
    suspectAfterMs,
    peers,
    suspectedDivergence: peers.some((peer) => peer.suspectedDivergence),
  };
}
