import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { formatSocketAddress } from "../config/socket-address.ts";
import { describeError } from "../errors/numax-error.ts";
import { isLoopbackHost } from "../net/host-port.ts";
import type { ModuleChange, ModuleChangeHandler } from "../node/module-change.ts";
import type { Logger } from "../observe/logger.ts";
import type { NodeMetrics } from "../observe/metrics.ts";
import type { GuestEnvironment } from "../wasm/abi/guest-environment.ts";
import { hardQuotaOf } from "../wasm/abi/host-call-quota.ts";
import { CALLBACK_EXPORTS, ROUTES_EXPORT, RUN_EXPORT } from "../wasm/guest-exports.ts";
import type { GuestModule } from "../wasm/load-guest-module.ts";
import { GRANT_SERVE, parseProfile } from "../wasm/process/index.ts";
import { declaredRoutes } from "./default-routes.ts";
import type { ClientTopics } from "./forwarded-topics.ts";
import { HandlerProcesses } from "./handler-processes.ts";
import type { ReleaseOutput } from "./release-output.ts";
import { type Route, RouteTable } from "./route-table.ts";
import { ServeError } from "./serve-error.ts";
import { type ServeListener, type ServeListenerOptions, startServeListener } from "./serve-listener.ts";
import { type ServeMetrics, serveMetrics } from "./serve-metrics.ts";
import type { ServeSettings } from "./serve-settings.ts";
import { settlesWithin } from "./settles-within.ts";
import { resolveMountDirectory, type StaticMount } from "./static-files.ts";

/** Exports that are never handlers: the module's entry points and the route declaration. */
const NOT_HANDLERS: ReadonlySet<string> = new Set([
  RUN_EXPORT,
  ROUTES_EXPORT,
  ...Object.keys(CALLBACK_EXPORTS),
]);

export interface ServeComponentOptions {
  readonly listeners: readonly ServeSettings[];
  readonly modules: readonly GuestModule[];
  /** CPU budget of one request's handler, in ms of guest time, unless its listener sets one. */
  readonly cpuMsPerRequest: number;
  readonly shutdownTimeoutMs: number;
  /**
   * Each module's own static directories by module id (`[modules.<id>] static`), relative to
   * the module file's directory: served with the default routes, beside the module's API.
   */
  readonly moduleStaticMounts?: ReadonlyMap<string, readonly StaticMount[]>;
  /**
   * Capability profile of the modules' handler processes; a route to them needs
   * `network.serve`. Top-level modules of `nx run` run `trusted` until policies exist.
   */
  readonly profile: string;
  /** Why routes may not name a module's handlers (its policy lacks `network.serve`); undefined: they may. */
  readonly serveRefusal?: (module: GuestModule) => string | undefined;
  /** Opens a listener: startServeListener (a test gives one that never closes). */
  readonly startListener?: (options: ServeListenerOptions) => Promise<ServeListener>;
}

/**
 * How long a stopping listener may take, past the drain's bound (half of `--shutdown-timeout`), to
 * close its connections (WebSocket clients answer the 1001 within WS_CLOSE_ANSWER_MS_MAX) before
 * the node stops waiting for it: a quarter of the timeout when that is less. Past it the node
 * logs what is still open, drops its connections and goes on: the modules' `shutdown` and sync's
 * stop must never wait on a connection.
 */
export const SERVE_CLOSE_AFTER_DRAIN_MS_MAX = 1_000;

/** What the serving component needs of the module host. */
export interface ServedModules {
  environment(module: GuestModule): GuestEnvironment;
  /** Where serving checks and follows the modules added, reloaded and removed while the node runs. */
  onModuleChange?(handler: ModuleChangeHandler): void;
  /** The node's output gate: what handlers send leaves once their writes are durable. Absent: at once. */
  readonly release?: ReleaseOutput;
}

export interface ServeComponent {
  readonly name: "serve";
  readonly dependsOn: readonly ["modules"];
  /** The listeners, once started. */
  readonly listeners: readonly ServeListener[];
  start(): Promise<void>;
  /**
   * Shutdown has begun (under `nx run`: at the signal, before the modules are interrupted): the
   * listeners stop taking connections and drain what is in flight (ServeListener.close, up to half
   * of `shutdownTimeoutMs` for what the output gate holds). Resolves once they closed, or
   * {@link SERVE_CLOSE_AFTER_DRAIN_MS_MAX} past the drain's bound with one warning line naming the
   * listeners still open, whose connections are then dropped. `stop` waits for it rather than
   * closing them again.
   */
  stopServing(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The node's HTTP serving (docs/serving.md): resolves every listener's routes (a `[[serve]]`
 * table's, or the modules' default routes for `--serve`), refuses a route to an unknown module
 * or handler with one line, then opens the listeners. Its handler processes run with the
 * module host's environments, so a handler reaches the store, the replica and the module
 * messages as the module's other processes do. It depends on the module host: it stops (closes
 * the listeners, stops the handlers still running) before the modules and the parts they use.
 * `topics` answers, once the node's events have started, where event streams' `sse_forward`
 * subscribes (the node's module messages); without it `sse_forward` answers -3.
 *
 * Modules added, reloaded or removed while the node runs (docs/hot-reload.md) change the routes
 * at once: a listener serving default routes serves the ones the new code's `routes` declares,
 * a configured route to a reloaded module must find its handler in the new code (the reload is
 * refused otherwise), routes to a removed module answer 404, and new requests run the new code
 * while requests in flight finish on the old.
 */
export function serveComponent(
  logger: Logger,
  options: ServeComponentOptions,
  modules: ServedModules,
  topics?: () => ClientTopics | undefined,
  metrics?: () => NodeMetrics | undefined,
): ServeComponent {
  const serveLogger = logger.child("serve");
  const listeners: ServeListener[] = [];
  /** Handler processes by CPU budget: one process host per budget the listeners use. */
  const processes = new Map<number, HandlerProcesses>();
  const processesFor = (cpuMsPerRequest: number): HandlerProcesses => {
    let found = processes.get(cpuMsPerRequest);
    if (found === undefined) {
      found = new HandlerProcesses({
        modules: options.modules,
        environment: (module) => modules.environment(module),
        cpuMsPerRequest,
        profile: options.profile,
        logger: serveLogger,
      });
      processes.set(cpuMsPerRequest, found);
    }
    return found;
  };
  const granted = (parseProfile(options.profile) & GRANT_SERVE) !== 0;
  /** Every route names a loaded module and one of its handlers, and the profile and the module's policy grant serving. */
  const checkRoutes = (routes: readonly Route[], loaded: ReadonlyMap<string, GuestModule>, where: string) => {
    for (const route of routes) {
      checkTarget(route, loaded, where);
      if (!granted) {
        throw new ServeError(
          "SERVE_NOT_GRANTED",
          `${where}: route "${route.method} ${route.path}" = "${route.moduleId}#${route.handler}": module "${route.moduleId}" runs with profile "${options.profile}", which does not grant network.serve`,
        );
      }
      const refusal = options.serveRefusal?.(loaded.get(route.moduleId)!);
      if (refusal !== undefined) {
        throw new ServeError(
          "SERVE_NOT_GRANTED",
          `${where}: route "${route.method} ${route.path}" = "${route.moduleId}#${route.handler}": module "${route.moduleId}" may not serve: ${refusal}`,
        );
      }
    }
  };
  /** The modules by id, as they are now: what a request's handler runs. */
  let byId = new Map<string, GuestModule>();
  /** Each module's default routes, when a listener serves them. */
  let defaults: Map<string, Route[]> | undefined;
  /** Each listener with its own static directories (`[serve.static]`, `--serve-static`). */
  const served: { readonly settings: ServeSettings; readonly mounts: readonly StaticMount[] }[] = [];
  /**
   * Each module's own static directories (`[modules.<id>] static`), served beside its default
   * routes: resolved at start against the module files, dropped with their module, back when a
   * module of that id is added again.
   */
  let staticAtStart = new Map<string, StaticMount[]>();
  let staticById = staticAtStart;
  const mountsOf = (settings: ServeSettings, own: readonly StaticMount[], byModule: typeof staticById) =>
    settings.routes === undefined ? [...own, ...[...byModule.values()].flat()] : own;
  const prepare = async (change: ModuleChange): Promise<() => void> => {
    const nextById = new Map(byId);
    const nextDefaults = defaults === undefined ? undefined : new Map(defaults);
    const nextStatic = new Map(staticById);
    const id = (change.kind === "reload" ? change.next : change.module).moduleId;
    if (change.kind === "remove") {
      nextById.delete(id);
      nextDefaults?.delete(id);
      nextStatic.delete(id);
    } else {
      const module = change.kind === "reload" ? change.next : change.module;
      nextById.set(id, module);
    }
    let tables: RouteTable[];
    try {
      const mounts = staticAtStart.get(id);
      if (change.kind === "add" && mounts !== undefined) nextStatic.set(id, mounts);
      if (change.kind !== "remove") {
        nextDefaults?.set(
          id,
          await declaredRoutes(nextById.get(id)!, processesFor(options.cpuMsPerRequest), serveLogger),
        );
      }
      tables = served.map(({ settings, mounts }) => {
        // Configured routes to a removed module are dropped: their requests answer 404.
        const routes =
          settings.routes?.filter((route) => nextById.has(route.moduleId)) ??
          [...nextDefaults!.values()].flat();
        checkRoutes(
          routes.filter((route) => route.moduleId === id),
          nextById,
          settings.where,
        );
        return new RouteTable(routes, settings.where, mountsOf(settings, mounts, nextStatic));
      });
    } catch (error) {
      // Refused: the instance its `routes` ran in is not kept.
      if (change.kind !== "remove") for (const each of processes.values()) each.discard(nextById.get(id)!);
      throw error;
    }
    return () => {
      byId = nextById;
      defaults = nextDefaults;
      staticById = nextStatic;
      tables.forEach((table, index) => {
        listeners[index]?.replaceRoutes(table);
      });
      for (const each of processes.values()) {
        if (change.kind === "remove") each.removeModule(id);
        else each.setModule(change.kind === "reload" ? change.next : change.module);
      }
    };
  };
  // Half the shutdown for what waits on the disk: the other half is the modules' and the store's.
  const drainMs = options.shutdownTimeoutMs / 2;
  const closeMsMax = drainMs + Math.min(SERVE_CLOSE_AFTER_DRAIN_MS_MAX, options.shutdownTimeoutMs / 4);
  let stopped: Promise<void> | undefined;
  const closeListeners = async (): Promise<void> => {
    const closed = new Set<ServeListener>();
    const closing = Promise.all(
      listeners.map((listener) => listener.close(drainMs).then(() => closed.add(listener))),
    );
    // A listener that failed to close is thrown (by `stop` too, which waits for this again).
    if (await settlesWithin(closing, closeMsMax)) {
      await closing;
      return;
    }
    // A close that hangs (no known way left) would hold the modules' shutdown until the process
    // gives up on the whole shutdown: it goes on without the listener.
    const open = listeners.filter((listener) => !closed.has(listener));
    serveLogger.warn(
      "serving did not close in time: its connections are dropped and the node stops without it",
      {
        waitedMs: closeMsMax,
        listeners: open
          .map((listener) => `${listener.url} (${listener.openConnections} connections open)`)
          .join(", "),
      },
    );
    for (const listener of open) listener.dropConnections();
  };
  // Stopping again (the component's stop after stopServing) waits for the first.
  const stopServing = (): Promise<void> => {
    stopped ??= closeListeners();
    return stopped;
  };
  return {
    name: "serve",
    dependsOn: ["modules"],
    listeners,
    start: async () => {
      byId = new Map(options.modules.map((module) => [module.moduleId, module]));
      if (options.listeners.some((listener) => listener.routes === undefined)) {
        defaults = await defaultRoutes(options.modules, processesFor(options.cpuMsPerRequest), serveLogger);
        staticAtStart = new Map(
          options.modules.map((module) => [
            module.moduleId,
            moduleMounts([module], options.moduleStaticMounts),
          ]),
        );
        staticById = staticAtStart;
      }
      const tables: RouteTable[] = [];
      for (const listener of options.listeners) {
        const own = (listener.staticMounts ?? []).map((mount) => ({
          path: mount.path,
          directory: resolveMountDirectory(mount, listener.where),
        }));
        served.push({ settings: listener, mounts: own });
        // `--serve` listeners serve the modules' default routes and static directories, and their own.
        const routes = listener.routes ?? [...defaults!.values()].flat();
        const mounts = mountsOf(listener, own, staticById);
        if (routes.length === 0 && mounts.length === 0) {
          throw new ServeError(
            "SERVE_NO_ROUTES",
            `${listener.where}: no routes to serve (a module declares default routes with a "${ROUTES_EXPORT}" export calling route_add, see docs/serving.md; or list them in [serve.routes])`,
          );
        }
        checkRoutes(routes, byId, listener.where);
        tables.push(new RouteTable(routes, listener.where, mounts));
      }
      for (const [index, listener] of options.listeners.entries()) {
        const running = processesFor(listener.cpuMsPerRequest ?? options.cpuMsPerRequest);
        if (listener.tls === undefined && !isLoopbackHost(listener.listen.host)) {
          serveLogger.warn(
            `${listener.where}: serving plain HTTP on ${formatSocketAddress(listener.listen)}, reachable from other machines; set tls_cert and tls_key for HTTPS`,
          );
        }
        listeners.push(
          await (options.startListener ?? startServeListener)({
            listen: listener.listen,
            tls: listener.tls === undefined ? undefined : await readTls(listener),
            routes: tables[index]!,
            limits: listener.limits,
            logger: serveLogger,
            topics: topics?.(),
            release: modules.release,
            ...withMetrics(metrics?.()),
            runHandler: (route, request, started) => {
              const module = byId.get(route.moduleId)!;
              const run = running.run(module, route.handler, { request }, started);
              const { quota, usage } = modules.environment(module);
              if (quota !== undefined && usage !== undefined) {
                // A handler of a module with quotas stopped at its CPU budget or memory cap is a
                // hit of that quota (modules without quotas pay no promise reaction per request).
                void run.outcome.then((outcome) => {
                  const quota = outcome.ok ? undefined : hardQuotaOf(outcome.kind);
                  if (quota !== undefined) usage.countHit(quota);
                });
              }
              return run;
            },
            admit: (route) => {
              const quota = modules.environment(byId.get(route.moduleId)!).quota;
              return quota === undefined ? NOTHING_TO_END : quota.admitRequest();
            },
          }),
        );
      }
      modules.onModuleChange?.({ prepare });
    },
    stopServing,
    stop: async () => {
      await stopServing();
      await Promise.all([...processes.values()].map((each) => each.close(options.shutdownTimeoutMs)));
    },
  };
}

const NOTHING_TO_END = (): void => {};

/** The modules' own static directories, resolved against their module files (which must exist). */
function moduleMounts(
  modules: readonly GuestModule[],
  byModule: ReadonlyMap<string, readonly StaticMount[]> | undefined,
): StaticMount[] {
  return modules.flatMap((module) => {
    const base = dirname(resolve(module.label));
    return (byModule?.get(module.moduleId) ?? []).map((mount) => ({
      path: mount.path,
      directory: resolveMountDirectory(
        { path: mount.path, directory: resolve(base, mount.directory) },
        `[modules.${module.moduleId}] static`,
        `the module file's directory (${base})`,
      ),
    }));
  });
}

/** Each module's default routes, in the modules' order. */
async function defaultRoutes(
  modules: readonly GuestModule[],
  processes: HandlerProcesses,
  logger: Logger,
): Promise<Map<string, Route[]>> {
  const routes = new Map<string, Route[]>();
  for (const module of modules) routes.set(module.moduleId, await declaredRoutes(module, processes, logger));
  return routes;
}

/** The route's module is loaded and exports its handler as a function `() -> ()`. */
function checkTarget(route: Route, modules: ReadonlyMap<string, GuestModule>, where: string): void {
  const module = modules.get(route.moduleId);
  const name = `"${route.method} ${route.path}" = "${route.moduleId}#${route.handler}"`;
  if (module === undefined) {
    throw new ServeError(
      "SERVE_UNKNOWN_MODULE",
      `${where}: route ${name} names module "${route.moduleId}", which this run does not load (loaded: ${[...modules.keys()].join(", ")})`,
    );
  }
  if (NOT_HANDLERS.has(route.handler) || !module.nullaryExports.has(route.handler)) {
    throw new ServeError(
      "SERVE_UNKNOWN_HANDLER",
      `${where}: route ${name}: ${module.label} does not export "${route.handler}" as a handler (an exported function () -> (), not run, routes or a callback)`,
    );
  }
}

async function readTls(listener: ServeSettings): Promise<{ cert: string; key: string }> {
  const { certPath, keyPath } = listener.tls!;
  try {
    const [cert, key] = await Promise.all([readFile(certPath, "utf8"), readFile(keyPath, "utf8")]);
    return { cert, key };
  } catch (error) {
    throw new ServeError(
      "SERVE_INVALID_CONFIG",
      `${listener.where}: cannot read its TLS files: ${describeError(error)} (create them with \`nx cert\`)`,
      { cause: error },
    );
  }
}

function withMetrics(metrics: NodeMetrics | undefined): { metrics?: (listener: string) => ServeMetrics } {
  return metrics === undefined ? {} : { metrics: (listener) => serveMetrics(metrics, listener) };
}
