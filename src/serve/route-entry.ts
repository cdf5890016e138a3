import { checkRoutePath, isRouteMethod, ROUTE_METHODS, type Route } from "./route-table.ts";
import { ServeError } from "./serve-error.ts";

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
