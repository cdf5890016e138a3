import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { connect, type Socket } from "node:net";
import { test } from "node:test";
import { createCertificateAuthority } from "../net/pki/certificate-authority.ts";
import { silentLogger } from "../observe/logger.ts";
import type { HandlerOutcome } from "./handler-processes.ts";
import { RouteTable } from "./route-table.ts";
import { SERVE_LIMITS_DEFAULT } from "./serve-limits.ts";
import { startServeListener } from "./serve-listener.ts";

/** A handler that runs until the listener stops it (`onRun` is told it started). */
function untilStopped(onRun: () => void = () => {}) {
  return () => {
    let stopped!: (reason: string) => void;
    const outcome = new Promise<HandlerOutcome>((resolve) => {
      stopped = (reason) => resolve({ ok: false, kind: "stopped", failure: reason, stopped: true });
    });
    onRun();
    return { outcome, stop: stopped };
  };
}

/** A listener with one WebSocket route, /ws, whose handlers run until stopped. */
function wsListener() {
  return startServeListener({
    listen: { host: "127.0.0.1", port: 0 },
    routes: new RouteTable([{ method: "WS", path: "/ws", moduleId: "app", handler: "ws" }]),
    limits: SERVE_LIMITS_DEFAULT,
    logger: silentLogger,
    runHandler: untilStopped(),
  });
}

/** A WebSocket upgrade request for /ws, as a client writes it. */
const WS_UPGRADE =
  "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

test("a response its handler finished before the listener closes is written before the connections close", async () => {
  let listener: Awaited<ReturnType<typeof startServeListener>> | undefined;
  let closed: Promise<void> | undefined;
  listener = await startServeListener({
    listen: { host: "127.0.0.1", port: 0 },
    routes: new RouteTable([{ method: "GET", path: "/done", moduleId: "app", handler: "done" }]),
    limits: SERVE_LIMITS_DEFAULT,
    logger: silentLogger,
    runHandler: (_route, request) => {
      request.write(new TextEncoder().encode("written"));
      // The node starts shutting down in the turn the handler returned in: its response is
      // deferred to the end of that turn (turn-writes.ts), and must not be cut off.
      const outcome = Promise.resolve({ ok: true } as const);
      closed = outcome.then(() => listener!.close(0));
      return { outcome, stop: () => {} };
    },
  });
  const { port } = listener.address;
  const answer = await get(port, "/done");
  await closed;
  assert.deepEqual(answer, { status: 200, body: "written" });
});

test("a response that throws as it is written fails alone: its client gets a 500, the turn's other responses go out", async () => {
  const routes = new RouteTable([
    { method: "GET", path: "/bad", moduleId: "app", handler: "bad" },
    { method: "GET", path: "/good", moduleId: "app", handler: "good" },
  ]);
  // Both handlers return in the same turn, so both responses are written in the same end-of-turn pass.
  let returnBoth!: () => void;
  const bothReturn = new Promise<{ ok: true }>((resolve) => {
    returnBoth = () => resolve({ ok: true });
  });
  let started = 0;
  const logged: string[] = [];
  const listener = await startServeListener({
    listen: { host: "127.0.0.1", port: 0 },
    routes,
    limits: SERVE_LIMITS_DEFAULT,
    logger: { ...silentLogger, error: (message) => void logged.push(message) },
    runHandler: (route, request) => {
      if (route.handler === "bad") {
        // A header value the handler's checks accept that throws when node:http reads it again:
        // the one way left to make a write throw (no guest can reach it).
        let reads = 0;
        const value = {
          toString: () => {
            if (reads++ > 0) throw new Error("unwritable header value");
            return "fine";
          },
        };
        assert.equal(request.setHeader("X-Value", value as unknown as string), 0);
      }
      request.write(new TextEncoder().encode(route.handler));
      if (++started === 2) returnBoth();
      return { outcome: bothReturn, stop: () => {} };
    },
  });
  try {
    const { port } = listener.address;
    const [bad, good] = await Promise.all(["/bad", "/good"].map((path) => get(port, path)));
    assert.deepEqual(good, { status: 200, body: "good" });
    assert.equal(bad instanceof Error ? bad.message : bad.status, 500);
    assert.match((bad as { body: string }).body, /^internal error \(request [0-9a-f]+-[0-9a-z]+\)\n$/);
    assert.deepEqual(logged, ["response could not be written"]);
  } finally {
    await listener.close(0);
  }
});

function get(port: number, path: string): Promise<{ status: number | undefined; body: string } | Error> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, agent: false, timeout: 10_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode, body }));
      res.on("error", resolve);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer to ${path} within 10 s`)));
    req.on("error", resolve);
    req.end();
  });
}

test("an event stream's head, like its events, leaves only once the output gate releases it", async () => {
  // The gate: closed until the test opens it (as while the handler's writes are not on disk).
  const held: (() => void)[] = [];
  let open = false;
  const release = (emit: () => void): void => {
    if (open) emit();
    else held.push(emit);
  };
  let streamStarted!: () => void;
  const started = new Promise<void>((resolve) => {
    streamStarted = resolve;
  });
  let endHandler!: () => void;
  const listener = await startServeListener({
    listen: { host: "127.0.0.1", port: 0 },
    routes: new RouteTable([{ method: "GET", path: "/events", moduleId: "app", handler: "events" }]),
    limits: SERVE_LIMITS_DEFAULT,
    logger: silentLogger,
    release,
    runHandler: (_route, request) => {
      assert.equal(request.setStatus(201), 0);
      assert.equal(request.sseStart(), 0);
      assert.equal(request.sseSend("", "one"), 0);
      streamStarted();
      return {
        outcome: new Promise((resolve) => {
          endHandler = () => resolve({ ok: true });
        }),
        stop: () => {},
      };
    },
  });
  try {
    const { port } = listener.address;
    let status: number | undefined;
    let body = "";
    let gotEvent!: () => void;
    const event = new Promise<void>((resolve) => {
      gotEvent = resolve;
    });
    const stream = httpRequest({ host: "127.0.0.1", port, path: "/events", agent: false }, (res) => {
      status = res.statusCode;
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
        if (body.includes("\n\n")) gotEvent();
      });
    });
    stream.on("error", () => {});
    stream.end();
    await started;
    // A whole round trip on another connection: a head written at sse_start would be read by now.
    assert.equal((await get(port, "/elsewhere")) instanceof Error, false);
    assert.equal(status, undefined, "no head while the gate holds it");
    open = true;
    for (const emit of held.splice(0)) emit();
    await event;
    assert.equal(status, 201);
    assert.equal(body, "data: one\n\n");
    endHandler();
  } finally {
    await listener.close(0);
  }
});

/** A raw connection to the listener: what a keep-alive client's next request on it gets. */
function rawConnection(port: number): { socket: Socket; until(pattern: RegExp): Promise<string> } {
  const socket = connect(port, "127.0.0.1");
  let received = "";
  let waiting: (() => void) | undefined;
  socket.setEncoding("latin1");
  socket.on("data", (chunk: string) => {
    received += chunk;
    waiting?.();
  });
  socket.on("close", () => waiting?.());
  socket.on("error", () => {});
  return {
    socket,
    until: (pattern) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`nothing matched ${pattern} within 5 s: ${JSON.stringify(received)}`)),
          5_000,
        );
        const check = (): void => {
          if (pattern.test(received)) {
            clearTimeout(timer);
            resolve(received);
            return;
          }
          if (socket.destroyed) {
            clearTimeout(timer);
            reject(new Error(`connection closed before ${pattern}: ${JSON.stringify(received)}`));
          }
        };
        waiting = check;
        check();
      }),
  };
}

test("while the listener waits for held replies, no handler runs: a request or upgrade on a connection kept alive, or one whose body was arriving, gets 503", async () => {
  // The output gate: it holds every reply until the test releases it.
  const held: (() => void)[] = [];
  const ran: string[] = [];
  let threeHeld!: () => void;
  const heldThree = new Promise<void>((resolve) => {
    threeHeld = resolve;
  });
  const listener = await startServeListener({
    listen: { host: "127.0.0.1", port: 0 },
    routes: new RouteTable([
      { method: "GET", path: "/a", moduleId: "app", handler: "a" },
      { method: "GET", path: "/b", moduleId: "app", handler: "b" },
      { method: "WS", path: "/ws", moduleId: "app", handler: "ws" },
      { method: "POST", path: "/up", moduleId: "app", handler: "up" },
    ]),
    limits: SERVE_LIMITS_DEFAULT,
    logger: silentLogger,
    release: (emit) => {
      held.push(emit);
      if (held.length === 3) threeHeld();
    },
    runHandler: (route, request) => {
      ran.push(route.handler);
      request.write(new TextEncoder().encode(route.handler));
      return { outcome: Promise.resolve({ ok: true } as const), stop: () => {} };
    },
  });
  const { port } = listener.address;
  const first = rawConnection(port);
  const second = rawConnection(port);
  const third = rawConnection(port);
  const uploading = rawConnection(port);
  let closed: Promise<void> | undefined;
  try {
    first.socket.write("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    second.socket.write("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    third.socket.write("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    await heldThree;
    // A body still arriving when the node stops.
    uploading.socket.write("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab");
    await new Promise((resolve) => setTimeout(resolve, 100));
    // The node stops with three replies held; two are released (their writes are on disk), the
    // third keeps the listener waiting, and the first two connections stay open (keep-alive).
    closed = listener.close(30_000);
    uploading.socket.write("cd");
    held[0]!();
    held[1]!();
    await Promise.all([first.until(/\r\n\r\na$/), second.until(/\r\n\r\na$/)]);
    assert.deepEqual(ran, ["a", "a", "a"]);
    first.socket.write("GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
    second.socket.write(WS_UPGRADE);
    const [b, ws, up] = await Promise.all([
      first.until(/a(HTTP\/1\.1 \d+[\s\S]*\r\n\r\n[\s\S]*\n$)/),
      second.until(/a(HTTP\/1\.1 \d+[\s\S]*\r\n\r\n[\s\S]*\n$)/),
      uploading.until(/HTTP\/1\.1 \d+[\s\S]*\r\n\r\n[\s\S]*\n$/),
    ]);
    assert.match(
      b,
      /aHTTP\/1\.1 503 [\s\S]*Retry-After: 1\r\n[\s\S]*service unavailable: the node is shutting down\n$/,
    );
    assert.match(ws, /aHTTP\/1\.1 503 [\s\S]*service unavailable: the node is shutting down\n$/);
    assert.match(up, /^HTTP\/1\.1 503 [\s\S]*service unavailable: the node is shutting down\n$/);
    assert.deepEqual(ran, ["a", "a", "a"], "no handler runs once the node stops");
  } finally {
    for (const emit of held.splice(0)) emit();
    first.socket.destroy();
    second.socket.destroy();
    third.socket.destroy();
    uploading.socket.destroy();
    await (closed ?? listener.close(0));
  }
});

test("a handler still running when the node stops is stopped, and its client gets 503 with Retry-After, not 500", async () => {
  let handlerRunning!: () => void;
  const running = new Promise<void>((resolve) => {
    handlerRunning = resolve;
  });
  const listener = await startServeListener({
    listen: { host: "127.0.0.1", port: 0 },
    routes: new RouteTable([{ method: "PUT", path: "/slow", moduleId: "app", handler: "slow" }]),
    limits: SERVE_LIMITS_DEFAULT,
    logger: silentLogger,
    runHandler: untilStopped(handlerRunning),
  });
  const connection = rawConnection(listener.address.port);
  try {
    connection.socket.write("PUT /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    await running;
    const closed = listener.close(0);
    // Its writes may have been made: the client is told to try again, not that the server failed.
    const answer = await connection.until(/\r\n\r\n[\s\S]*\n$/);
    assert.match(
      answer,
      /^HTTP\/1\.1 503 [\s\S]*Retry-After: 1\r\n[\s\S]*service unavailable: the node is shutting down\n$/,
    );
    await closed;
  } finally {
    connection.socket.destroy();
  }
});

test("a WebSocket client that never answers the close does not hold the listener's close past its wait", async () => {
  const listener = await wsListener();
  // A client gone without a word (its network dropped): it reads, but never answers the close.
  const client = rawConnection(listener.address.port);
  try {
    client.socket.write(WS_UPGRADE);
    await client.until(/^HTTP\/1\.1 101 [\s\S]*\r\n\r\n/);
    const startedAt = performance.now();
    const closed = listener.close(200);
    // The close frame reaches the client: code 1001 (0x03e9), then its reason.
    const received = await client.until(/the node is shutting down$/);
    assert.ok(received.endsWith("\u0003\u00e9the node is shutting down"), JSON.stringify(received));
    await closed;
    const tookMs = performance.now() - startedAt;
    // `ws` waits 30 s for the client's close frame: the node's shutdown cannot.
    assert.ok(tookMs < 5_000, `the listener took ${Math.round(tookMs)} ms to close`);
  } finally {
    client.socket.destroy();
    await listener.close(0);
  }
});

test("a WebSocket client that never answers the close does not hold the drain: what the gate holds does", async () => {
  const listener = await wsListener();
  const client = rawConnection(listener.address.port);
  try {
    client.socket.write(WS_UPGRADE);
    await client.until(/^HTTP\/1\.1 101 [\s\S]*\r\n\r\n/);
    const startedAt = performance.now();
    // Nothing is held at the gate: its 1001 leaves at once, and the drain has nothing to wait for.
    await listener.close(20_000);
    const tookMs = performance.now() - startedAt;
    assert.ok(tookMs < 5_000, `the listener took ${Math.round(tookMs)} ms to close`);
  } finally {
    client.socket.destroy();
    await listener.close(0);
  }
});

test("an event stream whose client left while its end was held does not hold the listener's close", async () => {
  // The gate holds everything until the test releases it.
  const held: (() => void)[] = [];
  let handlerReturned!: () => void;
  const returned = new Promise<void>((resolve) => {
    handlerReturned = resolve;
  });
  const listener = await startServeListener({
    listen: { host: "127.0.0.1", port: 0 },
    routes: new RouteTable([{ method: "GET", path: "/events", moduleId: "app", handler: "events" }]),
    limits: SERVE_LIMITS_DEFAULT,
    logger: silentLogger,
    release: (emit) => void held.push(emit),
    runHandler: (_route, request) => {
      assert.equal(request.sseStart(), 0);
      const outcome = Promise.resolve({ ok: true } as const);
      void outcome.then(() => setImmediate(handlerReturned));
      return { outcome, stop: () => {} };
    },
  });
  const client = rawConnection(listener.address.port);
  let closed: Promise<void> | undefined;
  try {
    client.socket.write("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
    await returned;
    // The head and the end wait at the gate; the client goes away meanwhile.
    assert.equal(held.length, 2);
    const left = new Promise((resolve) => client.socket.once("close", resolve));
    client.socket.destroy();
    await left;
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (const emit of held.splice(0)) emit();
    const startedAt = performance.now();
    closed = listener.close(20_000);
    await closed;
    const tookMs = performance.now() - startedAt;
    assert.ok(tookMs < 5_000, `the listener took ${Math.round(tookMs)} ms to close`);
  } finally {
    client.socket.destroy();
    await (closed ?? listener.close(0));
  }
});

test("an HTTPS client that connects and never starts its TLS handshake does not hold the listener's close", async () => {
  const { certPem, keyPem } = await createCertificateAuthority({
    name: "serve-test",
    days: 1,
    now: new Date(),
  });
  const listener = await startServeListener({
    listen: { host: "127.0.0.1", port: 0 },
    routes: new RouteTable([{ method: "GET", path: "/a", moduleId: "app", handler: "a" }]),
    limits: SERVE_LIMITS_DEFAULT,
    logger: silentLogger,
    tls: { cert: certPem, key: keyPem },
    runHandler: () => ({ outcome: Promise.resolve({ ok: true } as const), stop: () => {} }),
  });
  // A TCP connection that says nothing (a port scan, a stalled client): TLS would wait 120 s for it.
  const silent = connect(listener.address.port, "127.0.0.1");
  silent.on("error", () => {});
  try {
    await new Promise((resolve) => silent.once("connect", resolve));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const startedAt = performance.now();
    await listener.close(20_000);
    const tookMs = performance.now() - startedAt;
    assert.ok(tookMs < 5_000, `the listener took ${Math.round(tookMs)} ms to close`);
  } finally {
    silent.destroy();
    await listener.close(0);
  }
});
