import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { CrdtCodecError } from "./field-codec.ts";
import { MAX_MAP_BATCH_ENTRIES } from "./lww-map-entries-codec.ts";
import { crdtPackr } from "./msgpack.ts";
import { opWriteCount } from "./op.ts";
import {
  decodeOp,
  encodeOp,
  MAX_KEY_BYTES,
  opKindCodec,
  opToJsonValue,
  opToMsgpackValue,
} from "./op-codec.ts";
import { opArb } from "./testing/op-arbitraries.ts";
import { propertyRuns } from "./testing/property-runs.ts";
import { NODE_A, opFrom, text } from "./testing/test-ops.ts";

const isCodecError = (error: unknown): boolean =>
  error instanceof CrdtCodecError && error.code === "CRDT_MALFORMED" && !error.message.includes("\n");

describe("op codec", () => {
  test("every op kind round-trips through MessagePack and JSON with the same meaning", () => {
    fc.assert(
      fc.property(opArb, (op) => {
        const viaMsgpack = decodeOp(encodeOp(op, "msgpack"), "msgpack");
        const viaJson = decodeOp(encodeOp(op, "json"), "json");
        assert.deepEqual(viaMsgpack, op);
        assert.deepEqual(viaJson, op);
        assert.deepEqual(viaMsgpack, viaJson);
      }),
      propertyRuns(300),
    );
  });

  test("JSON carries bytes as base64 and u64 as decimal strings", () => {
    const json = opToJsonValue(
      opFrom(NODE_A, 3, 7, { type: "gcounter_inc", slot: 2n ** 64n - 1n }),
    ) as Record<string, unknown>;
    assert.deepEqual(json.kind, { type: "gcounter_inc", slot: "18446744073709551615" });
    const set = opToJsonValue(opFrom(NODE_A, 4, 8, { type: "lww_set", value: text("hi") })) as Record<
      string,
      unknown
    >;
    assert.deepEqual(set.kind, { type: "lww_set", value: "aGk=" });
  });

  test("random bytes are rejected with a CrdtCodecError, never a crash", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        for (const format of ["msgpack", "json"] as const) {
          try {
            decodeOp(bytes, format);
          } catch (error) {
            assert.ok(isCodecError(error), String(error));
          }
        }
      }),
      propertyRuns(500),
    );
  });

  test("valid encodings with one field replaced by junk are rejected cleanly", () => {
    const junk = fc.oneof(
      fc.constant(null),
      fc.boolean(),
      fc.double(),
      fc.integer(),
      fc.string(),
      fc.uint8Array({ maxLength: 20 }),
      fc.array(fc.nat(), { maxLength: 3 }),
      fc.object({ maxDepth: 1 }),
    );
    fc.assert(
      fc.property(opArb, fc.nat(), junk, (op, at, replacement) => {
        const tuple = opToMsgpackValue(op);
        const i = at % tuple.length;
        tuple[i] = replacement;
        try {
          const decoded = decodeOp(crdtPackr.pack(tuple));
          // the junk happened to be valid for that position: it must still be a well-formed op
          assert.equal(decoded.origin, decoded.id.origin);
        } catch (error) {
          assert.ok(isCodecError(error), String(error));
        }
        const json = opToJsonValue(op) as Record<string, unknown>;
        const keys = Object.keys(json);
        json[keys[at % keys.length]] = replacement as never;
        try {
          decodeOp(
            Buffer.from(JSON.stringify(json, (_k, v) => (v instanceof Uint8Array ? [...v] : v))),
            "json",
          );
        } catch (error) {
          assert.ok(isCodecError(error), String(error));
        }
      }),
      propertyRuns(500),
    );
  });

  test("specific malformations name the field", () => {
    const good = opToMsgpackValue(opFrom(NODE_A, 1, 1, { type: "lww_set", value: text("v") }));
    const cases: [unknown[], RegExp][] = [
      [[2, ...good.slice(1)], /op\.version: expected op format 1/],
      [[good[0], new Uint8Array(3), ...good.slice(2)], /op\.origin/],
      [[...good.slice(0, 2), 0, ...good.slice(3)], /op\.seq/],
      [[...good.slice(0, 3), -1, ...good.slice(4)], /op\.timestamp/],
      [[...good.slice(0, 4), "k".repeat(MAX_KEY_BYTES + 1), ...good.slice(5)], /op\.key/],
      [[...good.slice(0, 5), 99, text("v")], /op\.kind\.type/],
      [[...good.slice(0, 6), "not bytes"], /op\.kind\.value/],
      [[...good, text("extra")], /op\.kind/],
    ];
    for (const [tuple, message] of cases) {
      assert.throws(
        () => decodeOp(crdtPackr.pack(tuple)),
        (error: unknown) => isCodecError(error) && message.test(String((error as Error).message)),
      );
    }
    // Keys are bounded in UTF-8 bytes, not UTF-16 units: a short key is not counted, a long one is.
    const withKey = (key: string): Uint8Array => crdtPackr.pack([...good.slice(0, 4), key, ...good.slice(5)]);
    const threeByteUnits = "\u20ac".repeat(Math.floor(MAX_KEY_BYTES / 3));
    assert.equal(decodeOp(withKey(threeByteUnits)).key, threeByteUnits);
    assert.throws(() => decodeOp(withKey(`${threeByteUnits}\u00e9`)), /op\.key/);
    assert.throws(() => decodeOp(withKey("\u00e9".repeat(MAX_KEY_BYTES / 2 + 1))), /op\.key/);
    assert.throws(() => decodeOp(Buffer.from('{"v":1}'), "json"), /op\.id/);
    assert.throws(() => decodeOp(Buffer.from("{"), "json"), /not valid JSON/);
  });

  test("an lww_map_batch op with no entry, a malformed entry or a duplicate field is refused, naming the entry", () => {
    // The op is stamped 1: an entry may not be stamped later.
    const entry = (field: string, timestamp: unknown = 1): unknown[] => [text(field), null, timestamp];
    const batch = (entries: unknown): Uint8Array => {
      const good = opToMsgpackValue(opFrom(NODE_A, 1, 1, { type: "lww_map_remove", field: text("f") }));
      return crdtPackr.pack([...good.slice(0, 5), 11, entries]);
    };
    assert.equal(decodeOp(batch([entry("a"), entry("b")])).kind.type, "lww_map_batch");
    const cases: [unknown, RegExp][] = [
      [[], /^op\.kind\.entries: expected at least one entry, got none$/],
      ["x", /^op\.kind\.entries: expected a list/],
      [
        [entry("a"), entry("b"), entry("a")],
        /^op\.kind\.entries\[2\]\.field: the same field as op\.kind\.entries\[0\]\.field$/,
      ],
      [[entry("a"), entry("b", -1)], /^op\.kind\.entries\[1\]\.timestamp: expected/],
      [[entry("a"), [text("b"), null]], /^op\.kind\.entries\[1\]: expected map entry/],
      [[entry("a"), [text("b"), "v", 1]], /^op\.kind\.entries\[1\]\.value: expected/],
      [[entry("a"), 7], /^op\.kind\.entries\[1\]: expected map entry/],
      [
        [entry("a"), entry("b", 2)],
        /^op\.kind\.entries\[1\]\.timestamp: expected at most the op's timestamp 1, got 2$/,
      ],
    ];
    for (const [entries, message] of cases) {
      assert.throws(
        () => decodeOp(batch(entries)),
        (error: unknown) => isCodecError(error) && message.test(String((error as Error).message)),
        String(message),
      );
    }
    // The entry count is bounded before any entry is read (the message size binds far earlier).
    const tooMany = new Array(MAX_MAP_BATCH_ENTRIES + 1);
    assert.throws(
      () => opKindCodec.readFields([11, tooMany], 0, "op.kind"),
      (error: unknown) =>
        isCodecError(error) &&
        /^op\.kind\.entries: expected a list of at most 4194304/.test(String((error as Error).message)),
    );
  });

  test("property: a batch op is refused exactly when two of its entries have the same field", () => {
    const fieldArb = fc.uint8Array({ maxLength: 3, max: 3 }); // few distinct fields: duplicates are common
    fc.assert(
      fc.property(fc.array(fieldArb, { minLength: 1, maxLength: 3000 }), (fields) => {
        const good = opToMsgpackValue(opFrom(NODE_A, 1, 1, { type: "lww_map_remove", field: text("f") }));
        const encoded = crdtPackr.pack([...good.slice(0, 5), 11, fields.map((field) => [field, null, 1])]);
        const keys = fields.map((field) => Buffer.from(field).toString("hex"));
        const firstRepeat = keys.findIndex((key, i) => keys.indexOf(key) !== i);
        if (firstRepeat === -1) assert.equal(opWriteCount(decodeOp(encoded)), fields.length);
        else
          assert.throws(
            () => decodeOp(encoded),
            new RegExp(
              `^CrdtCodecError: op\\.kind\\.entries\\[${firstRepeat}\\]\\.field: the same field as op\\.kind\\.entries\\[${keys.indexOf(keys[firstRepeat]!)}\\]\\.field$`,
            ),
          );
      }),
      propertyRuns(200),
    );
  });
});
