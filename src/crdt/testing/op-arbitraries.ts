import fc from "fast-check";
import { bytesKey } from "../../bytes/bytes-key.ts";
import type { NodeId } from "../../identity/node-id.ts";
import type { HlcTimestamp } from "../hybrid-clock.ts";
import { makeOp, type Op, type OpKind } from "../op.ts";
import { makeOpId, type OpId } from "../op-id.ts";
import { U64_MAX } from "../saturating-u64.ts";

export const nodeIdArb: fc.Arbitrary<NodeId> = fc
  .uint8Array({ minLength: 16, maxLength: 16 })
  .map((b) => Buffer.from(b).toString("hex") as NodeId);
export const opIdArb: fc.Arbitrary<OpId> = fc
  .tuple(nodeIdArb, fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }))
  .map(([origin, seq]) => makeOpId(origin, seq));
const bytesArb = fc.uint8Array({ maxLength: 40 });
const slotArb = fc.oneof(
  fc.bigInt({ min: 0n, max: U64_MAX }),
  fc.constantFrom(0n, U64_MAX, 2n ** 53n, 2n ** 53n + 1n),
);

export const opKindArb: fc.Arbitrary<OpKind> = fc.oneof(
  slotArb.map((slot): OpKind => ({ type: "gcounter_inc", slot })),
  slotArb.map((slot): OpKind => ({ type: "pncounter_inc", slot })),
  slotArb.map((slot): OpKind => ({ type: "pncounter_dec", slot })),
  bytesArb.map((value): OpKind => ({ type: "lww_set", value })),
  fc.tuple(bytesArb, bytesArb).map(([field, value]): OpKind => ({ type: "lww_map_set", field, value })),
  bytesArb.map((field): OpKind => ({ type: "lww_map_remove", field })),
  fc
    .uniqueArray(
      fc.record({
        field: bytesArb,
        value: fc.option(bytesArb, { nil: undefined }),
        timestamp: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }).map((t) => t as HlcTimestamp),
      }),
      { minLength: 1, maxLength: 6, selector: (entry) => bytesKey(entry.field) },
    )
    .map((entries): OpKind => ({ type: "lww_map_batch", entries: entries.map((entry) => ({ ...entry })) })),
  bytesArb.map((element): OpKind => ({ type: "orset_add", element })),
  fc
    .tuple(bytesArb, fc.array(opIdArb, { maxLength: 4 }))
    .map(([element, tags]): OpKind => ({ type: "orset_remove", element, tags })),
  fc
    .tuple(fc.option(opIdArb, { nil: undefined }), bytesArb)
    .map(([parent, value]): OpKind => ({ type: "rga_insert", parent, value })),
  opIdArb.map((target): OpKind => ({ type: "rga_delete", target })),
);

export const opArb: fc.Arbitrary<Op> = fc
  .tuple(
    opIdArb,
    fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    fc.string({ maxLength: 20 }),
    opKindArb,
  )
  .map(([id, timestamp, key, kind]) => makeOp(id, stampOfOp(timestamp, kind), key, kind));

/** A batch op is stamped at least as late as its entries (the decoder refuses it otherwise). */
function stampOfOp(timestamp: number, kind: OpKind): HlcTimestamp {
  if (kind.type !== "lww_map_batch") return timestamp as HlcTimestamp;
  return Math.max(timestamp, ...kind.entries.map((entry) => entry.timestamp)) as HlcTimestamp;
}
