import type { NodeId } from "../identity/node-id.ts";

/**
 * Per origin, the highest sequence up to which a replica has applied every op of that origin
 * (origins it has nothing from are absent, i.e. 0). Two replicas exchange these and send each
 * other exactly the ops above the other's entries.
 */
export type VersionVector = ReadonlyMap<NodeId, number>;

/** True when `have` includes every op `other` counts. */
export function vectorCovers(have: VersionVector, other: VersionVector): boolean {
  for (const [origin, seq] of other) if ((have.get(origin) ?? 0) < seq) return false;
  return true;
}
