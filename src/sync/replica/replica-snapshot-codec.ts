import { familyDefinition, familyOfCode } from "../../crdt/crdt-families.ts";
import { malformed, nodeIdCodec, safeUintCodec, textCodec } from "../../crdt/field-codec.ts";
import { crdtPackr } from "../../crdt/msgpack.ts";
import type { CrdtFamily } from "../../crdt/op.ts";
import { guardDecode, MAX_KEY_BYTES, unpackMsgpack } from "../../crdt/op-codec.ts";
import type { NodeId } from "../../identity/node-id.ts";
import type { ReplicaSnapshot } from "./replicated-state.ts";

/** Version of the snapshot encoding, its first element. */
export const SNAPSHOT_FORMAT_VERSION = 1;

const seqCodec = safeUintCodec(0);
const keyCodec = textCodec(MAX_KEY_BYTES);

/**
 * `[version, [[origin, seq]...], [[familyCode, key, [cell...]]...]]` with every cell in its
 * family's msgpack form: plain data (bytes, numbers, bigints, arrays), so it embeds in a sync
 * message of either payload format.
 */
export function snapshotToWireValue(snapshot: ReplicaSnapshot): unknown[] {
  const vector = [...snapshot.vector].map(([origin, seq]) => [nodeIdCodec.toMsgpack(origin), seq]);
  const objects = snapshot.objects.map((object) => {
    const definition = familyDefinition(object.family);
    const codec = definition.cellCodec as { toMsgpack(cell: unknown): unknown };
    return [definition.code, object.key, object.cells.map((cell) => codec.toMsgpack(cell))];
  });
  return [SNAPSHOT_FORMAT_VERSION, vector, objects];
}

/** Validates a snapshot from a peer; anything malformed throws CrdtCodecError. */
export function snapshotFromWireValue(raw: unknown): ReplicaSnapshot {
  return guardDecode("snapshot", () => {
    if (!Array.isArray(raw) || raw.length !== 3 || raw[0] !== SNAPSHOT_FORMAT_VERSION) {
      return malformed("snapshot", `[${SNAPSHOT_FORMAT_VERSION}, vector, objects]`, raw);
    }
    const [, rawVector, rawObjects] = raw;
    if (!Array.isArray(rawVector)) return malformed("snapshot.vector", "a list", rawVector);
    if (!Array.isArray(rawObjects)) return malformed("snapshot.objects", "a list", rawObjects);
    const vector = new Map<NodeId, number>();
    for (const [i, entry] of rawVector.entries()) {
      if (!Array.isArray(entry) || entry.length !== 2)
        return malformed(`snapshot.vector[${i}]`, "[origin, seq]", entry);
      vector.set(
        nodeIdCodec.fromMsgpack(entry[0], `snapshot.vector[${i}].origin`),
        seqCodec.fromMsgpack(entry[1], `snapshot.vector[${i}].seq`),
      );
    }
    const objects = rawObjects.map((entry: unknown, i: number) => {
      const path = `snapshot.objects[${i}]`;
      if (!Array.isArray(entry) || entry.length !== 3) return malformed(path, "[family, key, cells]", entry);
      const family: CrdtFamily | undefined =
        typeof entry[0] === "number" ? familyOfCode(entry[0]) : undefined;
      if (family === undefined) return malformed(`${path}.family`, "a family code", entry[0]);
      const key = keyCodec.fromMsgpack(entry[1], `${path}.key`);
      if (!Array.isArray(entry[2])) return malformed(`${path}.cells`, "a list", entry[2]);
      const codec = familyDefinition(family).cellCodec as {
        fromMsgpack(raw: unknown, path: string): unknown;
      };
      const cells = entry[2].map((cell: unknown, j: number) =>
        codec.fromMsgpack(cell, `${path}.cells[${j}]`),
      );
      return { family, key, cells };
    });
    return { vector, objects };
  });
}

export function encodeSnapshot(snapshot: ReplicaSnapshot): Uint8Array {
  return crdtPackr.pack(snapshotToWireValue(snapshot));
}

export function decodeSnapshot(encoded: Uint8Array): ReplicaSnapshot {
  return snapshotFromWireValue(guardDecode("snapshot", () => unpackMsgpack(encoded)));
}
