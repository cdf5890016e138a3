import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { claimInThisProcess, otherReaderPids, releaseInThisProcess } from "./store-ownership.ts";

describe("store ownership", () => {
  it("reads other processes' ids out of LMDB's reader table", () => {
    // As lmdb-js's readerList() prints it: a header, then "pid thread txnid" per slot.
    const table = [
      "\t\tpid\t\t thread\t\t txnid",
      ",     11596 7f86d0818340 -",
      ",     11607 7f0671b1c340 0",
      ",     11607 7f0671b1d340 42",
      ",       999 7f0671b1e340 7",
      "",
    ].join("\n");
    assert.deepEqual(otherReaderPids(table, 11596), [11607, 999]);
    assert.deepEqual(otherReaderPids(table, 999), [11596, 11607]);
    assert.deepEqual(otherReaderPids("(no active readers)\n", 1), []);
  });

  it("lets one backend of this process claim a store path at a time", () => {
    assert.equal(claimInThisProcess("/data/a/store"), true);
    assert.equal(claimInThisProcess("/data/a/store"), false);
    assert.equal(claimInThisProcess("/data/b/store"), true);
    releaseInThisProcess("/data/a/store");
    assert.equal(claimInThisProcess("/data/a/store"), true);
    releaseInThisProcess("/data/a/store");
    releaseInThisProcess("/data/b/store");
  });
});
