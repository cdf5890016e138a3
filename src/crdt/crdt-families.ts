import { bytesKey } from "../bytes/bytes-key.ts";
import type { Crdt, TombstoneEpoch } from "./crdt.ts";
import {
  booleanCodec,
  bytesCodec,
  listCodec,
  nodeIdCodec,
  opIdCodec,
  optionalCodec,
  recordCodec,
  safeUintCodec,
  timestampCodec,
  u64Codec,
  unionCodec,
  type ValueCodec,
} from "./field-codec.ts";
import { GCounter, type GCounterCell } from "./g-counter.ts";
import { LwwMap, type LwwMapCell } from "./lww-map.ts";
import { LwwRegister, type LwwRegisterCell } from "./lww-register.ts";
import type { CrdtFamily } from "./op.ts";
import { MAX_REMOVE_TAGS, MAX_VALUE_BYTES } from "./op-codec.ts";
import { formatOpId } from "./op-id.ts";
import { OrSet, type OrSetCell } from "./or-set.ts";
import { PNCounter, type PNCounterCell } from "./pn-counter.ts";
import { Rga, type RgaCell } from "./rga.ts";

export interface FamilyTypes {
  gcounter: { crdt: GCounter; cell: GCounterCell };
  pncounter: { crdt: PNCounter; cell: PNCounterCell };
  lww_register: { crdt: LwwRegister; cell: LwwRegisterCell };
  lww_map: { crdt: LwwMap; cell: LwwMapCell };
  orset: { crdt: OrSet; cell: OrSetCell };
  rga: { crdt: Rga; cell: RgaCell };
}

export type CrdtOf<F extends CrdtFamily> = FamilyTypes[F]["crdt"];
export type CellOf<F extends CrdtFamily> = FamilyTypes[F]["cell"];

/** What the replica needs to store one family: a factory, the cell codec and each cell's key. */
export interface FamilyDefinition<F extends CrdtFamily> {
  readonly family: F;
  /** Stable small number naming the family in storage keys and encoded states. */
  readonly code: number;
  /** A new, empty CRDT; tombstone-keeping families record `epoch`'s current value in their tombstones. */
  create(epoch?: TombstoneEpoch): CrdtOf<F> & Crdt<CellOf<F>>;
  readonly cellCodec: ValueCodec<CellOf<F>>;
  /**
   * Bytes naming the cell within its CRDT, unique per cell. RGA element keys sort by
   * (timestamp, origin), so reading them in key order yields parents before children.
   */
  cellKey(cell: CellOf<F>): Uint8Array;
  /** The same identity as a string, cheap to compute: for maps of cells waiting to be stored. */
  cellId(cell: CellOf<F>): string;
}

const bytes = bytesCodec(MAX_VALUE_BYTES);
const tags = listCodec(opIdCodec, MAX_REMOVE_TAGS);
const EMPTY = new Uint8Array(0);
/** A ghost stands for at least one collected element. */
const spanCodec = safeUintCodec(1);

function nodeIdBytes(origin: string): Uint8Array {
  return Buffer.from(origin, "hex");
}

const RGA_ELEMENT_KEY = 1;
const RGA_DELETE_KEY = 2;

function rgaCellKey(cell: RgaCell): Uint8Array {
  const key = Buffer.allocUnsafe(25);
  // A ghost and an anchored element take the key of the element they were: written over it.
  if (cell.type !== "delete") {
    key[0] = RGA_ELEMENT_KEY;
    key.writeBigUInt64BE(BigInt(cell.timestamp), 1);
    key.write(cell.id.origin, 9, 16, "hex");
  } else {
    key[0] = RGA_DELETE_KEY;
    key.write(cell.target.origin, 1, 16, "hex");
    key.writeBigUInt64BE(BigInt(cell.target.seq), 17);
  }
  return key;
}

export const FAMILY_DEFINITIONS: { readonly [F in CrdtFamily]: FamilyDefinition<F> } = {
  gcounter: {
    family: "gcounter",
    code: 1,
    create: () => new GCounter(),
    cellCodec: recordCodec<GCounterCell>("gcounter cell", { origin: nodeIdCodec, slot: u64Codec }),
    cellKey: (cell) => nodeIdBytes(cell.origin),
    cellId: (cell) => cell.origin,
  },
  pncounter: {
    family: "pncounter",
    code: 2,
    create: () => new PNCounter(),
    cellCodec: recordCodec<PNCounterCell>("pncounter cell", {
      origin: nodeIdCodec,
      positive: u64Codec,
      negative: u64Codec,
    }),
    cellKey: (cell) => nodeIdBytes(cell.origin),
    cellId: (cell) => cell.origin,
  },
  lww_register: {
    family: "lww_register",
    code: 3,
    create: () => new LwwRegister(),
    cellCodec: recordCodec<LwwRegisterCell>("lww register cell", {
      timestamp: timestampCodec,
      origin: nodeIdCodec,
      value: bytes,
    }),
    cellKey: () => EMPTY,
    cellId: () => "",
  },
  lww_map: {
    family: "lww_map",
    code: 4,
    create: (epoch) => new LwwMap(epoch),
    cellCodec: recordCodec<LwwMapCell>("lww map cell", {
      field: bytes,
      timestamp: timestampCodec,
      origin: nodeIdCodec,
      value: optionalCodec(bytes),
    }),
    cellKey: (cell) => cell.field,
    cellId: (cell) => bytesKey(cell.field),
  },
  orset: {
    family: "orset",
    code: 5,
    create: (epoch) => new OrSet(epoch),
    cellCodec: recordCodec<OrSetCell>("orset cell", { element: bytes, tags, removed: tags }),
    cellKey: (cell) => cell.element,
    cellId: (cell) => bytesKey(cell.element),
  },
  rga: {
    family: "rga",
    code: 6,
    create: (epoch) => new Rga(epoch),
    cellCodec: unionCodec<RgaCell>("rga cell", {
      element: {
        code: 1,
        fields: {
          id: opIdCodec,
          timestamp: timestampCodec,
          parent: optionalCodec(opIdCodec),
          value: bytes,
          deleted: booleanCodec,
        },
      },
      delete: { code: 2, fields: { target: opIdCodec } },
      anchored: {
        code: 3,
        fields: {
          id: opIdCodec,
          timestamp: timestampCodec,
          parent: optionalCodec(opIdCodec),
          anchor: opIdCodec,
          value: bytes,
          deleted: booleanCodec,
        },
      },
      ghost: {
        code: 4,
        fields: {
          id: opIdCodec,
          timestamp: timestampCodec,
          parent: optionalCodec(opIdCodec),
          anchor: optionalCodec(opIdCodec),
          span: spanCodec,
        },
      },
    }),
    cellKey: rgaCellKey,
    cellId: (cell) => (cell.type === "delete" ? `d${formatOpId(cell.target)}` : `e${formatOpId(cell.id)}`),
  },
};

export function familyDefinition<F extends CrdtFamily>(family: F): FamilyDefinition<F> {
  return FAMILY_DEFINITIONS[family] as FamilyDefinition<F>;
}

const BY_CODE = new Map<number, CrdtFamily>(Object.values(FAMILY_DEFINITIONS).map((d) => [d.code, d.family]));

export function familyOfCode(code: number): CrdtFamily | undefined {
  return BY_CODE.get(code);
}
