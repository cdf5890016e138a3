import Router from "find-my-way";
import { checkRoutePath, isRouteMethod, ROUTE_METHODS, type Route, type RouteMethod } from "./route-entry.ts";
import { ServeError } from "./serve-error.ts";
import type { StaticMount } from "./static-files.ts";

export type { Route, RouteMethod } from "./route-entry.ts";

/** What a request's method and path lead to. */
export type RouteMatch =
  | {
      readonly kind: "found";
      readonly route: Route;
      /** Parameters by name, percent-decoded; the wildcard's tail is named `*`. */
      readonly params: Readonly<Record<string, string>>;
    }
  /** A static mount's file: `tail` is the wildcard, percent-decoded. */
  | { readonly kind: "static"; readonly mount: StaticMount; readonly tail: string }
  /** The path matches routes, none for this method: 405 with `Allow`. */
  | { readonly kind: "method-not-allowed"; readonly allow: readonly RouteMethod[] }
  | { readonly kind: "not-found" };

/** The route's shape: two routes with one shape would match exactly the same requests. */
function shapeOf(method: RouteMethod, path: string): string {
  return `${method} ${path.replace(/\/:[^/]+/g, "/:")}`;
}

/** The methods a static mount answers. */
const STATIC_METHODS: readonly RouteMethod[] = ["GET", "HEAD"];

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

  /**
   * Throws a {@link ServeError} for an invalid path or two routes of the same shape; a static
   * mount (`GET` and `HEAD` of its path) counts as routes.
   */
  constructor(routes: readonly Route[], where = "routes", mounts: readonly StaticMount[] = []) {
    const shapes = new Map<string, string>();
    const add = (method: RouteMethod, path: string, store: Route | { mount: StaticMount }): void => {
      checkRoutePath(path, where);
      const shape = shapeOf(method, path);
      const earlier = shapes.get(shape);
      if (earlier !== undefined) {
        throw new ServeError(
          "SERVE_DUPLICATE_ROUTE",
          `${where}: "${method} ${path}" matches the same requests as "${earlier}"`,
        );
      }
      shapes.set(shape, `${method} ${path}`);
      this.#router.on(method, path, () => {}, store);
    };
    for (const route of routes) add(route.method, route.path, route);
    for (const mount of mounts) {
      for (const method of STATIC_METHODS) add(method, mount.path, { mount });
    }
    this.routes = routes;
    this.#methods = ROUTE_METHODS.filter(
      (method) =>
        routes.some((route) => route.method === method) ||
        (mounts.length > 0 && STATIC_METHODS.includes(method)),
    );
  }

  /** `path` without its query string, as the request line has it (percent escapes included). */
  match(method: string, path: string): RouteMatch {
    const found = isRouteMethod(method) ? this.#router.find(method, path) : null;
    if (found !== null) {
      const params = found.params as Record<string, string>;
      const store = found.store as Route | { mount: StaticMount };
      return "mount" in store
        ? { kind: "static", mount: store.mount, tail: params["*"] ?? "" }
        : { kind: "found", route: store, params };
    }
    const allow = this.#methods.filter(
      (other) => other !== method && this.#router.find(other, path) !== null,
    );
    return allow.length === 0 ? { kind: "not-found" } : { kind: "method-not-allowed", allow };
  }
}
