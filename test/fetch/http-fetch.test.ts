/**
 * `http_fetch` (docs/host-api.md, "Outbound HTTP") through the real wasm boundary and JSPI, against
 * a real node:http server on 127.0.0.1: the response handed over, the limits, the deny list
 * (no connection made), and a guest waiting on a slow server while another one runs.
 */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { monotonicMs } from "../../src/clock/monotonic-clock.ts";
import { createOutboundFetch, type OutboundFetchOptions } from "../../src/net/outbound-fetch.ts";
import { silentLogger } from "../../src/observe/logger.ts";
import { GuestInstance } from "../../src/wasm/guest-instance.ts";
import { loadGuestModuleBytes } from "../../src/wasm/load-guest-module.ts";
import { ModuleCache } from "../../src/wasm/module-cache.ts";
import { compileWat, type LogRecord, recordingLogger } from "../abi/harness.ts";
import { recordingEnvironment } from "../fixtures/wasm/guest-runtime.ts";

const FETCH_GUEST = `(module
  (import "nx" "http_fetch" (func $fetch (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "nx" "http_response_headers" (func $headers (param i32 i32) (result i32)))
  (import "nx" "http_response_body" (func $body (param i32 i32) (result i32)))
  (memory (export "memory") 4)
  (func (export "run"))
  (func $spin (param i32)
    (loop $again
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (br_if $again (i32.gt_s (local.get 0) (i32.const 0)))))
  ;; The 9th parameter: loop iterations after the call, so the CPU budget is checked after the wait.
  (func (export "fetch") (param i32 i32 i32 i32 i32 i32 i32 i32 i32)
    (i32.store (i32.const 0)
      (call $fetch (local.get 0) (local.get 1) (local.get 2) (local.get 3)
                   (local.get 4) (local.get 5) (local.get 6) (local.get 7)))
    (call $spin (local.get 8)))
  (func (export "headers") (param i32 i32) (result i32) (call $headers (local.get 0) (local.get 1)))
  (func (export "body") (param i32 i32) (result i32) (call $body (local.get 0) (local.get 1)))
  (func (export "spin") (param i32) (call $spin (local.get 0))))`;

const METHOD = 1024;
const URL_AT = 2048;
const HEADERS = 4096;
const BODY = 8192;
const OUT = 65536;
const OUT_CAP = 128 * 1024;

const cache = new ModuleCache({ directory: undefined, logger: silentLogger });
let guestBytes: Promise<Uint8Array> | undefined;

/** A guest whose `http_fetch` goes through an outbound fetch built from `options`. */
async function fetchGuest(options: Partial<OutboundFetchOptions> = {}, cpuMsPerRun?: number) {
  guestBytes ??= compileWat(FETCH_GUEST);
  const module = await loadGuestModuleBytes(await guestBytes, "fetcher.wasm", {
    memoryMaxBytes: 16 * 1024 * 1024,
    cache,
    logger: silentLogger,
  });
  const env = recordingEnvironment("fetcher");
  env.httpFetch = createOutboundFetch({
    moduleId: "fetcher",
    hosts: [],
    logger: silentLogger,
    nowMs: monotonicMs,
    ...options,
  });
  const guest = GuestInstance.create(module, { env, cpuMsPerRun });
  const bytes = () => new Uint8Array(guest.memory.buffer);
  const put = (at: number, value: string | Uint8Array): number => {
    const data = typeof value === "string" ? new TextEncoder().encode(value) : value;
    bytes().set(data, at);
    return data.length;
  };
  const call = (name: string, ...args: number[]) =>
    (guest.instance.exports[name] as (...a: number[]) => number)(...args);
  const read = (at: number, n: number) => new TextDecoder().decode(bytes().slice(at, at + n));
  /** Runs one http_fetch; answers its return code. */
  async function fetch(
    method: string,
    url: string,
    headers = "",
    body: string | Uint8Array = "",
    spinAfter = 0,
  ): Promise<number> {
    const args = [
      METHOD,
      put(METHOD, method),
      URL_AT,
      put(URL_AT, url),
      HEADERS,
      put(HEADERS, headers),
      BODY,
      put(BODY, body),
      spinAfter,
    ];
    const result = await guest.run("fetch", args);
    assert.ok(result.ok, result.ok ? "" : result.failure.message);
    return new DataView(guest.memory.buffer).getInt32(0, true);
  }
  const headers = (): string | number => {
    const n = call("headers", OUT, OUT_CAP);
    return n < 0 ? n : read(OUT, n);
  };
  const body = (): string | number => {
    const n = call("body", OUT, OUT_CAP);
    return n < 0 ? n : read(OUT, n);
  };
  return {
    guest,
    fetch,
    headers,
    body,
    call,
    put,
    run: (args: number[]) => guest.run("fetch", [...args, 0]),
  };
}

interface Seen {
  connections: number;
  requests: { method: string; url: string; headers: IncomingMessage["headers"]; body: string }[];
}

let server: Server;
let origin: string;
let host: string;
const seen: Seen = { connections: 0, requests: [] };
const slowResponses = new Set<ServerResponse>();

function handle(request: IncomingMessage, response: ServerResponse, body: string): void {
  seen.requests.push({ method: request.method!, url: request.url!, headers: request.headers, body });
  const path = request.url!;
  if (path === "/hello") {
    response.writeHead(201, { "content-type": "text/plain", "x-numax": "yes" }).end("hello guest");
  } else if (path === "/echo") {
    response.writeHead(200, { "x-seen": String(request.headers["x-token"]) }).end(body);
  } else if (path.startsWith("/bytes/")) {
    const size = Number(path.slice("/bytes/".length));
    // Chunked (no Content-Length): the limit must hold while the body streams in.
    response.writeHead(200, { "transfer-encoding": "chunked" });
    response.end("x".repeat(size));
  } else if (path === "/announced-too-large") {
    // Announces more than the limit and sends nothing: refused from Content-Length, not by waiting.
    response.writeHead(200, { "content-length": "5000" });
    response.flushHeaders();
    slowResponses.add(response);
  } else if (path === "/stalled-body") {
    response.writeHead(200, { "transfer-encoding": "chunked" });
    response.write("first part");
    slowResponses.add(response);
  } else if (path === "/redirect") {
    response.writeHead(302, { location: "http://denied.invalid/elsewhere" }).end();
  } else if (path === "/slow") {
    slowResponses.add(response);
  } else {
    response.writeHead(404).end();
  }
}

before(async () => {
  server = createServer((request, response) => {
    let body = "";
    request.setEncoding("latin1");
    request.on("data", (chunk: string) => {
      body += chunk;
    });
    request.on("end", () => handle(request, response, body));
  });
  server.on("connection", () => {
    seen.connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  origin = `http://${host}`;
});

after(async () => {
  for (const response of slowResponses) response.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe("http_fetch against an allowed host", () => {
  test("status, response headers and body are handed over", async () => {
    const g = await fetchGuest({ hosts: [host] });
    assert.equal(await g.fetch("GET", `${origin}/hello`), 201);
    const headers = g.headers() as string;
    assert.match(headers, /^content-type: text\/plain$/m);
    assert.match(headers, /^x-numax: yes$/m);
    assert.equal(g.body(), "hello guest");
  });

  test("method, request headers and body reach the server", async () => {
    const g = await fetchGuest({ hosts: [host] });
    assert.equal(
      await g.fetch("POST", `${origin}/echo`, "X-Token: abc\r\nContent-Type: text/plain\n", "ping"),
      200,
    );
    assert.equal(g.body(), "ping");
    assert.match(g.headers() as string, /^x-seen: abc$/m);
    const last = seen.requests.at(-1)!;
    assert.equal(last.method, "POST");
    assert.equal(last.headers["content-type"], "text/plain");
  });

  test("a too small buffer answers -2 with the size needed, and the response is still there", async () => {
    const g = await fetchGuest({ hosts: [host] });
    assert.equal(await g.fetch("GET", `${origin}/hello`), 201);
    assert.equal(g.call("body", OUT, 4), -2);
    assert.equal(new DataView(g.guest.memory.buffer).getUint32(OUT, true), "hello guest".length);
    assert.equal(g.body(), "hello guest");
  });

  test("a body over the response limit answers -8 and leaves no response", async () => {
    const g = await fetchGuest({ hosts: [host], responseBytesMax: 1000 });
    assert.equal(await g.fetch("GET", `${origin}/bytes/1000`), 200);
    assert.equal((g.body() as string).length, 1000);
    assert.equal(await g.fetch("GET", `${origin}/bytes/1001`), -8);
    assert.equal(g.body(), -1);
  });

  test("a Content-Length over the limit answers -8 at once, without waiting for the body", async () => {
    const g = await fetchGuest({ hosts: [host], responseBytesMax: 1000, totalTimeoutMs: 5000 });
    const started = monotonicMs();
    assert.equal(await g.fetch("GET", `${origin}/announced-too-large`), -8);
    assert.ok(monotonicMs() - started < 2000);
  });

  test("a body that stalls after the headers answers -7 at the total time limit", async () => {
    const g = await fetchGuest({ hosts: [host], totalTimeoutMs: 300 });
    const started = monotonicMs();
    assert.equal(await g.fetch("GET", `${origin}/stalled-body`), -7);
    assert.ok(monotonicMs() - started >= 290);
  });

  test("a pooled instance's next life does not see the previous life's response", async () => {
    const g = await fetchGuest({ hosts: [host] });
    assert.equal(await g.fetch("GET", `${origin}/hello`), 201);
    g.guest.rearmStart();
    assert.equal(g.body(), -1);
    assert.equal(g.headers(), -1);
  });

  test("a redirect is handed to the guest, not followed", async () => {
    const g = await fetchGuest({ hosts: [host] });
    const before = seen.requests.length;
    assert.equal(await g.fetch("GET", `${origin}/redirect`), 302);
    assert.match(g.headers() as string, /^location: http:\/\/denied\.invalid\/elsewhere$/m);
    assert.equal(seen.requests.length, before + 1);
  });

  test("a connection refused answers -7", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const g = await fetchGuest({ hosts: [`127.0.0.1:${port}`] });
    assert.equal(await g.fetch("GET", `http://127.0.0.1:${port}/`), -7);
  });

  test("a slow server times out (-7) while another guest runs, and the wait is not CPU time", async () => {
    // A CPU budget far below the wait: the governor is paused while the guest is suspended.
    const waiting = await fetchGuest({ hosts: [host], headersTimeoutMs: 600 }, 250);
    const other = await fetchGuest();
    const started = monotonicMs();
    const fetched = waiting.fetch("GET", `${origin}/slow`, "", "", 5_000_000);
    let otherRuns = 0;
    let settled = false;
    void fetched.finally(() => {
      settled = true;
    });
    while (!settled) {
      const result = await other.guest.run("spin", [10_000]);
      assert.ok(result.ok);
      otherRuns++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(await fetched, -7);
    assert.ok(monotonicMs() - started >= 590);
    assert.ok(otherRuns > 10, `the other guest ran ${otherRuns} times while the first waited`);
  });
});

describe("http_fetch denied", () => {
  test("a host not in the list answers -6 with no connection, and one log line names module and host", async () => {
    const logs: LogRecord[] = [];
    const g = await fetchGuest({ hosts: ["api.example.com", "127.0.0.1:1"], logger: recordingLogger(logs) });
    const connections = seen.connections;
    const requests = seen.requests.length;
    assert.equal(await g.fetch("GET", `${origin}/hello`), -6);
    assert.equal(await g.fetch("POST", `${origin}/echo`, "", "x"), -6);
    assert.equal(g.body(), -1);
    assert.equal(seen.connections, connections);
    assert.equal(seen.requests.length, requests);
    const denied = logs.filter((line) => line.message.includes("http_fetch denied"));
    assert.equal(denied.length, 1, JSON.stringify(logs));
    assert.deepEqual(
      { module: denied[0]!.fields?.module, host: denied[0]!.fields?.host },
      { module: "fetcher", host },
    );
  });

  test("the default port of a listed host does not allow another port", async () => {
    const g = await fetchGuest({ hosts: ["127.0.0.1"] });
    const connections = seen.connections;
    assert.equal(await g.fetch("GET", `${origin}/hello`), -6);
    assert.equal(seen.connections, connections);
  });

  test("a guest without an outbound fetch (no node) is denied", async () => {
    const g = await fetchGuest();
    assert.equal(await g.fetch("GET", `${origin}/hello`), -6);
  });
});

describe("http_fetch input validation", () => {
  test("invalid pointers, URLs, methods and header lines answer -3 without a request", async () => {
    const g = await fetchGuest({ hosts: [host] });
    const requests = seen.requests.length;
    const connections = seen.connections;
    const pages = 4 * 65536;
    const url = g.put(URL_AT, `${origin}/hello`);
    const valid = [METHOD, g.put(METHOD, "GET"), URL_AT, url, HEADERS, 0, BODY, 0];
    const cases: number[][] = [
      [METHOD, 3, pages - 2, url, HEADERS, 0, BODY, 0], // URL past the end of memory
      [METHOD, 3, URL_AT, url, -1, 4, BODY, 0], // header pointer negative
      [METHOD, 3, URL_AT, url, HEADERS, 0, BODY, 2 * 1024 * 1024], // body over the 1 MiB limit
      [METHOD, 3, URL_AT, 20_000, HEADERS, 0, BODY, 0], // URL over 8 KiB
      [METHOD, 0, URL_AT, url, HEADERS, 0, BODY, 0], // empty method
    ];
    for (const args of cases) {
      assert.ok((await g.run(args)).ok);
      assert.equal(new DataView(g.guest.memory.buffer).getInt32(0, true), -3, JSON.stringify(args));
    }
    assert.equal(await g.fetch("GET", `ftp://${host}/`), -3);
    assert.equal(await g.fetch("GET", "not a url"), -3);
    assert.equal(await g.fetch("BAD METHOD", `${origin}/hello`), -3);
    assert.equal(await g.fetch("GET", `${origin}/hello`, "no colon here"), -3);
    assert.equal(await g.fetch("GET", `${origin}/hello`, "", "a body on GET"), -3);
    assert.equal(seen.requests.length, requests);
    assert.equal(seen.connections, connections);
    assert.ok((await g.run(valid)).ok);
    assert.equal(new DataView(g.guest.memory.buffer).getInt32(0, true), 201);
  });

  test("reader output ranges are checked: -3 outside memory, -1 before any response", async () => {
    const g = await fetchGuest({ hosts: [host] });
    assert.equal(g.call("body", OUT, 16), -1);
    assert.equal(await g.fetch("GET", `${origin}/hello`), 201);
    assert.equal(g.call("body", 4 * 65536 - 4, 16), -3);
    assert.equal(g.call("headers", -1, 16), -3);
    assert.equal(g.call("body", OUT, 11 * 1024 * 1024), -3);
  });
});
