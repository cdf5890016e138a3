import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { GOLDEN_CREATED_MS, GOLDEN_NODE_ID } from "../../test/fixtures/snapshot/write-golden-snapshot.ts";
import { DiagnoseError } from "./diagnose-error.ts";
import { decodeOplogFile, encodeOplogFile, OPLOG_FILE_FORMAT_VERSION } from "./oplog-file.ts";

const GOLDEN = new URL("../../test/fixtures/oplog/v1.nxoplog", import.meta.url).pathname;

test("the committed op-log export of format 1 decodes, and this version encodes it to the same bytes", () => {
  const bytes = readFileSync(GOLDEN);
  const oplog = decodeOplogFile(bytes, GOLDEN);
  assert.equal(OPLOG_FILE_FORMAT_VERSION, 1);
  assert.deepEqual(oplog.header, {
    nodeId: GOLDEN_NODE_ID,
    exportedAt: new Date(GOLDEN_CREATED_MS).toISOString(),
    numaxVersion: "0.1.0",
    floors: {},
  });
  assert.deepEqual(
    oplog.ops.map((op) => [op.origin, op.id.seq, op.key, op.kind.type]),
    [
      [GOLDEN_NODE_ID, 1, "hits", "gcounter_inc"],
      [GOLDEN_NODE_ID, 2, "greeting", "lww_set"],
    ],
  );
  assert.deepEqual(Buffer.from(encodeOplogFile(oplog)), bytes);
});

test("a file that is not an op-log export, of another version, cut or damaged is one clear error", () => {
  const golden = readFileSync(GOLDEN);
  const variants: [string, Buffer][] = [
    ["not one", Buffer.from("PK\u0003\u0004 not an op-log, but long enough to have a checksum")],
    ["version", Buffer.concat([golden.subarray(0, 8), Buffer.of(0, 2), golden.subarray(10)])],
    ["cut", golden.subarray(0, golden.length - 1)],
    ["damaged", Buffer.concat([golden.subarray(0, 20), Buffer.of(golden[20]! ^ 1), golden.subarray(21)])],
  ];
  for (const [name, bytes] of variants) {
    assert.throws(
      () => decodeOplogFile(bytes, name),
      (error) =>
        error instanceof DiagnoseError &&
        error.code === "DIAGNOSE_OPLOG_INVALID" &&
        !error.message.includes("\n"),
      name,
    );
  }
});
