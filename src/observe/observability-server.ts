import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { formatSocketAddress, parseSocketAddress, type SocketAddress } from "../config/socket-address.ts";
import { describeError, NumaxError } from "../errors/numax-error.ts";
import { healthAnswer, type ReadinessChecks, readinessAnswer } from "./health-answers.ts";
import type { Logger } from "./logger.ts";
import type { NodeMetrics } from "./metrics.ts";

export type { ReadinessChecks } from "./health-answers.ts";

export interface ObservabilityServerOptions {
  /** `host:port`, e.g. "127.0.0.1:9100"; port 0 picks a free port (see `address`). */
  readonly listen: SocketAddress | string;
  readonly metrics: NodeMetrics;
  readonly readiness: () => ReadinessChecks | Promise<ReadinessChecks>;
  /**
   * Time a client has to send a complete request; also bounds a readiness check. A client that
   * drips its headers slowly is answered 408 and disconnected.
   */
  readonly requestTimeoutMs: number;
  readonly logger: Logger;
  /** Called before each /metrics render: refresh gauges and counters read from other layers. */
  readonly beforeRender?: () => void;
  /**
   * Read-only JSON answers for paths under `/v1/` (undefined: 404). They show node data
   * (replicated values, peers, the data path): give it only when `observability.expose_data`
   * opts in. Without it every `/v1/` path answers 404 with {@link EXPOSE_DATA_HINT}.
   */
  readonly introspect?: (path: string) => { status: number; body: unknown } | undefined;
}

export interface ObservabilityServer {
  /** The bound address (the real port when 0 was asked for). */
  readonly address: SocketAddress;
  /** `http://host:port` */
  readonly url: string;
  /** Stops listening and closes every open connection. */
  close(): Promise<void>;
}

/**
 * Open sockets at most; Prometheus and a probe or two need a handful. At the cap a new connection
 * closes the oldest one that has no request being answered (an idle or slow client), so a flood
 * of idle sockets can never lock the liveness and readiness probes out.
 */
export const OBSERVABILITY_MAX_CONNECTIONS = 256;

const PATHS = ["/metrics", "/health", "/ready"] as const;
/** The data paths served when `observability.expose_data` opts in. */
const DATA_PATHS = ["/v1/node", "/v1/crdt/<family>/<key>"] as const;

/** Told with every 404 of a node that does not serve its data over HTTP. */
export const EXPOSE_DATA_HINT =
  "/v1/node and /v1/crdt/<family>/<key> show node data and are off: set [observability] expose_data = true (--observability-expose-data, NX_OBSERVABILITY_EXPOSE_DATA) to serve them, unauthenticated";
type EndpointPath = (typeof PATHS)[number];

const isEndpointPath = (path: string): path is EndpointPath => (PATHS as readonly string[]).includes(path);

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = `${JSON.stringify(body)}\n`;
  response.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...headers,
  });
  response.end(text);
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Keeps at most OBSERVABILITY_MAX_CONNECTIONS sockets open: a new one at the cap closes the
 * oldest socket with no request being answered. Refusing the newcomer instead, as
 * `server.maxConnections` does, would let anyone who opens 256 idle sockets fail every probe.
 * (Idle sockets do not last: the headers timeout answers a socket that sent nothing 408 too.)
 */
function admitConnections(server: Server, onEvict: () => void): void {
  // Insertion order is age order: the first idle entry is the oldest idle socket.
  const requestsInFlight = new Map<Socket, number>();
  server.on("connection", (socket: Socket) => {
    if (requestsInFlight.size >= OBSERVABILITY_MAX_CONNECTIONS) {
      let victim = socket;
      for (const [open, inFlight] of requestsInFlight) {
        if (inFlight === 0) {
          victim = open;
          break;
        }
      }
      onEvict();
      // Forgotten now, not on its "close" event: the next newcomer must not pick it again.
      requestsInFlight.delete(victim);
      victim.destroy();
      if (victim === socket) return;
    }
    requestsInFlight.set(socket, 0);
    socket.once("close", () => requestsInFlight.delete(socket));
  });
  server.on("request", (request: IncomingMessage, response: ServerResponse) => {
    const { socket } = request;
    const inFlight = requestsInFlight.get(socket);
    if (inFlight === undefined) return;
    requestsInFlight.set(socket, inFlight + 1);
    response.once("close", () => {
      const now = requestsInFlight.get(socket);
      if (now !== undefined) requestsInFlight.set(socket, now - 1);
    });
  });
}

/**
 * Serves GET /metrics (Prometheus text), /health (`{"status":"ok"}` while the process runs) and
 * /ready (200 when every readiness check passes, else 503 naming the failed ones). Unknown paths
 * answer 404, other methods than GET and HEAD 405. Every request and error is counted in
 * `numax_observability_requests_total` / `numax_observability_errors_total`.
 * Opt-in: the node calls this only when `observability.listen` is configured.
 */
export async function startObservabilityServer(
  options: ObservabilityServerOptions,
): Promise<ObservabilityServer> {
  const { metrics, requestTimeoutMs } = options;
  // node:http reads 0 as "no timeout": refuse it rather than serve without one.
  if (!Number.isInteger(requestTimeoutMs) || requestTimeoutMs <= 0) {
    throw new RangeError(`requestTimeoutMs must be a positive integer, got ${requestTimeoutMs}`);
  }
  const logger = options.logger.child("observability");
  const listen =
    typeof options.listen === "string"
      ? parseSocketAddress(options.listen, { allowPortZero: true })
      : options.listen;

  const countError = (kind: string): void => metrics.observabilityErrors.inc({ kind });

  const answer = async (path: EndpointPath, response: ServerResponse): Promise<void> => {
    if (path === "/health") {
      const { status, body } = healthAnswer();
      sendJson(response, status, body);
      return;
    }
    if (path === "/ready") {
      const checks = await withTimeout(
        Promise.resolve(options.readiness()),
        requestTimeoutMs,
        "the readiness check",
      );
      const { status, body } = readinessAnswer(checks);
      sendJson(response, status, body);
      return;
    }
    options.beforeRender?.();
    const body = await metrics.render();
    response.writeHead(200, {
      "content-type": metrics.contentType,
      "content-length": Buffer.byteLength(body),
      "cache-control": "no-store",
    });
    response.end(body);
  };

  const { introspect } = options;
  const paths: readonly string[] = introspect === undefined ? PATHS : [...PATHS, ...DATA_PATHS];
  const notFound = (path: string) => ({
    error: `no such path ${path}`,
    paths,
    ...(introspect === undefined ? { hint: EXPOSE_DATA_HINT } : {}),
  });

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = (request.url ?? "/").split("?", 1)[0];
    if (path.startsWith("/v1/") && introspect !== undefined && request.method === "GET") {
      metrics.observabilityRequests.inc({ path: "/v1" });
      const answer = introspect(path);
      if (answer === undefined) countError("not_found");
      sendJson(response, answer?.status ?? 404, answer?.body ?? notFound(path));
      return;
    }
    metrics.observabilityRequests.inc({ path: isEndpointPath(path) ? path : "other" });
    if (!isEndpointPath(path)) {
      countError("not_found");
      sendJson(response, 404, notFound(path));
      return;
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      countError("method_not_allowed");
      sendJson(response, 405, { error: `${request.method} is not allowed; use GET` }, { allow: "GET, HEAD" });
      return;
    }
    try {
      await answer(path, response);
    } catch (error) {
      countError("internal");
      logger.warn("request failed", { path, error });
      if (path === "/ready") sendJson(response, 503, { status: "not_ready", error: describeError(error) });
      else if (!response.headersSent) sendJson(response, 500, { error: describeError(error) });
      else response.destroy();
    }
  };

  const server = createServer(
    {
      requestTimeout: requestTimeoutMs,
      headersTimeout: requestTimeoutMs,
      keepAliveTimeout: Math.min(5000, requestTimeoutMs),
      // Node checks the two timeouts above on this period (30 s by default): keep it well
      // under the timeout so a slow client is cut close to requestTimeoutMs.
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(requestTimeoutMs / 4))),
    },
    (request, response) => void handle(request, response),
  );
  admitConnections(server, () => countError("evicted"));
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => {
    const timedOut = error.code === "ERR_HTTP_REQUEST_TIMEOUT";
    if (error.code !== "ECONNRESET") countError(timedOut ? "timeout" : "bad_request");
    if (socket.writable) {
      socket.end(
        timedOut
          ? "HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"
          : "HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
      );
    }
    socket.destroySoon();
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const where = formatSocketAddress(listen);
      const why = error.code === "EADDRINUSE" ? "the address is in use" : (error.code ?? error.message);
      reject(
        new NumaxError(
          "OBSERVABILITY_LISTEN_FAILED",
          `cannot open the observability endpoint on ${where}: ${why} (set observability.listen or --observability-listen to a free address)`,
          { cause: error },
        ),
      );
    };
    server.once("error", onError);
    server.listen(listen.port, listen.host, () => {
      server.off("error", onError);
      resolve();
    });
  });
  server.on("error", (error) => logger.error("server error", { error }));

  const bound = server.address();
  if (bound === null || typeof bound === "string") throw new Error("an HTTP server on TCP has an address");
  const address = { host: listen.host, port: bound.port };
  const url = `http://${formatSocketAddress(address)}`;
  logger.info("listening", { url, paths: paths.join(",") });

  let closing: Promise<void> | undefined;
  return {
    address,
    url,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
