import Router from "find-my-way";
import {
  checkRoutePath,
  HTTP_ROUTE_METHODS,
  type HttpRouteMethod,
  isHttpRouteMethod,
  type Route,
  type RouteMethod,
  WEBSOCKET_METHOD,
} from "./route-entry.ts";
import { ServeError } from "./serve-error.ts";
import type { StaticMount } from "./static-files.ts";

export type { HttpRouteMethod, Route, RouteMethod } from "./route-entry.ts";

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
  /**
   * The path matches routes, none for this method: 405 with `Allow`, the HTTP methods the path
   * answers (a WebSocket route's counts as `GET`).
   */
  | { readonly kind: "method-not-allowed"; readonly allow: readonly HttpRouteMethod[] }
  /** A plain `GET` (no upgrade) of a path only a WebSocket route serves: 426. */
  | { readonly kind: "upgrade-required" }
  | { readonly kind: "not-found" };

/** The route's shape: two routes with one shape would match exactly the same requests. */
function shapeOf(method: RouteMethod, path: string): string {
  return `${method} ${path.replace(/\/:[^/]+/g, "/:")}`;
}

/** Paths matched case-sensitively and as given: no trailing-slash or duplicate-slash folding. */
const ROUTER_OPTIONS = { caseSensitive: true, ignoreTrailingSlash: false, ignoreDuplicateSlashes: false };

/** The methods a static mount answers. */
const STATIC_METHODS: readonly HttpRouteMethod[] = ["GET", "HEAD"];

/**
 * The routes of one listener, matched with find-my-way (a radix tree): at every segment a static
 * one beats a `:param`, which beats `*`, with backtracking, so the most specific route wins. A
 * `:param` matches one segment (possibly empty: `/a/` matches `/a/:x` with x = ""); `*` matches
 * the rest of the path after its `/`, possibly empty. Paths are matched case-sensitively and as
 * given (no trailing-slash or duplicate-slash folding). WebSocket routes (`WS /path`) live in a
 * router of their own: only {@link matchWebSocket} (an upgrade) finds them.
 *
 * @example
 * const table = new RouteTable([{ method: "GET", path: "/hello/:name", moduleId: "app", handler: "hello" }]);
 * table.match("GET", "/hello/ada");  // { kind: "found", params: { name: "ada" }, ... }
 * table.match("POST", "/hello/ada"); // { kind: "method-not-allowed", allow: ["GET"] }
 */
export class RouteTable {
  readonly routes: readonly Route[];
  readonly #router = Router(ROUTER_OPTIONS);
  /** WebSocket routes, under `GET` (the method of an upgrade). */
  readonly #webSockets = Router(ROUTER_OPTIONS);
  /** HTTP methods some route or mount answers, in HTTP_ROUTE_METHODS order. */
  readonly #methods: readonly HttpRouteMethod[];
  readonly #hasWebSockets: boolean;

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
      if (method === WEBSOCKET_METHOD) this.#webSockets.on("GET", path, () => {}, store);
      else this.#router.on(method, path, () => {}, store);
    };
    for (const route of routes) add(route.method, route.path, route);
    for (const mount of mounts) {
      for (const method of STATIC_METHODS) add(method, mount.path, { mount });
    }
    this.routes = routes;
    this.#methods = HTTP_ROUTE_METHODS.filter(
      (method) =>
        routes.some((route) => route.method === method) ||
        (mounts.length > 0 && STATIC_METHODS.includes(method)),
    );
    this.#hasWebSockets = routes.some((route) => route.method === WEBSOCKET_METHOD);
  }

  /**
   * A plain request (no WebSocket upgrade); `path` without its query string, as the request line
   * has it (percent escapes included).
   */
  match(method: string, path: string): RouteMatch {
    const found = isHttpRouteMethod(method) ? this.#router.find(method, path) : null;
    if (found !== null) {
      const params = found.params as Record<string, string>;
      const store = found.store as Route | { mount: StaticMount };
      return "mount" in store
        ? { kind: "static", mount: store.mount, tail: params["*"] ?? "" }
        : { kind: "found", route: store, params };
    }
    if (method === "GET" && this.#findWebSocket(path) !== undefined) return { kind: "upgrade-required" };
    return this.#refused(method, path);
  }

  /**
   * A WebSocket upgrade (`Upgrade: websocket`): found only for a `GET` of a `WS` route's path.
   * Elsewhere 404 for a path without routes, else 405 with the methods the path answers (an
   * upgrade asks for the method WS, which no other route has).
   */
  matchWebSocket(method: string, path: string): RouteMatch {
    const found = method === "GET" ? this.#findWebSocket(path) : undefined;
    if (found !== undefined) return { kind: "found", ...found };
    return this.#refused(WEBSOCKET_METHOD, path);
  }

  #findWebSocket(path: string): { route: Route; params: Record<string, string> } | undefined {
    const found = this.#hasWebSockets ? this.#webSockets.find("GET", path) : null;
    return found === null
      ? undefined
      : { route: found.store as Route, params: found.params as Record<string, string> };
  }

  /** 404, or 405 with the methods `path` answers other than `method`. */
  #refused(method: string, path: string): RouteMatch {
    const webSocket = this.#findWebSocket(path) !== undefined;
    const allow = HTTP_ROUTE_METHODS.filter(
      (other) =>
        other !== method &&
        ((other === "GET" && webSocket) ||
          (this.#methods.includes(other) && this.#router.find(other, path) !== null)),
    );
    return allow.length === 0 ? { kind: "not-found" } : { kind: "method-not-allowed", allow };
  }
}
