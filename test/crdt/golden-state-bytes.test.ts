import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { describe, test } from "node:test";
import { familyDefinition } from "../../src/crdt/crdt-families.ts";
import { hlcFromPhysicalMs } from "../../src/crdt/hybrid-clock.ts";
import { CRDT_FAMILIES, type CrdtFamily, makeOp, type Op, type OpKind } from "../../src/crdt/op.ts";
import type { WireFormat } from "../../src/crdt/op-codec.ts";
import { makeOpId } from "../../src/crdt/op-id.ts";
import { OrSet } from "../../src/crdt/or-set.ts";
import { type CrdtState, decodeState, encodeState } from "../../src/crdt/state-codec.ts";
import type { NodeId } from "../../src/identity/node-id.ts";

/**
 * Golden bytes of the CRDT state encoding (STATE_FORMAT_VERSION, src/crdt/state-codec.ts): the
 * whole state of one CRDT of every family, built from a fixed history that leaves every kind of
 * cell behind (both origins of a counter, a removed map field, an OR-Set element with its removed
 * tag, an RGA element deleted), in both formats
 * (test/fixtures/golden/state/<family>.<format>.bin). These are the bytes a node sends in PushState
 * and a snapshot holds. A change makes this test fail, so it can only be deliberate: bump
 * STATE_FORMAT_VERSION, keep decoding the old fixtures, and write new ones with
 * `NX_WRITE_GOLDEN=1 npx node --test test/crdt/golden-state-bytes.test.ts`.
 */
const ORIGIN = "00112233445566778899aabbccddeeff" as NodeId;
const OTHER = "ffeeddccbbaa99887766554433221100" as NodeId;
const STAMP = hlcFromPhysicalMs(1_767_225_600_000);
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** The history of each family: [origin, seq, kind], stamped in order. */
const HISTORY: Readonly<Record<CrdtFamily, ReadonlyArray<readonly [NodeId, number, OpKind]>>> = {
  gcounter: [
    [ORIGIN, 1, { type: "gcounter_inc", slot: 5n }],
    [OTHER, 1, { type: "gcounter_inc", slot: 2n ** 64n - 1n }],
  ],
  pncounter: [
    [ORIGIN, 1, { type: "pncounter_inc", slot: 42n }],
    [OTHER, 1, { type: "pncounter_dec", slot: 7n }],
  ],
  lww_register: [
    [ORIGIN, 1, { type: "lww_set", value: bytes("blue") }],
    [OTHER, 1, { type: "lww_set", value: bytes("red") }],
  ],
  lww_map: [
    [ORIGIN, 1, { type: "lww_map_set", field: bytes("color"), value: bytes("red") }],
    [ORIGIN, 2, { type: "lww_map_set", field: bytes("size"), value: bytes("L") }],
    [OTHER, 1, { type: "lww_map_remove", field: bytes("size") }],
  ],
  orset: [
    [ORIGIN, 1, { type: "orset_add", element: bytes("green") }],
    [OTHER, 1, { type: "orset_add", element: bytes("blue") }],
    [OTHER, 2, { type: "orset_remove", element: bytes("green"), tags: [makeOpId(ORIGIN, 1)] }],
  ],
  rga: [
    [ORIGIN, 1, { type: "rga_insert", parent: undefined, value: bytes("a") }],
    [ORIGIN, 2, { type: "rga_insert", parent: makeOpId(ORIGIN, 1), value: bytes("b") }],
    [OTHER, 1, { type: "rga_delete", target: makeOpId(ORIGIN, 1) }],
  ],
};

function goldenState(family: CrdtFamily): CrdtState {
  const crdt = familyDefinition(family).create();
  for (const [index, [origin, seq, kind]] of HISTORY[family].entries()) {
    crdt.applyOp(makeOp(makeOpId(origin, seq), (STAMP + index) as Op["timestamp"], "golden", kind) as never);
  }
  return { family, cells: crdt.cells() } as CrdtState;
}

/**
 * An RGA after tombstone collection (added with ghosts, same STATE_FORMAT_VERSION: the cell kinds
 * `anchored` and `ghost` are new, the older ones unchanged): a queue's front deleted and
 * collected into a ghost, the live element typed after it anchored there.
 */
function collectedRgaState(): CrdtState {
  const rga = familyDefinition("rga").create();
  const typed = ["a", "b", "c", "d"].map((value, i) =>
    makeOp(makeOpId(ORIGIN, i + 1), (STAMP + i) as Op["timestamp"], "golden", {
      type: "rga_insert",
      parent: i === 0 ? undefined : makeOpId(ORIGIN, i),
      value: bytes(value),
    }),
  );
  for (const op of typed) rga.applyOp(op);
  for (const [i, op] of typed.slice(0, 3).entries())
    rga.applyOp(
      makeOp(makeOpId(OTHER, i + 1), (STAMP + 10 + i) as Op["timestamp"], "golden", {
        type: "rga_delete",
        target: op.id,
      }),
    );
  rga.collectTombstones!(0, () => true);
  return { family: "rga", cells: rga.cells() };
}

const FORMATS: readonly WireFormat[] = ["msgpack", "json"];
const fixture = (family: CrdtFamily | "rga-collected", format: WireFormat) =>
  new URL(`../fixtures/golden/state/${family}.${format}.bin`, import.meta.url);

/** Writes the fixture when regenerating, then reads it: the comparison below always runs on disk bytes. */
function golden(family: CrdtFamily | "rga-collected", format: WireFormat, encoded: Uint8Array): Uint8Array {
  if (process.env.NX_WRITE_GOLDEN === "1") writeFileSync(fixture(family, format), encoded);
  return new Uint8Array(readFileSync(fixture(family, format)));
}

const hex = (value: Uint8Array): string => Buffer.from(value).toString("hex");

describe("golden bytes of the CRDT state encoding", () => {
  for (const family of CRDT_FAMILIES) {
    for (const format of FORMATS) {
      test(`${family} in ${format}`, () => {
        const state = goldenState(family);
        assert.ok(state.cells.length > 0);
        const onDisk = golden(family, format, encodeState(state, format));
        assert.deepEqual(decodeState(onDisk, format), state);
        assert.equal(
          hex(encodeState(state, format)),
          hex(onDisk),
          "the state encoder's output changed: a state format change needs a STATE_FORMAT_VERSION bump",
        );
      });
    }
  }

  for (const format of FORMATS) {
    test(`rga after collection (a ghost, an anchored element) in ${format}`, () => {
      const state = collectedRgaState();
      assert.deepEqual(
        state.cells.map((cell) => (cell as { type: string }).type),
        ["ghost", "anchored"],
      );
      const onDisk = golden("rga-collected", format, encodeState(state, format));
      assert.deepEqual(decodeState(onDisk, format), state);
      assert.equal(hex(encodeState(state, format)), hex(onDisk));
    });
  }

  test("a decoded golden state rebuilds the CRDT's value", () => {
    const orset = new OrSet();
    for (const cell of decodeState(readFileSync(fixture("orset", "msgpack")), "msgpack").cells) {
      orset.mergeCell(cell as never);
    }
    assert.deepEqual(
      orset.elements().map((e) => new TextDecoder().decode(e)),
      ["blue"],
    );
  });
});
