import { ServeError } from "./serve-error.ts";

/** HTTP methods a route may name. */
export const HTTP_ROUTE_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
export type HttpRouteMethod = (typeof HTTP_ROUTE_METHODS)[number];
/**
 * The method of a WebSocket route (`"WS /chat/:room"`): only such a route accepts an upgrade
 * (a `GET` with `Upgrade: websocket`), and it answers nothing else.
 */
export const WEBSOCKET_METHOD = "WS";
/** Methods a route may name: the HTTP ones and {@link WEBSOCKET_METHOD}. */
export const ROUTE_METHODS = [...HTTP_ROUTE_METHODS, WEBSOCKET_METHOD] as const;
export type RouteMethod = (typeof ROUTE_METHODS)[number];

/** Longest route path accepted, in characters. */
export const ROUTE_PATH_MAX_CHARS = 1024;

/** One route: `METHOD /path/:param/*` to `module#handler`. */
export interface Route {
  readonly method: RouteMethod;
  /** `/`-separated segments: static text, `:name` parameters, and a trailing `*` wildcard. */
  readonly path: string;
  readonly moduleId: string;
  /** An exported function `() -> ()` of the module. */
  readonly handler: string;
}

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Unreserved characters, sub-delimiters, `@` and percent escapes: nothing the router reads as syntax. */
const STATIC_SEGMENT = /^(?:[A-Za-z0-9\-._~!$&'+,;=@]|%[0-9A-Fa-f]{2})*$/;

/**
 * Checks one route path: starts with `/`; segments are static text, `:name` or, last only, `*`.
 * Throws a {@link ServeError} naming the route and the fault.
 */
export function checkRoutePath(path: string, where: string): void {
  const fail = (why: string): never => {
    throw new ServeError("SERVE_INVALID_ROUTE", `${where}: route path ${JSON.stringify(path)} ${why}`);
  };
  if (path.length > ROUTE_PATH_MAX_CHARS) fail(`is longer than ${ROUTE_PATH_MAX_CHARS} characters`);
  if (!path.startsWith("/")) fail('must start with "/" (for example /hello/:name)');
  const segments = path.slice(1).split("/");
  const names = new Set<string>();
  segments.forEach((segment, index) => {
    if (segment === "*") {
      if (index !== segments.length - 1)
        fail('has "*" before its last segment: the wildcard takes the rest of the path');
    } else if (segment.startsWith(":")) {
      const name = segment.slice(1);
      if (!PARAM_NAME.test(name))
        fail(`has parameter "${segment}": a name is a letter or _ then letters, digits, _`);
      if (names.has(name)) fail(`names parameter ":${name}" twice`);
      names.add(name);
    } else if (!STATIC_SEGMENT.test(segment)) {
      fail(
        `has segment "${segment}" with characters a route cannot hold (use letters, digits, - . _ ~ or %XX)`,
      );
    }
  });
}

export function isRouteMethod(method: string): method is RouteMethod {
  return (ROUTE_METHODS as readonly string[]).includes(method);
}

export function isHttpRouteMethod(method: string): method is HttpRouteMethod {
  return (HTTP_ROUTE_METHODS as readonly string[]).includes(method);
}

const MODULE_ID = /^[A-Za-z0-9_.-]+$/;
const HANDLER_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * One `[serve.routes]` entry (`"GET /hello/:name" = "app#hello"`) or default route line
 * (`GET /hello/:name hello`, the module implied) as a {@link Route}. Throws a {@link ServeError}
 * saying what is wrong with it; `where` names the entry for the message.
 */
export function parseRouteKey(key: string, where: string): Pick<Route, "method" | "path"> {
  const match = /^(\S+) (\S+)$/.exec(key);
  if (match === null) {
    throw new ServeError(
      "SERVE_INVALID_ROUTE",
      `${where}: route ${JSON.stringify(key)} must be "METHOD /path" (for example "GET /hello/:name")`,
    );
  }
  const [, method, path] = match as unknown as [string, string, string];
  if (!isRouteMethod(method)) {
    throw new ServeError(
      "SERVE_INVALID_ROUTE",
      `${where}: route ${JSON.stringify(key)} has method ${JSON.stringify(method)} (use one of ${ROUTE_METHODS.join(", ")}, upper case)`,
    );
  }
  checkRoutePath(path, where);
  return { method, path };
}

/** `module#handler` → its parts. */
export function parseRouteTarget(target: string, where: string): Pick<Route, "moduleId" | "handler"> {
  const hash = target.indexOf("#");
  const moduleId = target.slice(0, hash);
  const handler = target.slice(hash + 1);
  if (hash < 0 || !MODULE_ID.test(moduleId) || !HANDLER_NAME.test(handler)) {
    throw new ServeError(
      "SERVE_INVALID_ROUTE",
      `${where}: route target ${JSON.stringify(target)} must be "module#handler" (for example "http_hello#hello")`,
    );
  }
  return { moduleId, handler };
}

/** `handler` checked as an export name. */
export function checkHandlerName(handler: string, where: string): void {
  if (!HANDLER_NAME.test(handler)) {
    throw new ServeError(
      "SERVE_INVALID_ROUTE",
      `${where}: handler ${JSON.stringify(handler)} is not a function name (letters, digits, _)`,
    );
  }
}
