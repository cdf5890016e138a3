import { randomBytes } from "node:crypto";
import { type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import { formatSocketAddress, type SocketAddress } from "../config/socket-address.ts";
import type { Logger } from "../observe/logger.ts";
import type { ClientTopics } from "./forwarded-topics.ts";
import { GuestRequest, type GuestResponse, type OpenSseStream } from "./guest-request.ts";
import type { HandlerRun } from "./handler-processes.ts";
import { RELEASE_AT_ONCE, type ReleaseOutput } from "./release-output.ts";
import type { Route, RouteTable } from "./route-table.ts";
import { ServeError } from "./serve-error.ts";
import { SERVE_RETRY_AFTER_SECONDS, type ServeLimits } from "./serve-limits.ts";
import { type ServeMetrics, UNMATCHED_ROUTE } from "./serve-metrics.ts";
import { settlesWithin } from "./settles-within.ts";
import { SseStream } from "./sse-stream.ts";
import { serveStaticFile } from "./static-files.ts";
import { writeAtTurnEnd } from "./turn-writes.ts";
import { WS_CLOSE_ANSWER_MS_MAX, WS_FRAME_BYTES_MAX, WsConnection } from "./ws-connection.ts";

/** Runs a route's handler for one request: see HandlerProcesses.run. */
export type RunHandler = (
  route: Route,
  request: GuestRequest,
  started?: (deliver: (payload: Uint8Array) => number) => void,
) => HandlerRun;

export interface ServeListenerOptions {
  readonly listen: SocketAddress;
  /** PEM certificate chain and key: HTTPS. */
  readonly tls?: { readonly cert: string; readonly key: string };
  readonly routes: RouteTable;
  readonly limits: ServeLimits;
  readonly runHandler: RunHandler;
  /**
   * The quotas of a route's module (`requests_per_sec`, `connections_max`): how to say the
   * request ended when admitted, or undefined when refused (429). Absent: no quotas.
   */
  readonly admit?: (route: Route) => (() => void) | undefined;
  /** What `sse_forward` and `ws_forward` subscribe to; absent: they answer -3. */
  readonly topics?: ClientTopics;
  /** Requests, handler durations, open streams and WebSockets, for the bound address; absent: not counted. */
  readonly metrics?: (listener: string) => ServeMetrics;
  /**
   * Holds what a handler sends (its response, stream events, WebSocket frames) until the writes
   * the node made before it are durable: the node's output gate (docs/storage.md). Absent: sent at once.
   */
  readonly release?: ReleaseOutput;
  readonly logger: Logger;
}

export interface ServeListener {
  /** The bound address (the real port when 0 was asked). */
  readonly address: SocketAddress;
  readonly url: string;
  /** Requests from now on are matched against `routes` (the modules changed while running). */
  replaceRoutes(routes: RouteTable): void;
  /**
   * Stops taking connections (idle keep-alive ones close), ends the event streams, closes the
   * WebSockets with 1001 and stops the handlers still running; waits up to `replyWaitMs` for what
   * the output gate still holds (replies, streams' heads and ends, frames before a close: their
   * handlers' writes are not on disk yet), then answers the replies and streams whose head is still
   * held with 503, closes the WebSockets still waiting with 1001 at once (their held frames are
   * never sent) and closes every connection. From its call on, a request (on a connection still
   * open) or an upgrade gets 503 and runs no handler. Closing again waits for the first close.
   */
  close(replyWaitMs: number): Promise<void>;
  /** TCP connections open now (an HTTPS one from before its handshake too). */
  readonly openConnections: number;
  /** Destroys every connection still open: a close that overran its time ends without them. */
  dropConnections(): void;
}

const TEXT_PLAIN = "text/plain; charset=utf-8";
const EMPTY_BODY = new Uint8Array(0);
/** Bodies up to this size leave with the response head in one write; larger ones as a second chunk. */
const SINGLE_WRITE_BODY_BYTES_MAX = 16 * 1024;
/** Longest gap between two checks of the header and request timeouts. */
const CONNECTIONS_CHECK_MS_MAX = 1_000;

/**
 * One `[[serve]]` listener: node:http (or node:https) in front of a route table. Every request
 * that matches a route runs its handler in a fresh process (`runHandler`); the response the
 * handler built is sent once it returns. The protections are node's own where it has them
 * (431 for a head over `maxHeaderBytes`, 408 for a request not received within
 * `requestTimeoutMs`, idle keep-alive connections closed) and this file's otherwise: 413 for
 * a body over `maxBodyBytes` (before the handler runs), 503 with `Retry-After` past
 * `maxConcurrentRequests` or `maxConnections` (never a queue), 503 when a handler outruns the
 * request timeout (its process is killed), 500 with a request id for a handler that trapped,
 * aborted or ran out of CPU (the log line carries the same id; the client never sees why).
 * A handler that calls `sse_start` turns its response into an event stream (sse-stream.ts):
 * it leaves the request count and timeout for `maxSseStreams` (503 past it), and lives until it
 * returns or the client goes away (its process is then killed). A request to a WS route with
 * `Upgrade: websocket` becomes a WebSocket (ws-connection.ts; elsewhere the upgrade gets 404 or
 * 405 with `Allow`, and a plain GET of a WS route 426) whose handler process lives as
 * long as the connection: `maxWebSockets` of them at once (503 past it), frames in as messages,
 * closed with 1011 when the process fails and the process killed when the client closes.
 * A static mount's files (static-files.ts) are answered here, counted as requests.
 */
export async function startServeListener(options: ServeListenerOptions): Promise<ServeListener> {
  const { limits, logger } = options;
  let routes = options.routes;
  const release = options.release ?? RELEASE_AT_ONCE;
  /** Set once bound (its label is the real address): no request comes before. */
  let metrics: ServeMetrics | undefined;
  const serverOptions = {
    maxHeaderSize: limits.maxHeaderBytes,
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: Math.min(limits.requestTimeoutMs, 60_000),
    keepAliveTimeout: limits.idleTimeoutMs,
    // Node checks the two timeouts above only this often (30 s by default): a short timeout
    // would otherwise hold a slow client's connection up to 30 s longer than it says.
    connectionsCheckingInterval: Math.min(CONNECTIONS_CHECK_MS_MAX, limits.requestTimeoutMs / 2),
  };
  const server: Server =
    options.tls === undefined
      ? (await import("node:http")).createServer(serverOptions)
      : (await import("node:https")).createServer({
          ...serverOptions,
          cert: options.tls.cert,
          key: options.tls.key,
        });
  const idPrefix = randomBytes(4).toString("hex");
  let requestCount = 0;
  let inFlight = 0;
  let connections = 0;
  let sseStreams = 0;
  let webSockets = 0;
  /** The event streams open now: closing the listener ends them before it closes connections. */
  const streams = new Set<SseStream>();
  /** The WebSockets open now: closing the listener closes them with 1001. */
  const webSocketConnections = new Set<WsConnection>();
  /** How to stop the handlers that run now: closing the listener stops them. */
  const running = new Set<(reason: string) => void>();
  /** Replies held at the output gate (their writes are not durable yet): closing waits for them. */
  const held = new Set<ServerResponse>();
  /** Called when `held` empties while closing waits for it. */
  let heldReleased: (() => void) | undefined;
  /**
   * Set by close(). node:http keeps serving a connection that had a request in flight when the
   * server closed: its next request would run a handler while the node stops (and its reply, held
   * after the wait for held replies, would be cut off unanswered).
   */
  let closing = false;
  /** What the first close() does; a second one waits for it. */
  let closed: Promise<void> | undefined;
  /** Metric labels by route, made once rather than per request. */
  const routeLabels = new Map(routes.routes.map((route) => [route, `${route.method} ${route.path}`]));
  const webSocketServer = new WebSocketServer({ noServer: true, maxPayload: WS_FRAME_BYTES_MAX });

  server.on(options.tls === undefined ? "connection" : "secureConnection", (socket: Socket) => {
    connections++;
    socket.once("close", () => connections--);
  });
  /**
   * Every TCP connection open now, whatever the server made of it: closing destroys those still
   * open once it has answered what it could (an HTTPS one still in its TLS handshake is not yet
   * the HTTP server's, and would keep a closing listener open until TLS gives up on it, 120 s),
   * and a close that overran its time drops them (dropConnections).
   */
  const tcpConnections = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    tcpConnections.add(socket);
    socket.once("close", () => tcpConnections.delete(socket));
  });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Its id (`<prefix>-<number in base 36>`) is written out only if it fails.
    const requestNumber = ++requestCount;
    let routeLabel = UNMATCHED_ROUTE;
    const counting = metrics;
    // `finish` comes once: `on` spares the wrapper `once` makes per request.
    if (counting !== undefined) res.on("finish", () => counting.answered(routeLabel, res.statusCode));
    if (closing) return shuttingDown(res);
    if (connections > limits.maxConnections) {
      res.shouldKeepAlive = false;
      return unavailable(res, "too many connections");
    }
    if (inFlight >= limits.maxConcurrentRequests) return unavailable(res, "too many requests");
    const { rawPath, query } = splitTarget(req.url);
    const match = routes.match(req.method ?? "", rawPath);
    if (match.kind === "not-found") return plain(res, 404, "not found\n");
    if (match.kind === "method-not-allowed") {
      res.setHeader("Allow", match.allow.join(", "));
      return plain(res, 405, "method not allowed\n");
    }
    if (match.kind === "upgrade-required") {
      res.setHeader("Upgrade", "websocket");
      res.setHeader("Connection", "Upgrade");
      return plain(res, 426, "upgrade required: this path serves a WebSocket\n");
    }
    if (metrics !== undefined) {
      routeLabel =
        match.kind === "static" ? `${req.method} ${match.mount.path}` : routeLabels.get(match.route)!;
    }
    inFlight++;
    /** Until its handler starts an event stream, the request counts against maxConcurrentRequests. */
    let countedAsRequest = true;
    try {
      if (match.kind === "static") {
        return await serveStaticFile(
          res,
          req.method ?? "GET",
          match.mount.directory,
          match.tail,
          (status, body) => plain(res, status, body),
        );
      }
      const read = readBody(req, limits.maxBodyBytes);
      const body = read instanceof Uint8Array ? read : await read;
      if (body === undefined) {
        res.shouldKeepAlive = false;
        return plain(res, 413, `request body larger than ${limits.maxBodyBytes} bytes\n`);
      }
      if (closing) return shuttingDown(res);
      let run: HandlerRun | undefined;
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        run?.stop(`stopped after the request timeout of ${limits.requestTimeoutMs} ms`);
      }, limits.requestTimeoutMs);
      const openStream: OpenSseStream = (head) => {
        if (sseStreams >= limits.maxSseStreams) return undefined;
        sseStreams++;
        metrics?.sseStreams(1);
        clearTimeout(timer);
        inFlight--;
        countedAsRequest = false;
        const stream = new SseStream(res, head, options.topics, release, () =>
          run?.stop("the client closed the event stream"),
        );
        streams.add(stream);
        return stream;
      };
      const request = new GuestRequest({
        method: req.method ?? "GET",
        rawPath,
        query,
        headers: req.headers,
        params: match.params,
        body,
        openStream,
      });
      const admitted = options.admit === undefined ? NOTHING_TO_END : options.admit(match.route);
      if (admitted === undefined) {
        clearTimeout(timer);
        return tooManyRequests(res, match.route.moduleId);
      }
      const startedAt = performance.now();
      run = options.runHandler(match.route, request);
      const { stop } = run;
      running.add(stop);
      const outcome = await run.outcome;
      clearTimeout(timer);
      running.delete(stop);
      admitted();
      const response = request.close();
      const stream = request.stream;
      if (stream === undefined) metrics?.handlerSeconds(routeLabel, (performance.now() - startedAt) / 1000);
      else {
        sseStreams--;
        metrics?.sseStreams(-1);
        // Kept until its end is written: a node stopping meanwhile waits for it as for a reply.
        void stream.end().then(() => streams.delete(stream));
        // A stream's process is stopped when its client goes away or the node stops: that is its end.
        if (outcome.ok || outcome.stopped) return;
      }
      if (request.streamRefused) return unavailable(res, "too many event streams");
      const { route } = match;
      // A reply acknowledges the handler's writes: it leaves once they are on disk, at the turn's end.
      if (outcome.ok) return reply(res, response, route, requestNumber);
      const requestId = requestIdOf(requestNumber);
      logger.warn("request handler failed", {
        requestId,
        module: route.moduleId,
        handler: route.handler,
        kind: outcome.kind,
        failure: outcome.failure,
      });
      // The head of a stream is sent: the failure ends it, the log line says why.
      if (stream !== undefined) return;
      if (outcome.stopped && timedOut) return unavailable(res, "handler timed out");
      // Stopped by the node's stop, perhaps after writes that will be saved: to be tried again.
      if (outcome.stopped && closing) return shuttingDown(res);
      return plain(res, 500, `internal error (request ${requestId})\n`);
    } finally {
      if (countedAsRequest) inFlight--;
    }
  };

  /** Sends `response` once the writes before it are durable (at the turn's end), held in `held` until then. */
  const reply = (res: ServerResponse, response: GuestResponse, route: Route, requestNumber: number): void => {
    let atGate = false;
    let emitted = false;
    release(() => {
      emitted = true;
      if (atGate) {
        // Not held any more: the node stopped and answered it unsaved meanwhile.
        if (!held.delete(res)) return;
        if (held.size === 0) heldReleased?.();
      }
      writeAtTurnEnd(
        () => send(res, response),
        (error) => unwritten(res, route, requestNumber, error),
      );
    });
    if (emitted) return;
    atGate = true;
    held.add(res);
  };

  const requestIdOf = (requestNumber: number): string => `${idPrefix}-${requestNumber.toString(36)}`;

  /** A response that threw as it was written: the client gets a 500 (or, past its head, a reset), the log says why. */
  const unwritten = (res: ServerResponse, route: Route, requestNumber: number, error: unknown): void => {
    const requestId = requestIdOf(requestNumber);
    logger.error("response could not be written", {
      requestId,
      module: route.moduleId,
      handler: route.handler,
      error: String(error),
    });
    if (res.headersSent) return void res.destroy();
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    plain(res, 500, `internal error (request ${requestId})\n`);
  };

  /** One WebSocket: its handler runs until the connection closes (or the handler returns, closing it). */
  const serveWebSocket = async (
    route: Route,
    request: GuestRequest,
    connection: WsConnection,
    socket: WebSocket,
  ): Promise<void> => {
    const { outcome, stop } = options.runHandler(route, request, (deliver) =>
      connection.receiveInto(deliver),
    );
    socket.once("close", () => stop("the client closed the WebSocket"));
    running.add(stop);
    const result = await outcome.finally(() => running.delete(stop));
    request.close();
    const failed = !result.ok && !result.stopped;
    connection.end(failed);
    if (failed) {
      logger.warn("WebSocket handler failed", {
        module: route.moduleId,
        handler: route.handler,
        kind: result.kind,
        failure: result.failure,
      });
    }
  };

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => socket.destroy());
    if (closing) return refuseUpgrade(socket, 503, "the node is shutting down");
    if (connections > limits.maxConnections) return refuseUpgrade(socket, 503, "too many connections");
    const { rawPath, query } = splitTarget(req.url);
    // Only a WebSocket route takes an upgrade: elsewhere 404, or 405 with the methods the path answers.
    const match = routes.matchWebSocket(req.method ?? "", rawPath);
    if (match.kind === "method-not-allowed") {
      return refuseUpgrade(socket, 405, "method not allowed: no WebSocket route for this path", {
        Allow: match.allow.join(", "),
      });
    }
    if (match.kind !== "found") return refuseUpgrade(socket, 404, "not found");
    if (webSockets >= limits.maxWebSockets) return refuseUpgrade(socket, 503, "too many WebSockets");
    // Counted from the handshake to the end of its process (or of a failed handshake's socket).
    webSockets++;
    metrics?.webSockets(1);
    let counted = true;
    const uncount = (): void => {
      if (counted) {
        webSockets--;
        metrics?.webSockets(-1);
      }
      counted = false;
    };
    let upgraded = false;
    socket.once("close", () => {
      if (!upgraded) uncount();
    });
    const admitted = options.admit === undefined ? NOTHING_TO_END : options.admit(match.route);
    if (admitted === undefined) {
      return refuseUpgrade(
        socket,
        429,
        `too many requests: module ${match.route.moduleId} is over its request quota`,
        { "Retry-After": String(SERVE_RETRY_AFTER_SECONDS) },
      );
    }
    socket.once("close", admitted);
    webSocketServer.handleUpgrade(req, socket, head, (ws) => {
      upgraded = true;
      const connection = new WsConnection(ws, options.topics, release, (error) =>
        logger.error("WebSocket frame could not be written: connection dropped", {
          module: match.route.moduleId,
          handler: match.route.handler,
          error: String(error),
        }),
      );
      webSocketConnections.add(connection);
      ws.once("close", () => webSocketConnections.delete(connection));
      const request = new GuestRequest({
        method: req.method ?? "GET",
        rawPath,
        query,
        headers: req.headers,
        params: match.params,
        body: EMPTY_BODY,
        websocket: connection,
      });
      serveWebSocket(match.route, request, connection, ws)
        .catch((error: unknown) => {
          logger.error("WebSocket failed in the server", { error: String(error) });
          ws.terminate();
        })
        .finally(uncount);
    });
  });

  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error: unknown) => {
      logger.error("request failed in the server", { error: String(error) });
      if (!res.headersSent) plain(res, 500, "internal error\n");
      else res.destroy();
    });
  });

  const bound = await new Promise<SocketAddress>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const where = formatSocketAddress(options.listen);
      const why = error.code === "EADDRINUSE" ? "the address is in use" : (error.code ?? error.message);
      reject(
        new ServeError(
          "SERVE_LISTEN_FAILED",
          `cannot serve HTTP on ${where}: ${why} (choose another [[serve]] listen address or --serve address)`,
          { cause: error },
        ),
      );
    };
    server.once("error", onError);
    server.listen(options.listen.port, options.listen.host, () => {
      server.off("error", onError);
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : options.listen.port;
      resolve({ host: options.listen.host, port });
    });
  });
  metrics = options.metrics?.(formatSocketAddress(bound));
  const url = `${options.tls === undefined ? "http" : "https"}://${formatSocketAddress(bound)}`;
  logger.info("serving HTTP", { url, routes: routes.routes.length });
  return {
    address: bound,
    url,
    replaceRoutes: (table) => {
      routes = table;
    },
    close: (replyWaitMs) => {
      closed ??= closeListener(replyWaitMs);
      return closed;
    },
    get openConnections() {
      return tcpConnections.size;
    },
    dropConnections: () => {
      for (const socket of tcpConnections) socket.destroy();
    },
  };

  async function closeListener(replyWaitMs: number): Promise<void> {
    closing = true;
    // No new connection from now on (idle ones close); those with a request in flight stay.
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Streams end and WebSockets close first, behind what the gate holds for them (their clients
    // see an end or a 1001, not a reset), then their handlers stop.
    const open = [...streams];
    const ended = open.map((stream) => stream.endAtShutdown());
    const sockets = [...webSocketConnections];
    const goneAway = sockets.map((connection) => connection.goAway());
    if (sockets.length > 0) {
      logger.info("closing WebSockets with 1001 after the frames sent before", {
        webSockets: sockets.length,
        waitMsMax: replyWaitMs,
      });
    }
    for (const stop of running) stop("the node is shutting down");
    if (held.size > 0) {
      // Each waits for its commit: cut now, its client would never know if its write was done.
      logger.info("waiting for replies until their writes are on disk", {
        replies: held.size,
        waitMsMax: replyWaitMs,
      });
    }
    const repliesReleased = new Promise<void>((resolve) => {
      heldReleased = resolve;
      if (held.size === 0) resolve();
    });
    await settlesWithin(Promise.all([...ended, ...goneAway, repliesReleased]), replyWaitMs);
    heldReleased = undefined;
    const stalled = open.filter((stream) => stream.stalled).length;
    if (stalled > 0) {
      logger.info("event streams cut: their clients were not reading what was sent", { streams: stalled });
    }
    if (held.size > 0) {
      logger.warn(
        "replies answered 503: the node stopped before their writes were on disk (the store may still save them as it closes)",
        { replies: held.size },
      );
    }
    for (const res of held) {
      res.shouldKeepAlive = false;
      unavailable(res, "the node stopped before this request's writes were on disk");
    }
    held.clear();
    // A stream whose head the gate still holds has told its client nothing: it is answered as a reply is.
    for (const stream of open) {
      if (stream.headSent) continue;
      stream.cut((res) => {
        for (const name of res.getHeaderNames()) res.removeHeader(name);
        res.shouldKeepAlive = false;
        unavailable(res, "the node stopped before this stream's writes were on disk");
      });
    }
    for (const connection of sockets) connection.goAwayNow();
    // What handlers that returned answered is written at the end of the turn (turn-writes.ts):
    // written before the connections close, not cut off by them.
    await new Promise<void>((resolve) => writeAtTurnEnd(resolve, () => resolve()));
    server.closeAllConnections();
    // An upgraded socket keeps the server open until it closes: a client that never answers the
    // 1001 is dropped rather than waited for.
    await settlesWithin(Promise.all(sockets.map((connection) => connection.closed)), WS_CLOSE_ANSWER_MS_MAX);
    for (const connection of sockets) connection.drop();
    for (const socket of tcpConnections) socket.destroy();
    await serverClosed;
  }
}

/**
 * The whole body, or undefined as soon as it passes `maxBytes`: the rest is read and dropped
 * (not kept), so the 413 reaches a client still sending rather than a reset connection.
 */
function readBody(req: IncomingMessage, maxBytes: number): Promise<Uint8Array | undefined> | Uint8Array {
  // A request with neither Content-Length nor Transfer-Encoding has no body (RFC 9112, 6.3): most
  // GETs, answered without waiting for the stream's end (`complete` is not set yet at `request`).
  const headers = req.headers;
  if (headers["content-length"] === undefined && headers["transfer-encoding"] === undefined) {
    return EMPTY_BODY;
  }
  if (req.complete && req.readableLength === 0) return EMPTY_BODY;
  const declared = Number(headers["content-length"] ?? 0);
  if (declared > maxBytes) {
    req.resume();
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      req.off("data", onData);
      req.off("end", onEnd);
      req.resume();
      resolve(undefined);
    };
    const onEnd = (): void => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("error", reject);
  });
}

function send(res: ServerResponse, response: GuestResponse): void {
  res.statusCode = response.status;
  for (const [name, value] of response.headers) res.appendHeader(name, value);
  const parts = response.body;
  const body = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  if (body.length > SINGLE_WRITE_BODY_BYTES_MAX) return void res.end(body);
  // As latin1 text (one char per byte, the bytes unchanged), node:http writes the head and the
  // body with one write; a Buffer goes out as a second chunk of a writev.
  res.end(Buffer.from(body.buffer, body.byteOffset, body.length).toString("latin1"), "latin1");
}

const NOTHING_TO_END = (): void => {};

/** 429 with `Retry-After`: the route's module is over its `requests_per_sec` or `connections_max`. */
function tooManyRequests(res: ServerResponse, moduleId: string): void {
  res.setHeader("Retry-After", String(SERVE_RETRY_AFTER_SECONDS));
  plain(res, 429, `too many requests: module ${moduleId} is over its request quota\n`);
}

function plain(res: ServerResponse, status: number, body: string): void {
  res.statusCode = status;
  res.setHeader("Content-Type", TEXT_PLAIN);
  res.end(body);
}

/** An upgrade refused before the handshake: a plain HTTP answer on the raw socket, then closed. */
function refuseUpgrade(
  socket: Duplex,
  status: number,
  why: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  const body = `${status === 503 ? "service unavailable: " : ""}${why}\n`;
  const all: Record<string, string> = { ...headers };
  if (status === 503) all["Retry-After"] = String(SERVE_RETRY_AFTER_SECONDS);
  const extra = Object.entries(all)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("");
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${TEXT_PLAIN}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`,
  );
}

/** 503 to a request that came, or whose body was complete, after the node began to stop; the connection closes. */
function shuttingDown(res: ServerResponse): void {
  res.shouldKeepAlive = false;
  unavailable(res, "the node is shutting down");
}

function unavailable(res: ServerResponse, why: string): void {
  res.setHeader("Retry-After", String(SERVE_RETRY_AFTER_SECONDS));
  plain(res, 503, `service unavailable: ${why}\n`);
}

/** A request target's path (as sent, still percent-encoded) and its query without the `?`. */
function splitTarget(url: string | undefined): { rawPath: string; query: string } {
  const target = url ?? "/";
  const queryAt = target.indexOf("?");
  return queryAt < 0
    ? { rawPath: target, query: "" }
    : { rawPath: target.slice(0, queryAt), query: target.slice(queryAt + 1) };
}
