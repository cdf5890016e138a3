import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { bytesKey } from "../../bytes/bytes-key.ts";
import { FAMILY_DEFINITIONS } from "../../crdt/crdt-families.ts";
import type { HlcTimestamp } from "../../crdt/hybrid-clock.ts";
import type { LwwMapCell } from "../../crdt/lww-map.ts";
import type { LwwWrite } from "../../crdt/lww-register.ts";
import { crdtPackr } from "../../crdt/msgpack.ts";
import type { CrdtFamily } from "../../crdt/op.ts";
import { propertyRuns } from "../../crdt/testing/property-runs.ts";
import type { NodeId } from "../../identity/node-id.ts";
import { CellStoreWrites } from "./cell-store-writes.ts";
import { MsgpackChunks } from "./msgpack-chunks.ts";
import {
  CELL_KEY_INLINE_MAX,
  cellStorageKey,
  crdtObjectPrefix,
  packedRecord,
  recordPayload,
} from "./replica-layout.ts";

const cellCodec = FAMILY_DEFINITIONS.lww_map.cellCodec;

/** Lengths either side of msgpack's bin8 / bin16 / bin32 boundaries, and the small ones. */
function bytesAround(edges: readonly number[], maxSmall: number): fc.Arbitrary<Uint8Array> {
  const edgeLengths = edges.flatMap((edge) => [edge - 1, edge, edge + 1]).filter((n) => n >= 0);
  return fc.oneof(
    fc.uint8Array({ maxLength: maxSmall }),
    fc.constantFrom(...edgeLengths).map((length) => new Uint8Array(length).fill(length & 0xff)),
  );
}

const field = bytesAround([0, 0x100, CELL_KEY_INLINE_MAX], 300);
const value = fc.option(bytesAround([0x100, 0x10000], 64), { nil: undefined });

/** Every form msgpackr gives a non-negative number, and its edges, up to the u64 range. */
const validTimestamp = fc.oneof(
  fc.constantFrom(0, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1),
  fc.nat(),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
);
const anyTimestamp = fc.oneof(
  validTimestamp,
  fc.constantFrom(2 ** 53, 2 ** 63, 2 ** 64 - 2 ** 11, 2 ** 64, -0, -1, -0x80, -(2 ** 31), -(2 ** 40), 0.5),
  fc.double({ min: 0, max: 2 ** 64, noNaN: true }),
);

const origin = fc.oneof(
  fc.constantFrom("00000000000000000000000000000000", "ffffffffffffffffffffffffffffffff"),
  fc.stringMatching(/^[0-9a-f]{32}$/),
) as fc.Arbitrary<NodeId>;

function cellOf(timestamp: fc.Arbitrary<number>): fc.Arbitrary<LwwMapCell> {
  return fc.record({ field, timestamp: timestamp as fc.Arbitrary<HlcTimestamp>, origin, value });
}

const prefix = fc
  .tuple(fc.constantFrom(...(Object.keys(FAMILY_DEFINITIONS) as CrdtFamily[])), fc.string({ maxLength: 40 }))
  .map(([family, key]) => crdtObjectPrefix(family, key));

/** The cell's write as the replica made it with msgpackr. */
/** The cell as the map keeps it (LwwMap): its write alone, the field only in its `bytesKey`. */
function keptWrite(cell: LwwMapCell): LwwWrite {
  return { timestamp: cell.timestamp, origin: cell.origin, value: cell.value };
}

function reference(objectPrefix: Uint8Array, cell: LwwMapCell): [Uint8Array, Uint8Array] {
  return [cellStorageKey(objectPrefix, cell.field), packedRecord(cellCodec.toMsgpack(cell)).slice()];
}

describe("CellStoreWrites", () => {
  test("an LWW-Map cell's key and record are the bytes cellStorageKey and packedRecord(cellCodec.toMsgpack) give", () => {
    fc.assert(
      fc.property(
        prefix,
        fc.array(cellOf(anyTimestamp), { minLength: 1, maxLength: 40 }),
        (objectPrefix, cells) => {
          const writes = new CellStoreWrites(new MsgpackChunks());
          const written = cells.map((cell) =>
            writes.lwwMapCell(objectPrefix, bytesKey(cell.field), keptWrite(cell)),
          );
          // Compared after all are written: a later write must not touch an earlier one's bytes.
          for (const [i, cell] of cells.entries()) {
            const [key, record] = reference(objectPrefix, cell);
            assert.deepEqual(written[i]![0], key);
            assert.deepEqual(written[i]![1], record);
          }
        },
      ),
      propertyRuns(300),
    );
  });

  test("a record reads back as the cell through the store's decoder", () => {
    fc.assert(
      fc.property(prefix, cellOf(validTimestamp), (objectPrefix, cell) => {
        const [, record] = new CellStoreWrites(new MsgpackChunks()).lwwMapCell(
          objectPrefix,
          bytesKey(cell.field),
          keptWrite(cell),
        );
        const decoded = cellCodec.fromMsgpack(crdtPackr.unpack(recordPayload(record, "cell")), "cell");
        assert.deepEqual(decoded, {
          ...cell,
          field: new Uint8Array(cell.field),
          value: cell.value && new Uint8Array(cell.value),
        });
      }),
      propertyRuns(300),
    );
  });

  test("any family's cell key is the bytes cellStorageKey gives, inline or hashed", () => {
    fc.assert(
      fc.property(prefix, fc.array(field, { minLength: 1, maxLength: 20 }), (objectPrefix, cellKeys) => {
        const writes = new CellStoreWrites(new MsgpackChunks());
        const keys = cellKeys.map((cellKey) => writes.key(objectPrefix, cellKey));
        for (const [i, cellKey] of cellKeys.entries())
          assert.deepEqual(keys[i], cellStorageKey(objectPrefix, cellKey));
      }),
      propertyRuns(300),
    );
  });
});
