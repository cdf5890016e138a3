import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { matchRoutePath, openApiPath } from "./route-path.ts";

describe("matchRoutePath", () => {
  test("literal segments match exactly; a parameter takes one whole decoded segment", () => {
    assert.deepEqual(matchRoutePath("/peers", "/peers"), {});
    assert.equal(matchRoutePath("/peers", "/peers/"), undefined);
    assert.equal(matchRoutePath("/peers", "/peer"), undefined);
    assert.deepEqual(matchRoutePath("/processes/:pid/kill", "/processes/%3C0.4%3E/kill"), { pid: "<0.4>" });
    assert.deepEqual(matchRoutePath("/keys/:key", "/keys/a%2Fb"), { key: "a/b" });
    assert.equal(matchRoutePath("/keys/:key", "/keys/a/b"), undefined);
    assert.equal(matchRoutePath("/keys/:key", "/keys/"), undefined);
    assert.equal(matchRoutePath("/keys/:key", "/keys/%E0%A4%A"), null);
  });

  test("openApiPath writes parameters in braces", () => {
    assert.equal(openApiPath("/processes/:pid/kill"), "/processes/{pid}/kill");
  });
});
