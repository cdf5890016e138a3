import type { NodeId } from "../identity/node-id.ts";
import type { HlcTimestamp } from "./hybrid-clock.ts";
import type { OpId } from "./op-id.ts";

/**
 * What an operation does, one variant per mutation of every family. Counter ops carry the
 * origin's slot total after the increment (not the delta), so applying one twice or out of order
 * is harmless: a slot only moves to a larger value. Every family is idempotent by construction;
 * the replica's dedup is for relay and bookkeeping, not for correctness.
 */
export type OpKind =
  | { readonly type: "gcounter_inc"; readonly slot: bigint }
  | { readonly type: "pncounter_inc"; readonly slot: bigint }
  | { readonly type: "pncounter_dec"; readonly slot: bigint }
  | { readonly type: "lww_set"; readonly value: Uint8Array }
  | { readonly type: "lww_map_set"; readonly field: Uint8Array; readonly value: Uint8Array }
  | { readonly type: "lww_map_remove"; readonly field: Uint8Array }
  | { readonly type: "lww_map_batch"; readonly entries: readonly LwwMapEntryWrite[] }
  | { readonly type: "orset_add"; readonly element: Uint8Array }
  | { readonly type: "orset_remove"; readonly element: Uint8Array; readonly tags: readonly OpId[] }
  | { readonly type: "rga_insert"; readonly parent: OpId | undefined; readonly value: Uint8Array }
  | { readonly type: "rga_delete"; readonly target: OpId };

export type OpType = OpKind["type"];

/**
 * One field's write inside an `lww_map_batch` op: a set, or a remove when `value` is undefined.
 * Each entry carries its own stamp (the one the separate `lww_map_set`/`lww_map_remove` op would
 * have had), and the entries of one op have distinct fields, so applying the batch converges
 * exactly as applying the separate ops would, in any order and any number of times.
 */
export interface LwwMapEntryWrite {
  readonly field: Uint8Array;
  readonly value: Uint8Array | undefined;
  readonly timestamp: HlcTimestamp;
}

export type OpKindOf<T extends OpType> = Extract<OpKind, { readonly type: T }>;

/**
 * One replicated operation on the CRDT named `key` of the family its kind belongs to.
 * `origin` always equals `id.origin` (the codec carries it once). `timestamp` is the origin's
 * hybrid logical clock stamp: LWW families order writes by (timestamp, origin) and RGA orders
 * concurrent siblings by it.
 */
export interface Op<K extends OpKind = OpKind> {
  readonly id: OpId;
  readonly origin: NodeId;
  readonly timestamp: HlcTimestamp;
  readonly key: string;
  readonly kind: K;
}

export type CrdtFamily = "gcounter" | "pncounter" | "lww_register" | "lww_map" | "orset" | "rga";

export const CRDT_FAMILIES: readonly CrdtFamily[] = [
  "gcounter",
  "pncounter",
  "lww_register",
  "lww_map",
  "orset",
  "rga",
];

export const FAMILY_OF_OP_TYPE: Readonly<Record<OpType, CrdtFamily>> = {
  gcounter_inc: "gcounter",
  pncounter_inc: "pncounter",
  pncounter_dec: "pncounter",
  lww_set: "lww_register",
  lww_map_set: "lww_map",
  lww_map_remove: "lww_map",
  lww_map_batch: "lww_map",
  orset_add: "orset",
  orset_remove: "orset",
  rga_insert: "rga",
  rga_delete: "rga",
};

/**
 * The writes an op makes: the entries of an `lww_map_batch`, 1 for any other op. What bounds
 * work per op (remote ops applied per event-loop turn) counts these, not ops.
 */
export function opWriteCount(op: Op): number {
  return op.kind.type === "lww_map_batch" ? op.kind.entries.length : 1;
}

/**
 * The stamp of an op's oldest write: its own stamp, or an `lww_map_batch`'s oldest entry's (the
 * op is stamped with its newest). Propagation latency is measured from it, so a batch's covers
 * the wait of its first write too.
 */
export function opOldestStamp(op: Op): HlcTimestamp {
  if (op.kind.type !== "lww_map_batch") return op.timestamp;
  let oldest = op.timestamp;
  for (const entry of op.kind.entries) if (entry.timestamp < oldest) oldest = entry.timestamp;
  return oldest;
}

export function makeOp<K extends OpKind>(id: OpId, timestamp: HlcTimestamp, key: string, kind: K): Op<K> {
  return { id, origin: id.origin, timestamp, key, kind };
}
