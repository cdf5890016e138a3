import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  exceedsGrants,
  GRANT_CRDT,
  GRANT_DB,
  GRANT_LINK,
  GRANT_SERVE,
  grantNames,
  PROFILES,
  parseProfile,
} from "./capability-profile.ts";
import { WasmProcessError } from "./wasm-process-error.ts";

describe("capability profiles", () => {
  test("parse a profile name, then +/- overrides left to right", () => {
    assert.equal(parseProfile(""), PROFILES.sandboxed);
    assert.equal(parseProfile("storage"), GRANT_DB);
    assert.equal(parseProfile("trusted-crdt"), GRANT_DB | GRANT_LINK | GRANT_SERVE);
    assert.equal(parseProfile("sandboxed+db+crdt-db"), GRANT_CRDT);
    assert.deepEqual(grantNames(parseProfile("trusted")), ["db", "crdt", "link", "network.serve"]);
    assert.equal(parseProfile("trusted-network.serve"), GRANT_DB | GRANT_CRDT | GRANT_LINK);
    assert.equal(parseProfile("storage+network.serve"), GRANT_DB | GRANT_SERVE);
  });

  test("refuse unknown names, unknown capabilities and overlong text with WASM_PROCESS_INVALID_PROFILE", () => {
    for (const bad of [
      "root",
      "storage+net",
      "constructor",
      "toString+db",
      `sandboxed${"+db".repeat(100)}`,
    ]) {
      assert.throws(
        () => parseProfile(bad),
        (error: unknown) =>
          error instanceof WasmProcessError && error.code === "WASM_PROCESS_INVALID_PROFILE",
        bad,
      );
    }
  });

  test("a spawn escalates when it asks for a capability its parent does not hold", () => {
    assert.equal(exceedsGrants(GRANT_DB, GRANT_DB | GRANT_CRDT), false);
    assert.equal(exceedsGrants(GRANT_DB | GRANT_LINK, GRANT_DB), true);
    assert.equal(exceedsGrants(0, 0), false);
  });
});
