/**
 * Serving metrics on /metrics of a real node (`nx run http_hello --serve` with
 * `--observability-listen`): requests by listener, route and status class, handler durations,
 * and the gauges of open event streams and WebSockets moving as clients come and go.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { WebSocket } from "ws";
import { examplePath, type NxProcess, pollUntil, startNx, stopNx, tempDir } from "../helpers/nx-process.ts";

const dir = tempDir("nx-serve-metrics-");
let nx: NxProcess;
let served: string;
let listener: string;
let observed: string;

before(async () => {
  nx = startNx([
    "run",
    examplePath("http_hello"),
    "--serve",
    "127.0.0.1:0",
    "--observability-listen",
    "127.0.0.1:0",
    "--datastore-path",
    join(dir.path, "data"),
  ]);
  listener = (await nx.waitFor(/serving HTTP url=http:\/\/(127\.0\.0\.1:\d+)/))[1]!;
  served = `http://${listener}`;
  observed = (await nx.waitFor(/observability: listening url=(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
});

after(async () => {
  const exit = await stopNx(nx);
  dir.remove();
  assert.equal(exit.code, 0, nx.stderr());
});

async function scrape(): Promise<string> {
  const res = await fetch(`${observed}/metrics`, { signal: AbortSignal.timeout(10_000) });
  return res.text();
}

function sample(exposition: string, series: string): number | undefined {
  const line = exposition.split("\n").find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test("requests by listener, route and status class; handler durations", async () => {
  for (const path of ["/hello/a", "/hello/b", "/nope", "/boom"]) {
    await (await fetch(`${served}${path}`, { signal: AbortSignal.timeout(10_000) })).text();
  }
  const text = await scrape();
  const requests = (route: string, status: string) =>
    sample(text, `numax_http_requests_total{listener="${listener}",route="${route}",status="${status}"}`);
  assert.equal(requests("GET /hello/:name", "2xx"), 2);
  assert.equal(requests("GET /hello/:name", "5xx"), 0);
  assert.equal(requests("unmatched", "4xx"), 1);
  assert.equal(requests("GET /boom", "5xx"), 1);
  assert.equal(
    sample(text, `numax_http_handler_seconds_count{listener="${listener}",route="GET /hello/:name"}`),
    2,
  );
  assert.equal(
    sample(text, `numax_http_handler_seconds_bucket{le="+Inf",listener="${listener}",route="GET /boom"}`),
    1,
  );
});

async function gauge(name: string, value: number): Promise<void> {
  const seen = await pollUntil(
    async () => sample(await scrape(), name),
    (current) => current === value,
    10_000,
  );
  assert.equal(seen, value, name);
}

test("open event streams and WebSockets are gauges that come back to 0 when clients leave", async () => {
  await gauge("numax_http_sse_streams", 0);
  const stream = new AbortController();
  const events = await fetch(`${served}/events`, { signal: stream.signal });
  const reader = events.body!.getReader();
  await reader.read();
  await gauge("numax_http_sse_streams", 1);
  stream.abort();
  await reader.closed.catch(() => {});
  await gauge("numax_http_sse_streams", 0);

  const socket = new WebSocket(`ws://${listener}/ws/echo`, { handshakeTimeout: 10_000 });
  await new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  await gauge("numax_http_websockets", 1);
  socket.close();
  await gauge("numax_http_websockets", 0);
});
