import { isDeepStrictEqual } from "node:util";
import { FAMILY_DEFINITIONS } from "../crdt/crdt-families.ts";
import { crdtPackr } from "../crdt/msgpack.ts";
import type { NodeId } from "../identity/node-id.ts";
import { exactValueJson, type InspectedObject, inspectObject, storedValue } from "./crdt-inspection.ts";
import type { StoredObject, StoredReplica } from "./stored-replica.ts";

/** One CRDT whose replicated state is not the same in A and B. */
export interface ObjectDifference {
  readonly key: string;
  readonly family: InspectedObject["family"];
  /** `value`: users see different values; `state`: same value, different internal state (tags, tombstones, stamps). */
  readonly kind: "only-in-a" | "only-in-b" | "value" | "state";
  readonly a: InspectedObject | null;
  readonly b: InspectedObject | null;
  /**
   * Each side's value as the line prints it: bytes that are not UTF-8 as `0x` + hex (exactValueJson),
   * where `a.value` and `b.value` show them as U+FFFD. Null for a side without the CRDT.
   */
  readonly values: { readonly a: unknown; readonly b: unknown };
}

/** What `nx diff` reports: the differing CRDTs (exit 1 when any) and the version vectors for context. */
export interface ReplicaDiff {
  readonly differences: readonly ObjectDifference[];
  /** Origins whose contiguous sequence differs (0: none seen). */
  readonly vectors: readonly { readonly origin: NodeId; readonly a: number; readonly b: number }[];
}

/** The canonical bytes of a CRDT's state: equal states have equal cell lists (Crdt.cells). */
function stateBytes(object: StoredObject): Buffer {
  const codec = FAMILY_DEFINITIONS[object.family].cellCodec as { toMsgpack(cell: unknown): unknown };
  return Buffer.from(crdtPackr.pack(object.crdt.cells().map((cell) => codec.toMsgpack(cell))));
}

export function diffReplicas(a: StoredReplica, b: StoredReplica): ReplicaDiff {
  const differences: ObjectDifference[] = [];
  const ids = [...new Set([...a.objects.keys(), ...b.objects.keys()])].sort();
  for (const id of ids) {
    const inA = a.objects.get(id);
    const inB = b.objects.get(id);
    if (inA !== undefined && inB !== undefined && stateBytes(inA).equals(stateBytes(inB))) continue;
    const viewA = inA === undefined ? null : inspectObject(inA);
    const viewB = inB === undefined ? null : inspectObject(inB);
    const any = (viewA ?? viewB)!;
    // Values are compared as bytes, not as their JSON: that shows bytes as text, and two runs
    // of bytes that are not UTF-8 can show alike.
    const kind =
      inA === undefined
        ? "only-in-b"
        : inB === undefined
          ? "only-in-a"
          : isDeepStrictEqual(storedValue(inA), storedValue(inB))
            ? "state"
            : "value";
    const values = {
      a: inA === undefined ? null : exactValueJson(storedValue(inA)),
      b: inB === undefined ? null : exactValueJson(storedValue(inB)),
    };
    differences.push({ key: any.key, family: any.family, kind, a: viewA, b: viewB, values });
  }
  const origins = [...new Set([...a.vector.keys(), ...b.vector.keys()])].sort();
  const vectors = origins
    .map((origin) => ({ origin, a: a.vector.get(origin) ?? 0, b: b.vector.get(origin) ?? 0 }))
    .filter((entry) => entry.a !== entry.b);
  return { differences, vectors };
}

function describe(difference: ObjectDifference): string {
  const { values } = difference;
  switch (difference.kind) {
    case "only-in-a":
      return `only in A: ${JSON.stringify(values.a)}`;
    case "only-in-b":
      return `only in B: ${JSON.stringify(values.b)}`;
    case "value":
      return `A has ${JSON.stringify(values.a)}, B has ${JSON.stringify(values.b)}`;
    case "state": {
      const { a, b } = difference;
      return `same value ${JSON.stringify(values.a)}; state differs: A ${a!.cells.length} cells, ${a!.tombstones} tombstones; B ${b!.cells.length} cells, ${b!.tombstones} tombstones`;
    }
  }
}

/** `nx diff`'s text: one line per differing key, then the version vectors that differ. */
export function renderDiff(diff: ReplicaDiff, a: string, b: string): string {
  const lines = [`A = ${a}`, `B = ${b}`];
  if (diff.differences.length === 0) lines.push("the replicated state is the same");
  for (const difference of diff.differences) {
    lines.push(`${difference.key} (${difference.family}): ${describe(difference)}`);
  }
  for (const { origin, a: seqA, b: seqB } of diff.vectors) {
    lines.push(`version vector: ${origin} A ${seqA}, B ${seqB}`);
  }
  const count = diff.differences.length;
  if (count > 0 && diff.vectors.length === 0) {
    // Both hold the same op ids, so neither will send the other anything: this does not heal.
    lines.push(
      "the version vectors are the same: ops with the same ids hold different content (two nodes wrote under one identity?)",
    );
  }
  if (count > 0) lines.push(`${count} ${count === 1 ? "key differs" : "keys differ"}`);
  return `${lines.join("\n")}\n`;
}
