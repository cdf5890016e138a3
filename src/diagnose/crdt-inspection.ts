import type { GCounter } from "../crdt/g-counter.ts";
import { type HlcTimestamp, hlcPhysicalMs } from "../crdt/hybrid-clock.ts";
import type { LwwMap } from "../crdt/lww-map.ts";
import type { LwwRegister } from "../crdt/lww-register.ts";
import { formatOpId, type OpId } from "../crdt/op-id.ts";
import type { OrSet } from "../crdt/or-set.ts";
import type { PNCounter } from "../crdt/pn-counter.ts";
import type { Rga } from "../crdt/rga.ts";
import type { NodeId } from "../identity/node-id.ts";
import { type CrdtFamilyName, type CrdtValue, crdtFamilyName, crdtValueJson } from "../node/crdt-values.ts";
import type { StoredObject } from "./stored-replica.ts";

/** One CRDT as `nx inspect` shows it: value, last writer, tombstones and every cell of its state. */
export interface InspectedObject {
  readonly key: string;
  readonly family: CrdtFamilyName;
  /** As `/v1/crdt/...` gives it: counters as decimal strings, bytes as text. */
  readonly value: unknown;
  /** The write with the greatest stamp among the cells that carry one (LWW, RGA); null otherwise. */
  readonly lastWriter: { readonly origin: NodeId; readonly hlc: number; readonly at: string } | null;
  /** Removed LWW-Map fields, covered OR-Set tags, deleted RGA elements, ghosts (runs of collected ones) and early deletes. */
  readonly tombstones: number;
  /** The state's cells (counter slots per origin, register, map fields, set elements with their tags, sequence elements). */
  readonly cells: readonly unknown[];
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Bytes as their UTF-8 text, or `0x` + hex when they are not valid UTF-8. */
function bytesJson(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    return `0x${Buffer.from(bytes).toString("hex")}`;
  }
}

function isOpId(value: object): value is OpId {
  const keys = Object.keys(value);
  return keys.length === 2 && "origin" in value && "seq" in value;
}

/** A cell as JSON: bytes as text, bigints as decimal strings, OpIds as `origin:seq`, stamps with their wall-clock time. */
function cellJson(value: unknown, name = ""): unknown {
  if (value instanceof Uint8Array) return bytesJson(value);
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number" && name === "timestamp") {
    return { hlc: value, at: new Date(hlcPhysicalMs(value as HlcTimestamp)).toISOString() };
  }
  if (Array.isArray(value)) return value.map((item) => cellJson(item));
  if (typeof value === "object" && value !== null) {
    if (isOpId(value)) return formatOpId(value);
    return Object.fromEntries(
      Object.entries(value).map(([field, item]) => [
        field,
        item === undefined ? null : cellJson(item, field),
      ]),
    );
  }
  return value;
}

/**
 * A value as JSON with its bytes as the cells show them (`cellJson`): text when they are UTF-8,
 * else `0x` + hex, so two values that differ never print alike (crdtValueJson shows invalid
 * UTF-8 as U+FFFD).
 */
export function exactValueJson(value: CrdtValue): unknown {
  switch (value.family) {
    case "gcounter":
    case "pncounter":
      return value.value.toString();
    case "lww-register":
      return value.value === undefined ? null : bytesJson(value.value);
    case "lww-map":
      return Object.fromEntries(value.entries.map(([field, item]) => [bytesJson(field), bytesJson(item)]));
    case "orset":
      return value.elements.map(bytesJson);
    case "rga":
      return value.values.map(bytesJson);
  }
}

/** What users see of a CRDT (the value `nx get` prints). */
export function storedValue(object: StoredObject): CrdtValue {
  const crdt = object.crdt as unknown;
  switch (object.family) {
    case "gcounter":
      return { family: "gcounter", value: (crdt as GCounter).value() };
    case "pncounter":
      return { family: "pncounter", value: (crdt as PNCounter).value() };
    case "lww_register":
      return { family: "lww-register", value: (crdt as LwwRegister).value() };
    case "lww_map":
      return { family: "lww-map", entries: (crdt as LwwMap).entries() };
    case "orset":
      return { family: "orset", elements: (crdt as OrSet).elements() };
    case "rga":
      return { family: "rga", values: (crdt as Rga).values() };
  }
}

interface CellFields {
  readonly type?: string;
  readonly timestamp?: number;
  readonly origin?: NodeId;
  readonly id?: OpId;
  readonly value?: unknown;
  readonly removed?: readonly OpId[];
  readonly deleted?: boolean;
}

function tombstonesOf(family: StoredObject["family"], cell: CellFields): number {
  switch (family) {
    case "lww_map":
      return cell.value === undefined ? 1 : 0;
    case "orset":
      return cell.removed?.length ?? 0;
    case "rga":
      return cell.type === "delete" || cell.type === "ghost" || cell.deleted === true ? 1 : 0;
    default:
      return 0;
  }
}

export function inspectObject(object: StoredObject): InspectedObject {
  const cells = object.crdt.cells() as CellFields[];
  let lastWriter: InspectedObject["lastWriter"] = null;
  let tombstones = 0;
  for (const cell of cells) {
    tombstones += tombstonesOf(object.family, cell);
    const origin = cell.origin ?? cell.id?.origin;
    if (cell.timestamp === undefined || origin === undefined) continue;
    if (
      lastWriter === null ||
      cell.timestamp > lastWriter.hlc ||
      (cell.timestamp === lastWriter.hlc && origin > lastWriter.origin)
    ) {
      lastWriter = {
        origin,
        hlc: cell.timestamp,
        at: new Date(hlcPhysicalMs(cell.timestamp as HlcTimestamp)).toISOString(),
      };
    }
  }
  return {
    key: object.key,
    family: crdtFamilyName(object.family),
    value: crdtValueJson(storedValue(object)),
    lastWriter,
    tombstones,
    cells: cells.map((cell) => cellJson(cell)),
  };
}

/** `nx inspect`'s text: a line for the value and last writer, then one per cell. */
export function renderInspected(object: InspectedObject): string {
  const writer =
    object.lastWriter === null ? "" : `, last writer ${object.lastWriter.origin} at ${object.lastWriter.at}`;
  const lines = [
    `${object.key} (${object.family}) = ${JSON.stringify(object.value)}`,
    `  ${object.cells.length} cell${object.cells.length === 1 ? "" : "s"}, ${object.tombstones} tombstone${object.tombstones === 1 ? "" : "s"}${writer}`,
    ...object.cells.map((cell) => `  ${JSON.stringify(cell)}`),
  ];
  return `${lines.join("\n")}\n`;
}
