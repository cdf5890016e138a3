import type { Logger } from "../observe/logger.ts";
import { ERR_INTERNAL, OK } from "../wasm/abi/abi-codes.ts";
import { ROUTES_EXPORT } from "../wasm/guest-exports.ts";
import type { GuestModule } from "../wasm/load-guest-module.ts";
import type { HandlerProcesses } from "./handler-processes.ts";
import type { Route } from "./route-entry.ts";
import { checkHandlerName, parseRouteKey } from "./route-entry.ts";
import { ServeError } from "./serve-error.ts";

/** Default routes one module may declare. */
export const DEFAULT_ROUTES_MAX = 256;

/** How long a module's `routes` export may run (it only calls `route_add`). */
const DECLARE_TIMEOUT_MS = 5_000;

/**
 * A module's default routes (what `--serve ADDR` serves): its `routes` export runs once, in a
 * process of its own, and every `route_add(method, path, handler)` it makes adds
 * `METHOD path` to `module#handler`. Any language can declare them: it is a plain export calling
 * a plain import. A module without the export has none. Throws a {@link ServeError} for an
 * invalid route (the first one) or a `routes` run that failed.
 */
export async function declaredRoutes(
  module: GuestModule,
  processes: HandlerProcesses,
  logger: Logger,
): Promise<Route[]> {
  if (!module.nullaryExports.has(ROUTES_EXPORT)) return [];
  const where = `${module.label}: default route`;
  const routes: Route[] = [];
  let refused: ServeError | undefined;
  const sink = {
    add: (method: string, path: string, handler: string): number => {
      try {
        if (routes.length >= DEFAULT_ROUTES_MAX) {
          throw new ServeError("SERVE_INVALID_ROUTE", `${where}: more than ${DEFAULT_ROUTES_MAX} routes`);
        }
        const key = parseRouteKey(`${method} ${path}`, where);
        checkHandlerName(handler, where);
        routes.push({ ...key, moduleId: module.moduleId, handler });
        return OK;
      } catch (error) {
        if (!(error instanceof ServeError)) throw error;
        refused ??= error;
        logger.debug("route_add refused", { module: module.moduleId, error: error.message });
        return ERR_INTERNAL;
      }
    },
  };
  const run = processes.run(module, ROUTES_EXPORT, { routes: sink });
  const timer = setTimeout(() => run.stop(`stopped after ${DECLARE_TIMEOUT_MS} ms`), DECLARE_TIMEOUT_MS);
  const outcome = await run.outcome.finally(() => clearTimeout(timer));
  if (refused !== undefined) throw refused;
  if (!outcome.ok) {
    throw new ServeError(
      "SERVE_INVALID_ROUTE",
      `${module.label}: its ${ROUTES_EXPORT} export failed while declaring default routes: ${outcome.failure}`,
    );
  }
  return routes;
}
