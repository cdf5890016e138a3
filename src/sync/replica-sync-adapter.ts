import type { Op } from "../crdt/op.ts";
import { decodeState, encodeState } from "../crdt/state-codec.ts";
import { vectorCovers } from "../crdt/version-vector.ts";
import { NumaxError } from "../errors/numax-error.ts";
import type { NodeId } from "../identity/node-id.ts";
import { DEFAULT_MAX_MESSAGE_SIZE_BYTES } from "../net/frame.ts";
import type { PushStateMessage, VersionVector } from "../net/messages.ts";
import type { ReplicaSnapshot, ReplicatedState } from "./replica/replicated-state.ts";
import type { SyncReplica } from "./sync-engine.ts";

/** Largest encoded state carried by one PushState part: well under the 16 MiB default message limit. */
export const SNAPSHOT_PART_BYTES_MAX = 4 * 1024 * 1024;

/**
 * The bytes a PushState spends on more than its objects and its version vector (its type, flags,
 * the arrays' headers) and the frame's header, at most.
 */
export const PUSH_STATE_ENVELOPE_BYTES_MAX = 128;

/** One version-vector entry of a PushState, as JSON (an origin in hex, a sequence, punctuation), at most. */
const VECTOR_ENTRY_WIRE_BYTES_MAX = 64;

/**
 * An object's bytes in a PushState, in either wire format, at most: its state as base64 (the
 * JSON form; MessagePack takes fewer), its key escaped at up to 6 bytes per UTF-16 unit, 64 for
 * the field names and punctuation.
 */
function objectWireBytesMax(key: string, encodedBytes: number): number {
  return 64 + 6 * key.length + 4 * Math.ceil(encodedBytes / 3);
}

const EMPTY_VECTOR: VersionVector = new Map();

/**
 * A cell of a CRDT object that no PushState part within the peer's `max_message_size` can carry
 * (alone, it is larger: written under a larger limit, or the peer reads less): left out of the
 * snapshot, and told here.
 */
export type CellTooLarge = (key: string, cellWireBytes: number, wireBytesMax: number) => void;

/**
 * The sync engine's view of the node's ReplicatedState. Snapshot objects travel as
 * `encodeState` bytes, decoded and validated here on arrival (a malformed one is refused whole).
 * Snapshot parts are cut at SNAPSHOT_PART_BYTES_MAX of encoded state, and so that each fits a
 * frame of `maxMessageSizeBytes` (`max_message_size`, or the peer's when smaller) in either wire
 * format: a part over it was refused by the sender's own framing, every time the peer asked. An
 * object whose state alone does not fit a part has its cells spread over parts of their own (the
 * receiver merges a part cell by cell, in order: parts of an object's cells, in order, do what the
 * whole does); a single cell that does not fit is left out (`onCellTooLarge`).
 */
export function replicaForSync(
  state: ReplicatedState,
  maxMessageSizeBytes = DEFAULT_MAX_MESSAGE_SIZE_BYTES,
  onCellTooLarge?: CellTooLarge,
): SyncReplica<Op> {
  return {
    versionVector: () => state.versionVector(),
    heldOrigins: () => state.heldOrigins(),
    opsSince: (vector, limit, origins, bytes) => state.opsSince(vector, limit, origins, bytes),
    applyRemote: (ops) => state.applyRemote(ops),
    idOf: (op) => op.id,
    localOrigin: () => state.nodeId(),
    needsSnapshot: (vector) => state.compactedFor(vector).length > 0,
    isStale: (vector: VersionVector, peer: NodeId) => state.isStale(vector, peer),
    snapshotParts(replace: boolean, peerMaxMessageSizeBytes?: number): PushStateMessage[] {
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
      // Every part keeps room for the largest vector a part carries (the final one's, or the first's).
      const frameBytesMax = Math.min(maxMessageSizeBytes, peerMaxMessageSizeBytes ?? maxMessageSizeBytes);
      const wireBytesMax =
        frameBytesMax -
        PUSH_STATE_ENVELOPE_BYTES_MAX -
        VECTOR_ENTRY_WIRE_BYTES_MAX * Math.max(snapshot.vector.size, applied.size);
      // A piece of a large object goes alone in a non-final part, whose vector is empty but for the
      // replace marker: kept to the vector room of every part, a cell that fits one op was left out
      // of every snapshot in a cluster of a dozen origins (and the final vector still covered it).
      const pieceWireBytesMax = frameBytesMax - PUSH_STATE_ENVELOPE_BYTES_MAX - VECTOR_ENTRY_WIRE_BYTES_MAX;
      let objects: { key: string; state: Uint8Array }[] = [];
      let bytes = 0;
      let wireBytes = 0;
      const cut = (): void => {
        if (objects.length === 0) return;
        parts.push({ type: "PushState", versionVector: EMPTY_VECTOR, objects, final: false, replace });
        objects = [];
        bytes = 0;
        wireBytes = 0;
      };
      for (const object of snapshot.objects) {
        const encoded = encodeState({ family: object.family, cells: object.cells as never[] });
        const objectWireBytes = objectWireBytesMax(object.key, encoded.length);
        if (objectWireBytes > wireBytesMax || encoded.length > SNAPSHOT_PART_BYTES_MAX) {
          cut();
          for (const piece of objectPieces(object, pieceWireBytesMax, onCellTooLarge)) {
            objects.push({ key: object.key, state: piece });
            cut();
          }
          continue;
        }
        if (bytes + encoded.length > SNAPSHOT_PART_BYTES_MAX || wireBytes + objectWireBytes > wireBytesMax)
          cut();
        objects.push({ key: object.key, state: encoded });
        bytes += encoded.length;
        wireBytes += objectWireBytes;
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

/**
 * The cells of an object too large for one part, as encoded states of consecutive runs of them
 * that each fit a part alone (within `wireBytesMax` and SNAPSHOT_PART_BYTES_MAX). A run is
 * measured by its cells encoded one by one, each with a state's header: more than the run takes.
 */
function objectPieces(
  object: ReplicaSnapshot["objects"][number],
  wireBytesMax: number,
  onCellTooLarge: CellTooLarge | undefined,
): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let run: unknown[] = [];
  let runBytes = 0;
  const encodeRun = (): void => {
    if (run.length > 0) pieces.push(encodeState({ family: object.family, cells: run as never[] }));
    run = [];
    runBytes = 0;
  };
  for (const cell of object.cells) {
    const cellBytes = encodeState({ family: object.family, cells: [cell] as never[] }).length;
    const cellWireBytes = objectWireBytesMax(object.key, cellBytes);
    if (cellWireBytes > wireBytesMax || cellBytes > SNAPSHOT_PART_BYTES_MAX) {
      onCellTooLarge?.(object.key, cellWireBytes, wireBytesMax);
      continue;
    }
    const fits =
      runBytes + cellBytes <= SNAPSHOT_PART_BYTES_MAX &&
      objectWireBytesMax(object.key, runBytes + cellBytes) <= wireBytesMax;
    if (!fits) encodeRun();
    run.push(cell);
    runBytes += cellBytes;
  }
  encodeRun();
  return pieces;
}
