import type { Op } from "../crdt/op.ts";
import { decodeState, encodeState } from "../crdt/state-codec.ts";
import { vectorCovers } from "../crdt/version-vector.ts";
import { NumaxError } from "../errors/numax-error.ts";
import type { NodeId } from "../identity/node-id.ts";
import type { PushStateMessage, VersionVector } from "../net/messages.ts";
import type { ReplicatedState } from "./replica/replicated-state.ts";
import type { SyncReplica } from "./sync-engine.ts";

/** Largest encoded state carried by one PushState part: well under the 16 MiB default message limit. */
export const SNAPSHOT_PART_BYTES_MAX = 4 * 1024 * 1024;

const EMPTY_VECTOR: VersionVector = new Map();

/**
 * The sync engine's view of the node's ReplicatedState. Snapshot objects travel as
 * `encodeState` bytes, decoded and validated here on arrival (a malformed one is refused whole).
 */
export function replicaForSync(state: ReplicatedState): SyncReplica<Op> {
  return {
    versionVector: () => state.versionVector(),
    heldOrigins: () => state.heldOrigins(),
    opsSince: (vector, limit, origins, bytes) => state.opsSince(vector, limit, origins, bytes),
    applyRemote: (ops) => state.applyRemote(ops),
    idOf: (op) => op.id,
    localOrigin: () => state.nodeId(),
    needsSnapshot: (vector) => state.compactedFor(vector).length > 0,
    isStale: (vector: VersionVector, peer: NodeId) => state.isStale(vector, peer),
    snapshotParts(replace: boolean): PushStateMessage[] {
      const snapshot = state.snapshot();
      const parts: PushStateMessage[] = [];
      // The state may hold effects of ops above its vector (applied out of order): a first, empty
      // part says up to where, so the receiver bounds the removes it takes in (see applySnapshotPart).
      const applied = snapshot.applied ?? snapshot.vector;
      if (!vectorCovers(snapshot.vector, applied))
        parts.push({
          type: "PushState",
          versionVector: applied,
          objects: [],
          final: false,
          replace,
        });
      let objects: { key: string; state: Uint8Array }[] = [];
      let bytes = 0;
      for (const object of snapshot.objects) {
        const encoded = encodeState({ family: object.family, cells: object.cells as never[] });
        if (objects.length > 0 && bytes + encoded.length > SNAPSHOT_PART_BYTES_MAX) {
          parts.push({ type: "PushState", versionVector: EMPTY_VECTOR, objects, final: false, replace });
          objects = [];
          bytes = 0;
        }
        objects.push({ key: object.key, state: encoded });
        bytes += encoded.length;
      }
      parts.push({ type: "PushState", versionVector: snapshot.vector, objects, final: true, replace });
      return parts;
    },
    applySnapshotPart(part) {
      let objects: {
        family: ReturnType<typeof decodeState>["family"];
        key: string;
        cells: readonly unknown[];
      }[];
      try {
        objects = part.objects.map((o) => {
          const decoded = decodeState(o.state);
          return { family: decoded.family, key: o.key, cells: decoded.cells };
        });
      } catch (error) {
        throw new NumaxError("SYNC_SNAPSHOT_MALFORMED", "peer sent a malformed state snapshot", {
          cause: error,
        });
      }
      // A final part's vector is what the receiver now holds everything of; a non-final part's
      // (empty from builds before compaction) bounds the ops whose effects the state carries.
      return state.applySnapshot(
        { vector: part.final ? part.versionVector : EMPTY_VECTOR, objects },
        {
          replace: part.replace === true,
          final: part.final,
          applied: part.final ? undefined : part.versionVector,
        },
      );
    },
  };
}
