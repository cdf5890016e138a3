import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { crdtPackr } from "../../crdt/msgpack.ts";
import { propertyRuns } from "../../crdt/testing/property-runs.ts";
import { packedRecord, RECORD_FORMAT_VERSION, recordPayload, withVersion } from "./replica-layout.ts";

const recordValue = fc.oneof(
  fc.array(fc.oneof(fc.nat(), fc.uint8Array({ maxLength: 40 }), fc.string({ maxLength: 20 })), {
    maxLength: 8,
  }),
  fc.uint8Array({ maxLength: 3000 }),
);

describe("packedRecord", () => {
  test("writes the bytes withVersion(crdtPackr.pack(value)) does", () => {
    fc.assert(
      fc.property(recordValue, (value) => {
        const record = packedRecord(value);
        assert.deepEqual(record, withVersion(crdtPackr.pack(value)));
        assert.equal(record[0], RECORD_FORMAT_VERSION);
        assert.equal(Object.getPrototypeOf(record), Uint8Array.prototype);
      }),
      propertyRuns(300),
    );
  });

  test("a record keeps its bytes while later records (and other packs) fill msgpackr's buffer after it", () => {
    fc.assert(
      fc.property(fc.array(recordValue, { minLength: 1, maxLength: 200 }), (values) => {
        const records = values.map((value) => [packedRecord(value), crdtPackr.pack(value).slice()] as const);
        for (const [i, [record, packed]] of records.entries())
          assert.deepEqual(recordPayload(record, `record ${i}`), new Uint8Array(packed));
      }),
      propertyRuns(100),
    );
  });
});
