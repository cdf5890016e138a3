import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { describe, test } from "node:test";
import { hlcFromPhysicalMs } from "../../src/crdt/hybrid-clock.ts";
import { makeOp, type Op, type OpKind, type OpType } from "../../src/crdt/op.ts";
import { decodeOp, encodeOp, type WireFormat } from "../../src/crdt/op-codec.ts";
import { makeOpId } from "../../src/crdt/op-id.ts";
import type { NodeId } from "../../src/identity/node-id.ts";
import { DEFAULT_MAX_MESSAGE_SIZE_BYTES, encodeFrame } from "../../src/net/frame.ts";
import { FrameDecoder } from "../../src/net/frame-decoder.ts";
import { createSyncMessageCodec } from "../../src/sync/crdt-op-codec.ts";

/**
 * Golden bytes of the CRDT op encoding (OP_FORMAT_VERSION, src/crdt/op-codec.ts): one fixture per
 * op kind and format (test/crdt/fixtures/<kind>.<format>.bin), so every family's ops are pinned,
 * plus one whole PushOps frame carrying all of them through the node's sync message codec (the
 * bytes a peer actually sends). A change makes this test fail, so it can only be deliberate: bump
 * OP_FORMAT_VERSION (and PROTOCOL_VERSION for the frame), regenerate with
 * `NX_WRITE_GOLDEN=1 npx node --test test/crdt/golden-op-bytes.test.ts` and keep the old fixtures'
 * decoding tested.
 */
const ORIGIN = "00112233445566778899aabbccddeeff" as NodeId;
const OTHER = "ffeeddccbbaa99887766554433221100" as NodeId;
const STAMP = hlcFromPhysicalMs(1_767_225_600_000) + 5;
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

const KINDS: Readonly<Record<OpType, OpKind>> = {
  gcounter_inc: { type: "gcounter_inc", slot: 2n ** 64n - 1n },
  pncounter_inc: { type: "pncounter_inc", slot: 42n },
  pncounter_dec: { type: "pncounter_dec", slot: 7n },
  lww_set: { type: "lww_set", value: bytes("blue") },
  lww_map_set: { type: "lww_map_set", field: bytes("color"), value: bytes("red") },
  lww_map_remove: { type: "lww_map_remove", field: bytes("color") },
  orset_add: { type: "orset_add", element: bytes("green") },
  orset_remove: {
    type: "orset_remove",
    element: bytes("green"),
    tags: [makeOpId(ORIGIN, 3), makeOpId(OTHER, 9)],
  },
  rga_insert: { type: "rga_insert", parent: makeOpId(OTHER, 4), value: bytes("x") },
  rga_delete: { type: "rga_delete", target: makeOpId(ORIGIN, 2) },
  // Kind 11 came later: last, so the other fixtures' seqs (300 + index) stay as they were.
  lww_map_batch: {
    type: "lww_map_batch",
    entries: [
      { field: bytes("color"), value: bytes("red"), timestamp: (STAMP - 2) as Op["timestamp"] },
      { field: bytes("size"), value: undefined, timestamp: (STAMP - 1) as Op["timestamp"] },
      { field: bytes("shape"), value: bytes(""), timestamp: STAMP as Op["timestamp"] },
    ],
  },
};

const GOLDEN: ReadonlyArray<Op> = Object.values(KINDS).map((kind, index) =>
  makeOp(makeOpId(ORIGIN, 300 + index), STAMP as Op["timestamp"], `key-${kind.type}`, kind),
);
/** The frames pinned: the ten kinds of op format 1's first release, and kind 11 (added without a bump: older decoders refuse only that op). */
const FRAMES: ReadonlyArray<readonly [name: string, ops: readonly Op[]]> = [
  ["PushOps-crdt", GOLDEN.filter((op) => op.kind.type !== "lww_map_batch")],
  ["PushOps-crdt-lww_map_batch", GOLDEN.filter((op) => op.kind.type === "lww_map_batch")],
];
const FORMATS: readonly WireFormat[] = ["msgpack", "json"];
const fixture = (name: string, format: WireFormat) =>
  new URL(`./fixtures/${name}.${format}.bin`, import.meta.url);

/** Writes the fixture when regenerating, then reads it: the comparison below always runs on disk bytes. */
function golden(name: string, format: WireFormat, encoded: Uint8Array): Uint8Array {
  if (process.env.NX_WRITE_GOLDEN === "1") writeFileSync(fixture(name, format), encoded);
  return new Uint8Array(readFileSync(fixture(name, format)));
}

const hex = (value: Uint8Array): string => Buffer.from(value).toString("hex");

describe("golden bytes of the CRDT op encoding", () => {
  test("the fixtures cover every op kind of every family", () => {
    assert.deepEqual(
      GOLDEN.map((op) => op.kind.type),
      Object.keys(KINDS),
    );
  });

  for (const format of FORMATS) {
    for (const op of GOLDEN) {
      test(`${op.kind.type} in ${format}`, () => {
        const onDisk = golden(op.kind.type, format, encodeOp(op, format));
        assert.deepEqual(decodeOp(onDisk, format), op);
        assert.equal(
          hex(encodeOp(op, format)),
          hex(onDisk),
          "the op encoder's output changed: an op format change needs an OP_FORMAT_VERSION bump",
        );
      });
    }

    for (const [name, ops] of FRAMES) {
      test(`the PushOps frame ${name} in ${format}`, () => {
        const codec = createSyncMessageCodec();
        const message = { type: "PushOps" as const, batchId: 5, ops };
        const encoded = encodeFrame(
          { format, body: codec.encode(message, format) },
          DEFAULT_MAX_MESSAGE_SIZE_BYTES,
        );
        const onDisk = golden(name, format, encoded);
        const frames = new FrameDecoder(DEFAULT_MAX_MESSAGE_SIZE_BYTES).push(onDisk);
        assert.equal(frames.length, 1);
        assert.deepEqual(codec.decode(frames[0].body, frames[0].format), message);
        assert.equal(
          hex(encoded),
          hex(onDisk),
          "the PushOps encoding of CRDT ops changed: bump OP_FORMAT_VERSION or PROTOCOL_VERSION",
        );
      });
    }
  }
});
