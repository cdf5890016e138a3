import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BearerTokens } from "./bearer-tokens.ts";

describe("BearerTokens", () => {
  const tokens = new BearerTokens({ admin: "admin-token", read: "read-token" });

  test("the admin token grants admin, the read-only token read, anything else nothing", () => {
    assert.equal(tokens.access("Bearer admin-token"), "admin");
    assert.equal(tokens.access("bearer  read-token"), "read");
    for (const header of [
      undefined,
      "",
      "Bearer",
      "Bearer ",
      "Basic admin-token",
      "Bearer admin-token2",
      "Bearer admin-toke",
      "Bearer admin-token extra",
      "admin-token",
    ]) {
      assert.equal(tokens.access(header), undefined, String(header));
    }
  });
});
