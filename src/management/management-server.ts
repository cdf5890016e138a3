import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { formatSocketAddress, type SocketAddress } from "../config/socket-address.ts";
import { describeError } from "../errors/numax-error.ts";
import {
  createHttpEndpointServer,
  type HttpEndpointTls,
  listenHttpEndpoint,
} from "../net/listen-http-endpoint.ts";
import { readRequestBody } from "../net/read-request-body.ts";
import type { Logger } from "../observe/logger.ts";
import type { BearerTokens } from "./bearer-tokens.ts";
import { errorBody, ManagementApiError, type ManagementErrorCode } from "./management-error.ts";
import type { ManagementContext, ManagementRoute, RouteAnswer, RouteMethod } from "./management-routes.ts";
import { matchRoutePath } from "./route-path.ts";

/** Every route lives under this prefix. */
export const MANAGEMENT_API_PREFIX = "/api/v1";

/**
 * Largest JSON request body (`POST /peers`, `POST /processes/:pid/kill`): those bodies are a few
 * dozen bytes; 64 KiB leaves room without letting a client make the node buffer much.
 */
export const MANAGEMENT_JSON_BODY_BYTES_MAX = 64 * 1024;

/**
 * Time a client has to send a whole request (headers and body), in ms. The largest body is a
 * module upload of a few MiB over loopback or a LAN: well under a second.
 */
export const MANAGEMENT_REQUEST_TIMEOUT_MS = 10_000;

/** Open connections at most: operators, the `nx` client and the dashboard need a handful. */
export const MANAGEMENT_CONNECTIONS_MAX = 64;

export interface ManagementServerOptions {
  readonly listen: SocketAddress;
  /** The address is the default one: busy, the API takes a free port of its host instead of failing. */
  readonly listenIsDefault: boolean;
  readonly tls: HttpEndpointTls | undefined;
  readonly tokens: BearerTokens;
  readonly routes: readonly ManagementRoute[];
  readonly context: ManagementContext;
  readonly logger: Logger;
}

export interface ManagementServer {
  readonly address: SocketAddress;
  /** `http(s)://host:port`. */
  readonly url: string;
  /** Stops listening and closes every open connection. */
  close(): Promise<void>;
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const text = body === undefined ? "" : `${JSON.stringify(body)}\n`;
  response.writeHead(status, {
    ...(body === undefined ? {} : { "content-type": "application/json; charset=utf-8" }),
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...headers,
  });
  response.end(text);
}

/** The body, refused past `limitBytes` (413) before more of it is buffered. */
async function readBody(request: IncomingMessage, limitBytes: number): Promise<Uint8Array> {
  const body = await readRequestBody(request, limitBytes);
  if (body === undefined) {
    throw new ManagementApiError("PAYLOAD_TOO_LARGE", `the request body is larger than ${limitBytes} bytes`);
  }
  return body;
}

/** Everything else the client sent wrong at the HTTP level: one JSON error, then the socket closes. */
function rawError(code: ManagementErrorCode, status: number, reason: string, message: string): string {
  const body = JSON.stringify(errorBody(code, message));
  return `HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/**
 * Serves the management API (docs/management-api.md): bearer tokens on every request (401
 * without a valid one, 403 for a read-only token on any method but GET and HEAD), the routes of
 * `options.routes`, JSON error bodies for every non-2xx answer. On a free port of its host when
 * the default address is busy (listen-http-endpoint.ts); any other failure to listen rejects
 * with a NumaxError coded MANAGEMENT_LISTEN_FAILED.
 */
export async function startManagementServer(options: ManagementServerOptions): Promise<ManagementServer> {
  const { listen, tokens, routes, context, logger } = options;

  const answer = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? "/", "http://management");
    const path = url.pathname;
    if (!path.startsWith(`${MANAGEMENT_API_PREFIX}/`)) {
      throw new ManagementApiError(
        "NOT_FOUND",
        `no such path ${path}: the API is under ${MANAGEMENT_API_PREFIX}/`,
      );
    }
    const access = tokens.access(request.headers.authorization);
    if (access === undefined) {
      throw new ManagementApiError(
        "UNAUTHORIZED",
        request.headers.authorization === undefined
          ? "send Authorization: Bearer <token> (the token is in the node's management token file)"
          : "the bearer token is not this node's",
        { headers: { "www-authenticate": 'Bearer realm="numax"' } },
      );
    }
    const routePath = path.slice(MANAGEMENT_API_PREFIX.length);
    const matching = routes.filter((route) => matchRoutePath(route.path, routePath) !== undefined);
    if (matching.length === 0) throw new ManagementApiError("NOT_FOUND", `no such path ${path}`);
    const method = request.method === "HEAD" ? "GET" : (request.method as RouteMethod);
    const route = matching.find((candidate) => candidate.method === method);
    if (route === undefined) {
      const allowed = [
        ...new Set(matching.flatMap(({ method }) => (method === "GET" ? ["GET", "HEAD"] : [method]))),
      ];
      throw new ManagementApiError("METHOD_NOT_ALLOWED", `${request.method} is not allowed on ${path}`, {
        headers: { allow: allowed.join(", ") },
      });
    }
    const params = matchRoutePath(route.path, routePath);
    if (params === null || params === undefined) {
      throw new ManagementApiError("BAD_REQUEST", `${path} is not valid URL encoding`);
    }
    if (route.method !== "GET" && access !== "admin") {
      throw new ManagementApiError(
        "FORBIDDEN_READ_ONLY",
        `${route.method} ${path} changes the node: it needs the admin token, not the read-only one`,
      );
    }
    const limit =
      route.method === "GET" ? 0 : (route.bodyBytesMax?.(context) ?? MANAGEMENT_JSON_BODY_BYTES_MAX);
    const body = await readBody(request, limit);
    const result: RouteAnswer = await route.handle(context, {
      params,
      query: url.searchParams,
      body,
      contentType: request.headers["content-type"],
    });
    sendJson(response, result.status, result.body);
  };

  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    answer(request, response).catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      // The rest of an unread body is not worth reading: the connection closes after the answer.
      const close: Record<string, string> = request.complete ? {} : { connection: "close" };
      if (error instanceof ManagementApiError) {
        sendJson(response, error.status, errorBody(error.code, error.message), {
          ...error.headers,
          ...close,
        });
        return;
      }
      logger.warn("request failed", {
        method: request.method,
        path: request.url,
        error: describeError(error),
      });
      sendJson(response, 500, errorBody("INTERNAL", describeError(error)), close);
    });
  };

  const server = await createHttpEndpointServer(
    options.tls,
    { requestTimeoutMs: MANAGEMENT_REQUEST_TIMEOUT_MS, connectionsMax: MANAGEMENT_CONNECTIONS_MAX },
    handle,
  );
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => {
    if (socket.writable) {
      socket.end(
        error.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? rawError(
              "REQUEST_TIMEOUT",
              408,
              "Request Timeout",
              `send the whole request within ${MANAGEMENT_REQUEST_TIMEOUT_MS} ms`,
            )
          : rawError("BAD_REQUEST", 400, "Bad Request", "malformed HTTP request"),
      );
    }
    socket.destroySoon();
  });

  const actual = await listenHttpEndpoint(server, listen, {
    name: "the management API",
    setting: "[management] listen or --management-listen",
    failureCode: "MANAGEMENT_LISTEN_FAILED",
    listenIsDefault: options.listenIsDefault,
    logger,
  });
  const url = `${options.tls === undefined ? "http" : "https"}://${formatSocketAddress(actual)}`;
  let closing: Promise<void> | undefined;
  return {
    address: actual,
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
