/**
 * `nx run examples/http_hello/build/http_hello.wasm --serve 127.0.0.1:0` as a user runs it, with
 * real HTTP requests to the real listener: the example's default routes, route parameters,
 * 404/405/413/431, a trapping and a looping handler (500 with a request id that the log line
 * carries) that do not affect concurrent requests.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, test } from "node:test";
import { examplePath, type NxProcess, startNx, stopNx, tempDir } from "../helpers/nx-process.ts";

let nx: NxProcess;
let base: string;
const datastore = tempDir("nx-serve-");

before(async () => {
  nx = startNx(
    ["run", examplePath("http_hello"), "--serve", "127.0.0.1:0", "--datastore-path", datastore.path],
    {},
  );
  base = (await nx.waitFor(/serving HTTP url=(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
});

after(async () => {
  const exit = await stopNx(nx);
  datastore.remove();
  assert.equal(exit.code, 0, nx.stderr());
});

const get = (path: string, init?: RequestInit) =>
  fetch(`${base}${path}`, { signal: AbortSignal.timeout(10_000), ...init });

test("GET /hello/:name answers 200 text/plain hello <name>, the parameter percent-decoded", async () => {
  const response = await get("/hello/ada");
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/plain; charset=utf-8");
  assert.equal(await response.text(), "hello ada");
  assert.equal(await (await get("/hello/ada%20lovelace")).text(), "hello ada lovelace");
});

test("POST /echo answers the request body", async () => {
  const body = new Uint8Array(300_000).map((_, i) => i % 251);
  const response = await get("/echo", { method: "POST", body });
  assert.equal(response.status, 200);
  assert.deepEqual(new Uint8Array(await response.arrayBuffer()), body);
});

test("no route is 404; a route of another method is 405 with Allow", async () => {
  assert.equal((await get("/nope")).status, 404);
  const response = await get("/echo");
  assert.equal(response.status, 405);
  assert.equal(response.headers.get("allow"), "POST");
});

/** One raw request (node:http, not fetch: a client that keeps sending after the answer). */
function rawRequest(
  path: string,
  options: { method: string; headers?: Record<string, string>; body?: Uint8Array },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      { method: options.method, headers: options.headers, timeout: 10_000 },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode!, body: text }));
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

test("a body over the default 1 MiB is 413 before the handler runs; a head over 16 KiB is 431", async () => {
  const declared = await rawRequest("/echo", { method: "POST", body: new Uint8Array(1024 * 1024 + 1) });
  assert.equal(declared.status, 413);
  assert.match(declared.body, /larger than 1048576 bytes/);
  const chunked = await rawRequest("/echo", {
    method: "POST",
    headers: { "transfer-encoding": "chunked" },
    body: new Uint8Array(2 * 1024 * 1024),
  });
  assert.equal(chunked.status, 413);
  const big = await rawRequest("/hello/x", { method: "GET", headers: { "x-big": "a".repeat(20_000) } });
  assert.equal(big.status, 431);
});

test("a trapping handler gets 500 with a request id the log line carries, never a stack", async () => {
  const response = await get("/boom");
  assert.equal(response.status, 500);
  const text = await response.text();
  const id = /^internal error \(request ([0-9a-f]+-[0-9a-z]+)\)\n$/.exec(text)?.[1];
  assert.ok(id !== undefined, text);
  const line = (await nx.waitFor(new RegExp(`request handler failed requestId=${id} .*`)))[0];
  assert.match(line, /module=http_hello handler=boom kind=unreachable/);
});

test("a looping handler is stopped by its CPU budget (500) while other requests are served", async () => {
  const spin = get("/spin");
  const others = await Promise.all(Array.from({ length: 20 }, (_, i) => get(`/hello/n${i}`)));
  for (const [i, response] of others.entries()) {
    assert.equal(response.status, 200);
    assert.equal(await response.text(), `hello n${i}`);
  }
  const spun = await spin;
  assert.equal(spun.status, 500);
  assert.match(await spun.text(), /internal error \(request /);
  await nx.waitFor(/handler=spin kind=cpu_budget/);
  // The instance that looped is gone; the next requests get fresh ones.
  assert.equal(await (await get("/hello/after")).text(), "hello after");
});
