import type { CrdtFamily } from "../crdt/op.ts";
import type { CrdtHost } from "../wasm/abi/crdt-host.ts";
import { POLICY_CRDT_FAMILIES, type PolicyCrdtFamily } from "../wasm/abi/host-call-policy.ts";

/**
 * The CRDT families by the names users type: `--print-lww-map KEY`, `/v1/crdt/lww-map/KEY`, and
 * policies' `crdt.lww-map` (one list: the host-call policy's).
 */
export const CRDT_FAMILY_NAMES = POLICY_CRDT_FAMILIES;

export type CrdtFamilyName = PolicyCrdtFamily;

export function isCrdtFamilyName(name: string): name is CrdtFamilyName {
  return (CRDT_FAMILY_NAMES as readonly string[]).includes(name);
}

/** One CRDT's current value as users see it. */
export type CrdtValue =
  | { readonly family: "gcounter" | "pncounter"; readonly value: bigint }
  | { readonly family: "lww-register"; readonly value: Uint8Array | undefined }
  | { readonly family: "lww-map"; readonly entries: readonly (readonly [Uint8Array, Uint8Array])[] }
  | { readonly family: "orset"; readonly elements: readonly Uint8Array[] }
  | { readonly family: "rga"; readonly values: readonly Uint8Array[] };

export function readCrdtValue(host: CrdtHost, family: CrdtFamilyName, key: string): CrdtValue {
  switch (family) {
    case "gcounter":
      return { family, value: host.gcounterValue(key) };
    case "pncounter":
      return { family, value: host.pncounterValue(key) };
    case "lww-register":
      return { family, value: host.lwwGet(key) };
    case "lww-map":
      return { family, entries: host.lwwMapEntries(key) };
    case "orset":
      return { family, elements: host.orsetElements(key) };
    case "rga":
      return { family, values: host.rgaValues(key) };
  }
}

const decoder = new TextDecoder();

/** Bytes as text (guests mostly store UTF-8; invalid sequences show as U+FFFD). */
function text(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/**
 * The `--print-*` line: `KEY = 12`, `KEY = value` / `KEY = <unset>`, `KEY = {field=value, other=value}`
 * (field order), `KEY = [a, b]` (sorted for ORSet, sequence order for RGA).
 */
export function formatCrdtLine(key: string, value: CrdtValue): string {
  switch (value.family) {
    case "gcounter":
    case "pncounter":
      return `${key} = ${value.value}`;
    case "lww-register":
      return `${key} = ${value.value === undefined ? "<unset>" : text(value.value)}`;
    case "lww-map":
      return `${key} = {${value.entries.map(([f, v]) => `${text(f)}=${text(v)}`).join(", ")}}`;
    case "orset":
      return `${key} = [${value.elements.map(text).join(", ")}]`;
    case "rga":
      return `${key} = [${value.values.map(text).join(", ")}]`;
  }
}

/** The field of the JSON form (`crdtValueToJson`) that holds each family's value. */
const JSON_FIELD: Readonly<Record<CrdtFamilyName, string>> = {
  gcounter: "value",
  pncounter: "value",
  "lww-register": "value",
  "lww-map": "entries",
  orset: "elements",
  rga: "values",
};

/** A value as JSON: counters as decimal strings (they exceed 2^53), bytes as text. */
export function crdtValueJson(value: CrdtValue): unknown {
  switch (value.family) {
    case "gcounter":
    case "pncounter":
      return value.value.toString();
    case "lww-register":
      return value.value === undefined ? null : text(value.value);
    case "lww-map":
      return Object.fromEntries(value.entries.map(([f, v]) => [text(f), text(v)]));
    case "orset":
      return value.elements.map(text);
    case "rga":
      return value.values.map(text);
  }
}

/** The JSON form (`/v1/crdt/...`, `--json`): `{key, family, <value|entries|elements|values>}`. */
export function crdtValueToJson(key: string, value: CrdtValue): Record<string, unknown> {
  return { key, family: value.family, [JSON_FIELD[value.family]]: crdtValueJson(value) };
}

/** The family's name as users type it (`lww-register`) from the replica's (`lww_register`). */
export function crdtFamilyName(family: CrdtFamily): CrdtFamilyName {
  return family.replace("_", "-") as CrdtFamilyName;
}

/** The replica's name of a family (`lww_register`) from the one users type. */
export function crdtFamilyOf(name: CrdtFamilyName): CrdtFamily {
  return name.replace("-", "_") as CrdtFamily;
}
