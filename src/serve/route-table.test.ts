import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { type Route, type RouteMatch, RouteTable } from "./route-table.ts";

const PROPERTY_RUNS = { seed: 20_261_213, numRuns: 500 };

/** The segments routes and paths draw from: few, so that routes overlap and collide often. */
const STATIC = ["a", "b", "c"];
const METHODS = ["GET", "POST", "DELETE", "WS"] as const;
/** What requests use: a WebSocket route is reached by a GET with an upgrade. */
const REQUEST_METHODS = ["GET", "POST", "DELETE"] as const;

type Segment = { kind: "static"; text: string } | { kind: "param"; name: string } | { kind: "wildcard" };

const segmentArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...STATIC).map((text): Segment => ({ kind: "static", text })) },
  { weight: 2, arbitrary: fc.constant<Segment>({ kind: "param", name: "" }) },
);
const routeArb = fc.record({
  method: fc.constantFrom(...METHODS),
  segments: fc.array(segmentArb, { maxLength: 3 }),
  wildcard: fc.boolean(),
});
/** Request paths: known segments, unknown ones, empty ones. */
const pathArb = fc
  .array(fc.constantFrom(...STATIC, "zz", ""), { minLength: 1, maxLength: 5 })
  .map((segments) => `/${segments.join("/")}`);

function toRoute(
  spec: { method: (typeof METHODS)[number]; segments: Segment[]; wildcard: boolean },
  index: number,
): {
  route: Route;
  segments: Segment[];
} {
  let param = 0;
  const segments: Segment[] = spec.segments.map((segment) =>
    segment.kind === "param" ? { kind: "param", name: `p${param++}` } : segment,
  );
  if (spec.wildcard) segments.push({ kind: "wildcard" });
  // The path "/" is one empty static segment.
  if (segments.length === 0) segments.push({ kind: "static", text: "" });
  const path = `/${segments.map((s) => (s.kind === "static" ? s.text : s.kind === "param" ? `:${s.name}` : "*")).join("/")}`;
  return { route: { method: spec.method, path, moduleId: "m", handler: `h${index}` }, segments };
}

/** The parameters when `segments` match `path` (the model: one segment per static or param, `*` takes the rest). */
function modelMatch(segments: readonly Segment[], path: string): Record<string, string> | undefined {
  const parts = path.slice(1).split("/");
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment.kind === "wildcard") {
      params["*"] = parts.slice(i).join("/");
      return i < parts.length ? params : undefined;
    }
    if (i >= parts.length) return undefined;
    if (segment.kind === "static" && parts[i] !== segment.text) return undefined;
    if (segment.kind === "param") params[segment.name] = parts[i]!;
  }
  return parts.length === segments.length ? params : undefined;
}

const RANK = { static: 2, param: 1, wildcard: 0 } as const;

/** Most specific first: compare segment kinds left to right (static > param > wildcard). */
function moreSpecific(a: readonly Segment[], b: readonly Segment[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const diff = RANK[b[i]!.kind] - RANK[a[i]!.kind];
    if (diff !== 0) return diff;
  }
  return 0;
}

/**
 * A plain request finds the routes of its method; a GET with an upgrade finds the WS routes. A
 * plain GET of a path only WS routes serve is 426; otherwise 405 lists the HTTP methods the path
 * answers (a WS route's as GET), 404 when none.
 */
function model(
  routes: readonly { route: Route; segments: Segment[] }[],
  method: string,
  path: string,
  upgrade: boolean,
): RouteMatch {
  const matching = routes
    .map((entry) => ({ ...entry, params: modelMatch(entry.segments, path) }))
    .filter((entry) => entry.params !== undefined);
  // An upgrade asks for a WS route, which only a GET reaches.
  const wanted = upgrade ? "WS" : method;
  const forMethod = matching
    .filter((entry) => entry.route.method === wanted && (!upgrade || method === "GET"))
    .sort((a, b) => moreSpecific(a.segments, b.segments));
  const best = forMethod[0];
  if (best !== undefined) return { kind: "found", route: best.route, params: best.params! };
  const webSocket = matching.some((entry) => entry.route.method === "WS");
  if (!upgrade && method === "GET" && webSocket) return { kind: "upgrade-required" };
  const allow = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"].filter(
    (m) => m !== wanted && (matching.some((entry) => entry.route.method === m) || (m === "GET" && webSocket)),
  );
  return allow.length === 0 ? { kind: "not-found" } : ({ kind: "method-not-allowed", allow } as RouteMatch);
}

/** Routes of one table: distinct shapes (a table refuses two routes that match the same requests). */
function distinctShapes(specs: { route: Route; segments: Segment[] }[]) {
  const seen = new Set<string>();
  return specs.filter(({ route }) => {
    const shape = `${route.method} ${route.path.replace(/:p\d+/g, ":")}`;
    if (seen.has(shape)) return false;
    seen.add(shape);
    return true;
  });
}

test("the route table answers what the model of the semantics answers (most specific wins, 405, 404, WS routes)", () => {
  fc.assert(
    fc.property(
      fc.array(routeArb, { maxLength: 8 }),
      fc.array(fc.tuple(fc.constantFrom(...REQUEST_METHODS), pathArb, fc.boolean()), {
        minLength: 1,
        maxLength: 10,
      }),
      (specs, requests) => {
        const routes = distinctShapes(specs.map(toRoute));
        const table = new RouteTable(routes.map(({ route }) => route));
        for (const [method, path, upgrade] of requests) {
          const expected = model(routes, method, path, upgrade);
          const actual = upgrade ? table.matchWebSocket(method, path) : table.match(method, path);
          assert.deepEqual(
            actual.kind === "found" ? { ...actual, params: { ...actual.params } } : actual,
            expected,
            `${upgrade ? "upgrade " : ""}${method} ${path} with ${routes.map(({ route }) => `${route.method} ${route.path}`).join(", ")}`,
          );
        }
      },
    ),
    PROPERTY_RUNS,
  );
});

test("parameters are percent-decoded; an unknown method is 405 when the path has routes", () => {
  const table = new RouteTable([
    { method: "GET", path: "/hello/:name", moduleId: "m", handler: "hello" },
    { method: "POST", path: "/hello/:name", moduleId: "m", handler: "set" },
  ]);
  const found = table.match("GET", "/hello/ada%20l");
  assert.equal(found.kind, "found");
  assert.equal(found.kind === "found" && found.params.name, "ada l");
  assert.deepEqual(table.match("PUT", "/hello/x"), { kind: "method-not-allowed", allow: ["GET", "POST"] });
  assert.deepEqual(table.match("BREW", "/hello/x"), { kind: "method-not-allowed", allow: ["GET", "POST"] });
  assert.deepEqual(table.match("GET", "/nope"), { kind: "not-found" });
  // HEAD is a method of its own: a GET route does not serve it.
  assert.deepEqual(table.match("HEAD", "/hello/x"), { kind: "method-not-allowed", allow: ["GET", "POST"] });
});

test("invalid and duplicate routes are refused with one line naming them", () => {
  const route = (path: string): Route => ({ method: "GET", path, moduleId: "m", handler: "h" });
  assert.throws(() => new RouteTable([route("hello")]), {
    code: "SERVE_INVALID_ROUTE",
    message: /must start with "\/"/,
  });
  assert.throws(() => new RouteTable([route("/a/*/b")]), {
    code: "SERVE_INVALID_ROUTE",
    message: /before its last segment/,
  });
  assert.throws(() => new RouteTable([route("/a/:x/:x")]), { code: "SERVE_INVALID_ROUTE", message: /twice/ });
  assert.throws(() => new RouteTable([route("/a/(x)")]), {
    code: "SERVE_INVALID_ROUTE",
    message: /cannot hold/,
  });
  assert.throws(() => new RouteTable([route("/a/:x"), route("/a/:y")]), {
    code: "SERVE_DUPLICATE_ROUTE",
    message: /"GET \/a\/:y" matches the same requests as "GET \/a\/:x"/,
  });
});

test("a static mount answers GET and HEAD of its path; a more specific route wins; the same shape is refused", () => {
  const mount = { path: "/app/*", directory: "/srv/app" };
  const api: Route = { method: "GET", path: "/app/api/:x", moduleId: "m", handler: "api" };
  const table = new RouteTable([api], "routes", [mount]);
  assert.deepEqual(table.match("GET", "/app/js/a%20b.js"), { kind: "static", mount, tail: "js/a b.js" });
  assert.deepEqual(table.match("HEAD", "/app/"), { kind: "static", mount, tail: "" });
  const found = table.match("GET", "/app/api/1");
  assert.ok(found.kind === "found" && found.route === api && found.params.x === "1");
  assert.deepEqual(table.match("POST", "/app/x"), { kind: "method-not-allowed", allow: ["GET", "HEAD"] });
  assert.throws(() => new RouteTable([{ ...api, path: "/app/*" }], "routes", [mount]), {
    code: "SERVE_DUPLICATE_ROUTE",
    message: 'routes: "GET /app/*" matches the same requests as "GET /app/*"',
  });
});

test("a WS route takes upgrades only, beside HTTP routes of its path; an upgrade elsewhere is 404 or 405", () => {
  const route = (method: Route["method"], path: string, handler: string): Route => ({
    method,
    path,
    moduleId: "m",
    handler,
  });
  const room = route("WS", "/chat/:room", "room");
  const page = route("GET", "/chat/:room", "page");
  const table = new RouteTable([room, page, route("WS", "/live", "live"), route("POST", "/form", "form")]);
  const upgraded = table.matchWebSocket("GET", "/chat/x");
  assert.deepEqual(upgraded.kind === "found" && [upgraded.route, { ...upgraded.params }], [
    room,
    { room: "x" },
  ]);
  assert.equal((table.match("GET", "/chat/x") as { route: Route }).route, page);
  assert.deepEqual(table.match("GET", "/live"), { kind: "upgrade-required" });
  assert.deepEqual(table.match("POST", "/live"), { kind: "method-not-allowed", allow: ["GET"] });
  assert.deepEqual(table.matchWebSocket("GET", "/form"), { kind: "method-not-allowed", allow: ["POST"] });
  assert.deepEqual(table.matchWebSocket("POST", "/live"), { kind: "method-not-allowed", allow: ["GET"] });
  assert.deepEqual(table.matchWebSocket("GET", "/nope"), { kind: "not-found" });
  assert.throws(
    () => new RouteTable([route("WS", "/a/:x", "x"), route("WS", "/a/:y", "y")]),
    /matches the same requests/,
  );
});
