import { formatSocketAddress, parseSocketAddress } from "../config/socket-address.ts";
import { describeError, NumaxError } from "../errors/numax-error.ts";
import type { Kernel } from "../kernel/kernel.ts";
import { formatPid, type Pid } from "../kernel/pid.ts";
import { CRDT_FAMILY_NAMES, isCrdtFamilyName } from "../node/crdt-values.ts";
import { KEYS_PAGE_DEFAULT, KEYS_PAGE_MAX, parseKeyCursor } from "../node/key-page.ts";
import type { ModuleHostComponent } from "../node/module-host.ts";
import { ModuleHostError } from "../node/module-host-error.ts";
import type { ModuleView, PeerView, RuntimeIntrospection } from "../node/node-introspection.ts";
import { opFlowQueryOf } from "../node/op-ring.ts";
import { healthAnswer, type ReadinessChecks, readinessAnswer } from "../observe/health-answers.ts";
import { PolicyError } from "../policy/policy-error.ts";
import { ServeError } from "../serve/serve-error.ts";
import type { NodeSnapshots } from "../snapshot/node-snapshots.ts";
import type { PeerStatus } from "../sync/peer-manager.ts";
import { GUEST_MODULE_BYTES_MAX } from "../wasm/load-guest-module.ts";
import { ModuleLoadError } from "../wasm/module-load-error.ts";
import { ManagementApiError, type ManagementErrorCode } from "./management-error.ts";

/** The content type of a module's code in a request body. */
export const WASM_CONTENT_TYPE = "application/wasm";

/** What the routes act on: the node's introspection and the few controls the API has. */
export interface ManagementContext {
  readonly introspection: RuntimeIntrospection;
  readonly readiness: () => ReadinessChecks | Promise<ReadinessChecks>;
  /** The sync layer's peer manager; undefined when the node does not sync. */
  readonly peers:
    | { addPeer(address: string): PeerStatus; removePeer(address: string): Promise<boolean> }
    | undefined;
  /** The kernel the modules' processes run on, while they run. */
  readonly kernel: () => Kernel | undefined;
  /** The module host, for the module routes. */
  readonly modules: ModuleHostComponent | undefined;
  /** The node's snapshots; undefined when the node has no store. */
  readonly snapshots: NodeSnapshots | undefined;
}

export interface RouteRequest {
  /** The path's `:name` parameters, URL-decoded. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** The request body (empty for GET); at most the route's `bodyBytesMax`. */
  readonly body: Uint8Array;
  readonly contentType: string | undefined;
}

export interface RouteAnswer {
  readonly status: number;
  /** JSON body; absent for 204. */
  readonly body?: unknown;
}

export type RouteMethod = "GET" | "POST" | "DELETE";

/**
 * One route of the management API, under `/api/v1`. Every method but GET needs the admin token.
 * Adding a route is adding one entry to {@link MANAGEMENT_ROUTES} (and its operation to
 * docs/api/openapi.yaml: a test holds the two equal).
 */
export interface ManagementRoute {
  readonly method: RouteMethod;
  /** Literal segments and `:name` parameters, e.g. `/processes/:pid`. */
  readonly path: string;
  /** Largest body accepted, in bytes; default MANAGEMENT_JSON_BODY_BYTES_MAX (none for GET). */
  readonly bodyBytesMax?: (context: ManagementContext) => number;
  handle(context: ManagementContext, request: RouteRequest): RouteAnswer | Promise<RouteAnswer>;
}

const ok = (body: unknown): RouteAnswer => ({ status: 200, body });

function found<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new ManagementApiError("NOT_FOUND", `no ${what}`);
  return value;
}

function syncing<T>(value: T | undefined): T {
  if (value === undefined) {
    throw new ManagementApiError(
      "UNAVAILABLE",
      "this node does not sync (start it with --listen <host:port>)",
    );
  }
  return value;
}

function syncPeers(context: ManagementContext): NonNullable<ManagementContext["peers"]> {
  return syncing(context.peers);
}

/** `?limit=`: 1 to KEYS_PAGE_MAX, default KEYS_PAGE_DEFAULT. */
function limitParam(text: string | null): number {
  if (text === null) return KEYS_PAGE_DEFAULT;
  const limit = /^\d{1,7}$/.test(text) ? Number(text) : Number.NaN;
  if (!(limit >= 1 && limit <= KEYS_PAGE_MAX)) {
    throw new ManagementApiError(
      "BAD_REQUEST",
      `limit must be an integer from 1 to ${KEYS_PAGE_MAX}, got "${text}"`,
    );
  }
  return limit;
}

/** `<0.42>` (the kernel's form, URL-encoded in the path) or `42`. */
function pidParam(text: string): Pid {
  const match = /^(?:<0\.(\d+)>|(\d+))$/.exec(text);
  const digits = match?.[1] ?? match?.[2];
  const pid = digits === undefined ? Number.NaN : Number(digits);
  if (!Number.isSafeInteger(pid) || pid <= 0) {
    throw new ManagementApiError(
      "BAD_REQUEST",
      `"${text}" is not a pid: write it as <0.42> (URL-encoded) or 42`,
    );
  }
  return pid as Pid;
}

/** A `host:port` peer address, normalized as the peer list holds it. */
function peerAddress(text: unknown): string {
  if (typeof text !== "string") {
    throw new ManagementApiError("BAD_REQUEST", 'the body must be {"address": "host:port"}');
  }
  try {
    return formatSocketAddress(parseSocketAddress(text, { allowPortZero: false }));
  } catch (error) {
    throw new ManagementApiError("BAD_REQUEST", describeError(error));
  }
}

/** The JSON object of a request body (an empty body reads as `{}`). */
function jsonObject(request: RouteRequest): Record<string, unknown> {
  if (request.body.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(request.body));
  } catch {
    throw new ManagementApiError("BAD_REQUEST", "the body is not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ManagementApiError("BAD_REQUEST", "the body must be a JSON object");
  }
  return value as Record<string, unknown>;
}

/** The module host, or 503 on a node without one. */
function moduleHost(context: ManagementContext): ModuleHostComponent {
  if (context.modules === undefined) throw new ManagementApiError("UNAVAILABLE", "this node runs no modules");
  return context.modules;
}

/** A body of `.wasm` bytes: `content-type: application/wasm`. */
function wasmBody(request: RouteRequest): Uint8Array {
  const type = (request.contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== WASM_CONTENT_TYPE) {
    throw new ManagementApiError(
      "BAD_REQUEST",
      `the body must be the module's .wasm bytes with content-type: ${WASM_CONTENT_TYPE} (got ${request.contentType ?? "none"})`,
    );
  }
  return request.body;
}

/**
 * The answer for a change of the modules the module host refused: an unknown module is 404, an
 * id taken 409, a bad id or a module given as bytes reloaded without them 400, a node shutting
 * down 503, and code that fails to load or validate (the loader's or serving's line) or whose
 * policy is missing (`policy.default` deny), invalid or unsigned 422.
 */
async function moduleChange<T>(change: () => Promise<T>): Promise<T> {
  try {
    return await change();
  } catch (error) {
    if (!(error instanceof NumaxError)) throw error;
    const code =
      error instanceof ModuleHostError
        ? MODULE_HOST_ANSWERS[error.code]
        : error instanceof ModuleLoadError || error instanceof ServeError || error instanceof PolicyError
          ? "MODULE_INVALID"
          : undefined;
    if (code === undefined) throw error;
    throw new ManagementApiError(code, error.message, { cause: error });
  }
}

const MODULE_HOST_ANSWERS: Readonly<Record<ModuleHostError["code"], ManagementErrorCode>> = {
  MODULE_NOT_FOUND: "NOT_FOUND",
  MODULE_EXISTS: "CONFLICT",
  MODULE_INVALID_ID: "BAD_REQUEST",
  MODULE_NO_FILE: "BAD_REQUEST",
  MODULE_KIND_CHANGED: "MODULE_INVALID",
  MODULE_HOST_STOPPED: "UNAVAILABLE",
};

function moduleView(context: ManagementContext, id: string): ModuleView {
  return found(context.introspection.module(id), `module "${id}"`);
}

function peerView(context: ManagementContext, address: string): PeerView {
  return found(
    context.introspection.peers()?.find((peer) => peer.address === address),
    `peer ${address}`,
  );
}

/** The node's snapshots, or 503 on a node without a store. */
function snapshots(context: ManagementContext): NodeSnapshots {
  if (context.snapshots === undefined) {
    throw new ManagementApiError(
      "UNAVAILABLE",
      "this node has no store to snapshot (it neither syncs nor runs a module using db_*)",
    );
  }
  return context.snapshots;
}

/** Every route of the management API; docs/api/openapi.yaml describes each. */
export const MANAGEMENT_ROUTES: readonly ManagementRoute[] = [
  { method: "GET", path: "/health", handle: () => healthAnswer() },
  { method: "GET", path: "/ready", handle: async (context) => readinessAnswer(await context.readiness()) },
  { method: "GET", path: "/node", handle: (context) => ok(context.introspection.node()) },
  { method: "GET", path: "/modules", handle: (context) => ok(context.introspection.modules()) },
  {
    method: "GET",
    path: "/modules/:id",
    handle: (context, { params }) =>
      ok(found(context.introspection.module(params.id!), `module "${params.id}"`)),
  },
  {
    method: "POST",
    path: "/modules",
    bodyBytesMax: () => GUEST_MODULE_BYTES_MAX,
    handle: async (context, request) => {
      const host = moduleHost(context);
      const id = request.query.get("id");
      if (id === null || id === "") {
        throw new ManagementApiError("BAD_REQUEST", "name the module: POST /api/v1/modules?id=ID");
      }
      const bytes = wasmBody(request);
      await moduleChange(() => host.add({ id, bytes }));
      return { status: 201, body: moduleView(context, id) };
    },
  },
  {
    method: "POST",
    path: "/modules/:id/reload",
    bodyBytesMax: () => GUEST_MODULE_BYTES_MAX,
    handle: async (context, request) => {
      const host = moduleHost(context);
      const id = request.params.id!;
      // An empty body reads the module's file again.
      const bytes = request.body.length === 0 ? undefined : wasmBody(request);
      const { reloadMs } = await moduleChange(() => host.reload(id, bytes));
      return ok({ module: moduleView(context, id), reloadMs });
    },
  },
  {
    method: "DELETE",
    path: "/modules/:id",
    handle: async (context, { params }) => {
      await moduleChange(() => moduleHost(context).remove(params.id!));
      return { status: 204 };
    },
  },
  { method: "GET", path: "/processes", handle: (context) => ok(context.introspection.processes()) },
  {
    method: "GET",
    path: "/processes/:pid",
    handle: (context, { params }) =>
      ok(found(context.introspection.process(pidParam(params.pid!)), `live process ${params.pid}`)),
  },
  {
    method: "POST",
    path: "/processes/:pid/kill",
    handle: (context, request) => {
      const pid = pidParam(request.params.pid!);
      const { reason } = jsonObject(request);
      if (reason !== undefined && typeof reason !== "string") {
        throw new ManagementApiError("BAD_REQUEST", '"reason" must be a string');
      }
      const kernel = context.kernel();
      if (kernel === undefined || !kernel.isAlive(pid)) {
        throw new ManagementApiError("NOT_FOUND", `no live process ${request.params.pid}`);
      }
      // An exit signal, as Erlang's exit/2: `kill` cannot be trapped; another reason can.
      kernel.exit(pid, reason ?? "kill");
      return { status: 202, body: { pid: formatPid(pid) } };
    },
  },
  { method: "GET", path: "/peers", handle: (context) => ok(syncing(context.introspection.peers())) },
  {
    method: "POST",
    path: "/peers",
    handle: (context, request) => {
      const peers = syncPeers(context);
      const address = peerAddress(jsonObject(request).address);
      try {
        peers.addPeer(address);
      } catch (error) {
        if (error instanceof NumaxError && error.code === "SYNC_PEER_EXISTS") {
          throw new ManagementApiError("CONFLICT", error.message);
        }
        throw error;
      }
      return { status: 201, body: peerView(context, address) };
    },
  },
  {
    method: "DELETE",
    path: "/peers/:address",
    handle: async (context, { params }) => {
      const peers = syncPeers(context);
      const address = peerAddress(params.address);
      if (!(await peers.removePeer(address))) {
        throw new ManagementApiError("NOT_FOUND", `no configured peer ${address}`);
      }
      return { status: 204 };
    },
  },
  {
    method: "GET",
    path: "/keys",
    handle: (context, { query }) => {
      const cursor = query.get("cursor") ?? undefined;
      if (cursor !== undefined && parseKeyCursor(cursor) === undefined) {
        throw new ManagementApiError("BAD_REQUEST", "cursor is not a nextCursor this node gave");
      }
      const limit = limitParam(query.get("limit"));
      return ok(syncing(context.introspection.keys({ prefix: query.get("prefix") ?? "", limit, cursor })));
    },
  },
  {
    method: "GET",
    path: "/keys/:key",
    handle: (context, { params, query }) => {
      const key = params.key!;
      const families = syncing(context.introspection.keyFamilies(key));
      const asked = query.get("family");
      if (asked !== null && !isCrdtFamilyName(asked)) {
        throw new ManagementApiError(
          "BAD_REQUEST",
          `family must be one of ${CRDT_FAMILY_NAMES.join(", ")}, got "${asked}"`,
        );
      }
      if (asked === null && families.length > 1) {
        throw new ManagementApiError(
          "BAD_REQUEST",
          `key "${key}" exists in ${families.join(", ")}: add ?family=<one of them>`,
        );
      }
      const family = asked ?? families[0];
      const view = family === undefined ? undefined : context.introspection.key(key, family);
      return ok(found(view, asked === null ? `CRDT under key "${key}"` : `${asked} under key "${key}"`));
    },
  },
  {
    method: "GET",
    path: "/ops",
    handle: (context, { query }) => {
      const opQuery = opFlowQueryOf(query);
      if (typeof opQuery === "string") throw new ManagementApiError("BAD_REQUEST", opQuery);
      return ok(syncing(context.introspection.recentOps(opQuery)));
    },
  },
  {
    method: "GET",
    path: "/throughput",
    handle: (context) => ok(syncing(context.introspection.throughput())),
  },
  { method: "GET", path: "/snapshots", handle: async (context) => ok(await snapshots(context).list()) },
  {
    method: "POST",
    path: "/snapshots",
    handle: async (context) => ({ status: 201, body: await snapshots(context).create() }),
  },
  {
    method: "GET",
    path: "/convergence",
    handle: (context) => ok(syncing(context.introspection.convergence())),
  },
];
