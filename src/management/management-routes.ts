import { formatSocketAddress, parseSocketAddress } from "../config/socket-address.ts";
import { describeError, NumaxError } from "../errors/numax-error.ts";
import type { Kernel } from "../kernel/kernel.ts";
import { formatPid, type Pid } from "../kernel/pid.ts";
import type { ModuleHostComponent } from "../node/module-host.ts";
import type { PeerView, RuntimeIntrospection } from "../node/node-introspection.ts";
import { healthAnswer, type ReadinessChecks, readinessAnswer } from "../observe/health-answers.ts";
import type { PeerStatus } from "../sync/peer-manager.ts";
import { ManagementApiError } from "./management-error.ts";

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

function syncPeers(context: ManagementContext): NonNullable<ManagementContext["peers"]> {
  if (context.peers === undefined) {
    throw new ManagementApiError(
      "UNAVAILABLE",
      "this node does not sync (start it with --listen <host:port>)",
    );
  }
  return context.peers;
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

function peerView(context: ManagementContext, address: string): PeerView {
  return found(
    context.introspection.peers()?.find((peer) => peer.address === address),
    `peer ${address}`,
  );
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
  {
    method: "GET",
    path: "/peers",
    handle: (context) => {
      syncPeers(context);
      return ok(context.introspection.peers());
    },
  },
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
];
