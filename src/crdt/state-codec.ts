import { type CellOf, FAMILY_DEFINITIONS, familyDefinition } from "./crdt-families.ts";
import { CrdtCodecError, isPlainObject, type JsonValue, malformed } from "./field-codec.ts";
import { crdtPackr } from "./msgpack.ts";
import { CRDT_FAMILIES, type CrdtFamily } from "./op.ts";
import { guardDecode, parseJson, unpackMsgpack, type WireFormat } from "./op-codec.ts";

/** Version of the state encoding: first element of a msgpack state, `v` in JSON. */
export const STATE_FORMAT_VERSION = 1;

/** One CRDT's whole state: its family and its cells (as `Crdt.cells()` lists them). */
export interface CrdtState<F extends CrdtFamily = CrdtFamily> {
  readonly family: F;
  readonly cells: readonly CellOf<F>[];
}

/** msgpack `[version, familyCode, [cell...]]`; JSON `{ v, family, cells: [...] }`. */
export function encodeState(state: CrdtState, format: WireFormat = "msgpack"): Uint8Array {
  const definition = familyDefinition(state.family);
  const codec = definition.cellCodec as (typeof FAMILY_DEFINITIONS)[CrdtFamily]["cellCodec"];
  if (format === "json") {
    const cells: JsonValue[] = state.cells.map((cell) => codec.toJson(cell as never));
    return Buffer.from(JSON.stringify({ v: STATE_FORMAT_VERSION, family: state.family, cells }));
  }
  const cells = state.cells.map((cell) => codec.toMsgpack(cell as never));
  return crdtPackr.pack([STATE_FORMAT_VERSION, definition.code, cells]);
}

/** Decodes and validates a state; malformed input throws CrdtCodecError. */
export function decodeState(encoded: Uint8Array, format: WireFormat = "msgpack"): CrdtState {
  return guardDecode("state", () =>
    format === "json" ? fromJson(parseJson(encoded)) : fromMsgpack(unpackMsgpack(encoded)),
  );
}

function fromMsgpack(raw: unknown): CrdtState {
  if (!Array.isArray(raw) || raw.length !== 3) return malformed("state", "[version, family, cells]", raw);
  if (raw[0] !== STATE_FORMAT_VERSION)
    return malformed("state.version", `state format ${STATE_FORMAT_VERSION}`, raw[0]);
  const definition = Object.values(FAMILY_DEFINITIONS).find((d) => d.code === raw[1]);
  if (definition === undefined) return malformed("state.family", "a family code", raw[1]);
  if (!Array.isArray(raw[2])) return malformed("state.cells", "a list", raw[2]);
  const cells = raw[2].map((cell: unknown, i: number) =>
    definition.cellCodec.fromMsgpack(cell, `state.cells[${i}]`),
  );
  return { family: definition.family, cells } as CrdtState;
}

function fromJson(raw: unknown): CrdtState {
  if (!isPlainObject(raw)) return malformed("state", "a state object", raw);
  for (const name of Object.keys(raw)) {
    if (name !== "v" && name !== "family" && name !== "cells")
      throw new CrdtCodecError(`state: unknown field "${name}"`);
  }
  if (raw.v !== STATE_FORMAT_VERSION)
    return malformed("state.v", `state format ${STATE_FORMAT_VERSION}`, raw.v);
  const family = raw.family;
  if (typeof family !== "string" || !(CRDT_FAMILIES as readonly string[]).includes(family)) {
    return malformed("state.family", `one of ${CRDT_FAMILIES.join(" | ")}`, family);
  }
  const definition = familyDefinition(family as CrdtFamily);
  if (!Array.isArray(raw.cells)) return malformed("state.cells", "a list", raw.cells);
  const cells = raw.cells.map((cell: unknown, i: number) =>
    definition.cellCodec.fromJson(cell, `state.cells[${i}]`),
  );
  return { family: definition.family, cells } as CrdtState;
}
