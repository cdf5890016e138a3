import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { RuntimeIntrospection } from "../node/node-introspection.ts";
import { ManagementApiError } from "./management-error.ts";
import { MANAGEMENT_ROUTES, type ManagementContext } from "./management-routes.ts";

const route = (method: string, path: string) =>
  MANAGEMENT_ROUTES.find((candidate) => candidate.method === method && candidate.path === path)!;

/** A context whose replica holds `key` in `families`. */
function contextWith(families: readonly string[]): ManagementContext {
  const introspection = {
    keyFamilies: () => [...families],
    key: (key: string, family: string) =>
      families.includes(family)
        ? { key, family, value: "1", lastWriter: null, lastChangeAt: null }
        : undefined,
  } as unknown as RuntimeIntrospection;
  return {
    introspection,
    readiness: () => ({}),
    peers: undefined,
    kernel: () => undefined,
    modules: undefined,
    snapshots: undefined,
  };
}

function get(context: ManagementContext, query: string) {
  return route("GET", "/keys/:key").handle(context, {
    params: { key: "k" },
    query: new URLSearchParams(query),
    body: new Uint8Array(),
    contentType: undefined,
  });
}

describe("GET /keys/:key", () => {
  test("a key in several families needs ?family=", async () => {
    const context = contextWith(["gcounter", "orset"]);
    await assert.rejects(
      async () => get(context, ""),
      (error: unknown) =>
        error instanceof ManagementApiError &&
        error.code === "BAD_REQUEST" &&
        error.message === 'key "k" exists in gcounter, orset: add ?family=<one of them>',
    );
    assert.deepEqual((await get(context, "family=orset")).body, {
      key: "k",
      family: "orset",
      value: "1",
      lastWriter: null,
      lastChangeAt: null,
    });
  });

  test("a key in one family needs none", async () => {
    assert.equal((await get(contextWith(["rga"]), "")).status, 200);
  });
});

describe("the route table", () => {
  test("one route per method and path", () => {
    const seen = new Set(MANAGEMENT_ROUTES.map(({ method, path }) => `${method} ${path}`));
    assert.equal(seen.size, MANAGEMENT_ROUTES.length);
  });
});
