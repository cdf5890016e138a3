import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { formatSocketAddress, type SocketAddress } from "../config/socket-address.ts";
import { describeError } from "../errors/numax-error.ts";
import type { BearerTokens } from "../management/bearer-tokens.ts";
import {
  createHttpEndpointServer,
  type HttpEndpointTls,
  listenHttpEndpoint,
} from "../net/listen-http-endpoint.ts";
import { readRequestBody } from "../net/read-request-body.ts";
import type { RuntimeIntrospection } from "../node/node-introspection.ts";
import type { Logger } from "../observe/logger.ts";
import type { DashboardAsset } from "./dashboard-assets.ts";
import {
  DASHBOARD_SESSION_COOKIE,
  DASHBOARD_SESSION_TTL_MS,
  DashboardSessions,
  sessionIdOf,
} from "./dashboard-sessions.ts";
import {
  DASHBOARD_CSS,
  DASHBOARD_VIEWS,
  type DashboardView,
  dashboardPage,
  loginPage,
} from "./dashboard-views.ts";
import type { Html } from "./html.ts";

/** How often an open view's event stream renders it again (and sends it when it changed), in ms. */
export const DASHBOARD_REFRESH_MS = 1000;

/** Event streams open at once: a handful of browser tabs; past it a new one is refused (503). */
export const DASHBOARD_STREAMS_MAX = 32;

/** Open connections at most (pages, assets, streams). */
export const DASHBOARD_CONNECTIONS_MAX = 64;

/** Largest login form body: a token is 43 characters. */
export const DASHBOARD_FORM_BYTES_MAX = 4096;

/** Time a client has to send a whole request, in ms (streams, once answered, stay open). */
export const DASHBOARD_REQUEST_TIMEOUT_MS = 10_000;

export interface DashboardServerOptions {
  readonly listen: SocketAddress;
  /** The default address: busy, the dashboard takes a free port of its host instead of failing. */
  readonly listenIsDefault: boolean;
  readonly tls: HttpEndpointTls | undefined;
  /** The management API's tokens: either one opens the (read-only) dashboard. */
  readonly tokens: BearerTokens;
  readonly introspection: RuntimeIntrospection;
  readonly assets: ReadonlyMap<string, DashboardAsset>;
  readonly logger: Logger;
}

export interface DashboardServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Headers of every page: nothing outside the dashboard's own origin runs, frames it, or learns its URLs (same-origin, not no-referrer: with no-referrer a form's Origin is "null"). */
const PAGE_HEADERS = {
  "content-security-policy":
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "cache-control": "no-store",
};

function send(
  response: ServerResponse,
  status: number,
  contentType: string,
  body: string | Buffer,
  headers = {},
): void {
  response.writeHead(status, {
    ...PAGE_HEADERS,
    "content-type": contentType,
    "content-length": Buffer.byteLength(body),
    ...headers,
  });
  response.end(body);
}

const sendHtml = (response: ServerResponse, status: number, page: Html, headers = {}): void =>
  send(response, status, "text/html; charset=utf-8", page.text, headers);

const redirect = (response: ServerResponse, location: string, headers = {}): void => {
  response.writeHead(303, { ...PAGE_HEADERS, location, "content-length": 0, ...headers });
  response.end();
};

/** The login form, or undefined when it is over DASHBOARD_FORM_BYTES_MAX. */
async function readForm(request: IncomingMessage): Promise<URLSearchParams | undefined> {
  const body = await readRequestBody(request, DASHBOARD_FORM_BYTES_MAX);
  return body === undefined ? undefined : new URLSearchParams(Buffer.from(body).toString("utf8"));
}

/** One SSE event carrying `body` as the `view` event (one `data:` line per line of markup). */
function sseEvent(body: string): string {
  return `event: view\n${body
    .split("\n")
    .map((line) => `data: ${line}`)
    .join("\n")}\n\n`;
}

/**
 * Serves the dashboard (docs/dashboard.md): the views of DASHBOARD_VIEWS rendered on the server
 * from the node's RuntimeIntrospection, each with an event stream (`/events/<view>`) that sends
 * the view again when it changes; the vendored scripts and stylesheet under `/assets/`. Every page
 * and stream needs a management token, as `Authorization: Bearer` or through the login form's
 * session cookie. It only reads: its one POSTs are logging in and out.
 */
export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const { listen, tokens, introspection, assets, logger } = options;
  const sessions = new DashboardSessions();
  const secure = options.tls !== undefined;
  const streams = new Set<ServerResponse>();
  const views = new Map<string, DashboardView>(DASHBOARD_VIEWS.map((view) => [view.name, view]));

  const authorized = (request: IncomingMessage): boolean =>
    tokens.access(request.headers.authorization) !== undefined ||
    sessions.valid(sessionIdOf(request.headers.cookie), Date.now());

  /** A form posted from another origin (a page elsewhere submitting to the dashboard) is refused. */
  const sameOrigin = (request: IncomingMessage): boolean => {
    const origin = request.headers.origin;
    return origin === undefined || origin === `${secure ? "https" : "http"}://${request.headers.host}`;
  };

  const cookie = (value: string, maxAgeSeconds: number): string =>
    `${DASHBOARD_SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? "; Secure" : ""}`;

  const login = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (!sameOrigin(request)) {
      sendHtml(response, 403, loginPage("this form was posted from another site"));
      return;
    }
    const form = await readForm(request);
    if (form === undefined) {
      // Over the bound: nothing is answered, the connection is closed (docs/LIMITS.md).
      request.destroy();
      return;
    }
    const token = form.get("token")?.trim() ?? "";
    if (tokens.access(`Bearer ${token}`) === undefined) {
      sendHtml(response, 401, loginPage("that is not this node's admin or read-only token"));
      return;
    }
    const id = randomBytes(32).toString("base64url");
    sessions.open(id, Date.now());
    redirect(response, "/", { "set-cookie": cookie(id, DASHBOARD_SESSION_TTL_MS / 1000) });
  };

  const stream = (
    request: IncomingMessage,
    response: ServerResponse,
    view: DashboardView,
    query: URLSearchParams,
  ) => {
    if (streams.size >= DASHBOARD_STREAMS_MAX) {
      send(
        response,
        503,
        "text/plain; charset=utf-8",
        `at most ${DASHBOARD_STREAMS_MAX} live views at once\n`,
        {
          "retry-after": "5",
        },
      );
      return;
    }
    response.writeHead(200, {
      ...PAGE_HEADERS,
      "content-type": "text/event-stream; charset=utf-8",
      connection: "keep-alive",
    });
    streams.add(response);
    let last = "";
    const tick = (): void => {
      let body: string;
      try {
        body = view.render(introspection, query).text;
      } catch (error) {
        logger.warn("view failed", { view: view.name, error: describeError(error) });
        return;
      }
      if (body === last) return;
      last = body;
      response.write(sseEvent(body));
    };
    tick();
    const timer = setInterval(tick, DASHBOARD_REFRESH_MS);
    const end = (): void => {
      clearInterval(timer);
      streams.delete(response);
    };
    request.once("close", end);
    response.once("close", end);
  };

  const answer = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? "/", "http://dashboard");
    const path = url.pathname;
    const method = request.method ?? "GET";
    if (path.startsWith("/assets/") && (method === "GET" || method === "HEAD")) {
      const name = path.slice("/assets/".length);
      if (name === "dashboard.css") {
        send(response, 200, "text/css; charset=utf-8", DASHBOARD_CSS);
        return;
      }
      const asset = assets.get(name);
      if (asset === undefined) send(response, 404, "text/plain; charset=utf-8", "no such asset\n");
      else send(response, 200, asset.contentType, asset.body, { "cache-control": "public, max-age=3600" });
      return;
    }
    if (path === "/login") {
      if (method === "POST") await login(request, response);
      else sendHtml(response, 200, loginPage(undefined));
      return;
    }
    if (path === "/logout" && method === "POST") {
      if (sameOrigin(request)) sessions.close(sessionIdOf(request.headers.cookie));
      redirect(response, "/login", { "set-cookie": cookie("", 0) });
      return;
    }
    if (method !== "GET" && method !== "HEAD") {
      send(response, 405, "text/plain; charset=utf-8", "the dashboard only reads: GET\n", {
        allow: "GET, HEAD",
      });
      return;
    }
    const eventView = /^\/events\/([a-z]+)$/.exec(path)?.[1];
    if (!authorized(request)) {
      if (eventView !== undefined) {
        send(response, 401, "text/plain; charset=utf-8", "log in first\n", {
          "www-authenticate": 'Bearer realm="numax"',
        });
      } else {
        redirect(response, "/login");
      }
      return;
    }
    if (path === "/") {
      redirect(response, `/${DASHBOARD_VIEWS[0]!.name}`);
      return;
    }
    if (eventView !== undefined) {
      const view = views.get(eventView);
      if (view === undefined) send(response, 404, "text/plain; charset=utf-8", "no such view\n");
      else stream(request, response, view, url.searchParams);
      return;
    }
    const view = views.get(path.slice(1));
    if (view === undefined) {
      send(response, 404, "text/plain; charset=utf-8", `no such page ${path}\n`);
      return;
    }
    sendHtml(
      response,
      200,
      dashboardPage(view, view.render(introspection, url.searchParams), url.searchParams),
    );
  };

  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    answer(request, response).catch((error: unknown) => {
      logger.warn("request failed", { path: request.url, error: describeError(error) });
      if (response.headersSent) response.destroy();
      else send(response, 500, "text/plain; charset=utf-8", "the dashboard failed (see the node's log)\n");
    });
  };

  const server = await createHttpEndpointServer(
    options.tls,
    { requestTimeoutMs: DASHBOARD_REQUEST_TIMEOUT_MS, connectionsMax: DASHBOARD_CONNECTIONS_MAX },
    handle,
  );

  const address = await listenHttpEndpoint(server, listen, {
    name: "the dashboard",
    setting: "[dashboard] listen or --dashboard-listen",
    failureCode: "DASHBOARD_LISTEN_FAILED",
    listenIsDefault: options.listenIsDefault,
    logger,
  });
  const url = `${secure ? "https" : "http"}://${formatSocketAddress(address)}`;
  let closing: Promise<void> | undefined;
  return {
    url,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        for (const response of streams) response.end();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
