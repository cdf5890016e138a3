import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { firstRefusedExtensionType } from "../net/msgpack-extension-scan.ts";
import { CrdtCodecError } from "./field-codec.ts";
import { CRDT_FAMILIES } from "./op.ts";
import { decodeState, encodeState } from "./state-codec.ts";
import { propertyRuns } from "./testing/property-runs.ts";
import { historyActions, playHistory } from "./testing/replica-history.ts";

test("every family's state round-trips through MessagePack and JSON with the same meaning", () => {
  fc.assert(
    fc.property(fc.constantFrom(...CRDT_FAMILIES), historyActions(), (family, actions) => {
      const cells = playHistory(family, actions).states[0];
      const state = { family, cells } as never;
      const packed = encodeState(state, "msgpack");
      // A peer walks a PushState's state for extensions and refuses it if it holds one.
      assert.equal(firstRefusedExtensionType(packed), -1);
      const viaMsgpack = decodeState(packed, "msgpack");
      const viaJson = decodeState(encodeState(state, "json"), "json");
      assert.deepEqual(viaMsgpack, { family, cells });
      assert.deepEqual(viaJson, viaMsgpack);
    }),
    propertyRuns(150),
  );
});

test("malformed states are rejected with a CrdtCodecError", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 48 }), (bytes) => {
      for (const format of ["msgpack", "json"] as const) {
        assert.throws(
          () => decodeState(bytes, format),
          (error: unknown) => error instanceof CrdtCodecError,
        );
      }
    }),
    propertyRuns(300),
  );
  assert.throws(
    () => decodeState(Buffer.from('{"v":1,"family":"gcounter","cells":[{"origin":"x","slot":"1"}]}'), "json"),
    /state\.cells\[0\]\.origin: expected a NodeId/,
  );
  assert.throws(
    () => decodeState(Buffer.from('{"v":1,"family":"tree","cells":[]}'), "json"),
    /state\.family/,
  );
});
