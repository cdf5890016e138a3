import Router from "find-my-way";
import { checkRoutePath, isRouteMethod, ROUTE_METHODS, type Route, type RouteMethod } from "./route-entry.ts";
import { ServeError } from "./serve-error.ts";

export type { Route, RouteMethod } from "./route-entry.ts";

/** What a request's method and path lead to. */
export type RouteMatch =
  | {
      readonly kind: "found";
      readonly route: Route;
      /** Parameters by name, percent-decoded; the wildcard's tail is named `*`. */
      readonly params: Readonly<Record<string, string>>;
    }
  /** The path matches routes, none for this method: 405 with `Allow`. */
  | { readonly kind: "method-not-allowed"; readonly allow: readonly RouteMethod[] }
  | { readonly kind: "not-found" };

/** The route's shape: two routes with one shape would match exactly the same requests. */
function shapeOf(route: Route): string {
  return `${route.method} ${route.path.replace(/\/:[^/]+/g, "/:")}`;
}

/**
 * The routes of one listener, matched with find-my-way (a radix tree): at every segment a static
 * one beats a `:param`, which beats `*`, with backtracking, so the most specific route wins. A
 * `:param` matches one segment (possibly empty: `/a/` matches `/a/:x` with x = ""); `*` matches
 * the rest of the path after its `/`, possibly empty. Paths are matched case-sensitively and as
 * given (no trailing-slash or duplicate-slash folding).
 *
 * @example
 * const table = new RouteTable([{ method: "GET", path: "/hello/:name", moduleId: "app", handler: "hello" }]);
 * table.match("GET", "/hello/ada");  // { kind: "found", params: { name: "ada" }, ... }
 * table.match("POST", "/hello/ada"); // { kind: "method-not-allowed", allow: ["GET"] }
 */
export class RouteTable {
  readonly routes: readonly Route[];
  readonly #router = Router({
    caseSensitive: true,
    ignoreTrailingSlash: false,
    ignoreDuplicateSlashes: false,
  });
  readonly #methods: readonly RouteMethod[];

  /** Throws a {@link ServeError} for an invalid path or two routes of the same shape. */
  constructor(routes: readonly Route[], where = "routes") {
    const shapes = new Map<string, Route>();
    for (const route of routes) {
      checkRoutePath(route.path, where);
      const shape = shapeOf(route);
      const earlier = shapes.get(shape);
      if (earlier !== undefined) {
        throw new ServeError(
          "SERVE_DUPLICATE_ROUTE",
          `${where}: "${route.method} ${route.path}" matches the same requests as "${earlier.method} ${earlier.path}"`,
        );
      }
      shapes.set(shape, route);
      this.#router.on(route.method, route.path, () => {}, route);
    }
    this.routes = routes;
    this.#methods = ROUTE_METHODS.filter((method) => routes.some((route) => route.method === method));
  }

  /** `path` without its query string, as the request line has it (percent escapes included). */
  match(method: string, path: string): RouteMatch {
    const found = isRouteMethod(method) ? this.#router.find(method, path) : null;
    if (found !== null) {
      return { kind: "found", route: found.store as Route, params: found.params as Record<string, string> };
    }
    const allow = this.#methods.filter(
      (other) => other !== method && this.#router.find(other, path) !== null,
    );
    return allow.length === 0 ? { kind: "not-found" } : { kind: "method-not-allowed", allow };
  }
}
