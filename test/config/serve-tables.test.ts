import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError } from "../../src/config/config-error.ts";
import { resolveConfigLayers } from "../../src/config/resolve.ts";
import { SERVE_LIMITS_DEFAULT } from "../../src/serve/serve-limits.ts";

const file = (table: Record<string, unknown>) => ({ file: { path: "numax.toml", table } });

function issuesOf(table: Record<string, unknown>): string[] {
  try {
    resolveConfigLayers(file(table));
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.issues.map((issue) => `${issue.subject}: ${issue.message}`);
  }
  return [];
}

const routes = { "GET /hello/:name": "http_hello#hello" };

test("[[serve]] tables become listeners with their routes, TLS files and limits", () => {
  const { serveSettings } = resolveConfigLayers(
    file({
      serve: [
        { listen: "127.0.0.1:8080", routes },
        {
          listen: "0.0.0.0:8443",
          tls_cert: "node.crt",
          tls_key: "node.key",
          max_body: "4KiB",
          request_timeout: "2s",
          max_concurrent_requests: 2n,
          cpu_ms_per_request: 250n,
          routes: { "POST /echo": "http_hello#echo", "GET /files/*": "site#file" },
        },
      ],
    }),
  );
  assert.equal(serveSettings.length, 2);
  assert.deepEqual(serveSettings[0], {
    fileKeys: new Set(["listen", "routes"]),
    where: "[[serve]] #1 (numax.toml)",
    listen: { host: "127.0.0.1", port: 8080 },
    tls: undefined,
    limits: SERVE_LIMITS_DEFAULT,
    routes: [{ method: "GET", path: "/hello/:name", moduleId: "http_hello", handler: "hello" }],
  });
  assert.deepEqual(serveSettings[1]!.tls, { certPath: "node.crt", keyPath: "node.key" });
  assert.equal(serveSettings[1]!.cpuMsPerRequest, 250);
  assert.deepEqual(serveSettings[1]!.limits, {
    ...SERVE_LIMITS_DEFAULT,
    maxBodyBytes: 4096,
    requestTimeoutMs: 2000,
    maxConcurrentRequests: 2,
  });
  assert.deepEqual(
    serveSettings[1]!.routes!.map(
      (route) => `${route.method} ${route.path} ${route.moduleId}#${route.handler}`,
    ),
    ["POST /echo http_hello#echo", "GET /files/* site#file"],
  );
});

test("bad [[serve]] tables are named with what is wrong, one line each", () => {
  assert.deepEqual(issuesOf({ serve: [{ routes }] }), [
    '[[serve]] #1: needs listen = "127.0.0.1:8080" (the address to serve on)',
  ]);
  assert.deepEqual(issuesOf({ serve: [{ listen: "127.0.0.1:1" }] }), [
    '[[serve]] #1: has no routes: add [serve.routes] with "GET /path" = "module#handler" after it',
  ]);
  assert.match(
    issuesOf({ serve: [{ listen: "127.0.0.1:1", routes: { "GET hello": "m#h" } }] })[0]!,
    /^\[\[serve\]\] #1\.routes: .*route path "hello" must start with "\/"/,
  );
  assert.match(
    issuesOf({ serve: [{ listen: "127.0.0.1:1", routes: { "get /a": "m#h" } }] })[0]!,
    /has method "get" \(use one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, WS, upper case\)/,
  );
  assert.match(
    issuesOf({ serve: [{ listen: "127.0.0.1:1", routes: { "GET /a": "m.h" } }] })[0]!,
    /route target "m\.h" must be "module#handler"/,
  );
  assert.deepEqual(issuesOf({ serve: [{ listen: "127.0.0.1:1", routes, max_bdy: "1KiB" }] }), [
    "[[serve]] #1.max_bdy: unknown key; did you mean max_body?",
  ]);
  assert.deepEqual(issuesOf({ serve: [{ listen: "127.0.0.1:1", routes, tls_cert: "a.crt" }] }), [
    "[[serve]] #1: set both tls_cert and tls_key for HTTPS, or neither for plain HTTP",
  ]);
  assert.match(
    issuesOf({ serve: { listen: "127.0.0.1:1" } })[0]!,
    /^\[serve\]: write one \[\[serve\]\] table per listener/,
  );
});
