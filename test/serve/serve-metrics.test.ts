/**
 * Serving metrics on /metrics of a real node (`nx run http_hello --serve` with
 * `--observability-listen`): requests by listener, route and status class, handler durations,
 * and the gauges of open event streams and WebSockets moving as clients come and go.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { WebSocket } from "ws";
import { helloServeNode } from "../helpers/hello-serve-node.ts";
import { pollUntil } from "../helpers/nx-process.ts";

const node = helloServeNode("nx-serve-metrics-");

async function scrape(): Promise<string> {
  const res = await fetch(`${node.observed}/metrics`, { signal: AbortSignal.timeout(10_000) });
  return res.text();
}

function sample(exposition: string, series: string): number | undefined {
  const line = exposition.split("\n").find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test("requests by listener, route and status class; handler durations", async () => {
  for (const path of ["/hello/a", "/hello/b", "/nope", "/boom"]) {
    await (await fetch(`${node.served}${path}`, { signal: AbortSignal.timeout(10_000) })).text();
  }
  const text = await scrape();
  const requests = (route: string, status: string) =>
    sample(
      text,
      `numax_http_requests_total{listener="${node.listener}",route="${route}",status="${status}"}`,
    );
  assert.equal(requests("GET /hello/:name", "2xx"), 2);
  assert.equal(requests("GET /hello/:name", "5xx"), 0);
  assert.equal(requests("unmatched", "4xx"), 1);
  assert.equal(requests("GET /boom", "5xx"), 1);
  assert.equal(
    sample(text, `numax_http_handler_seconds_count{listener="${node.listener}",route="GET /hello/:name"}`),
    2,
  );
  assert.equal(
    sample(
      text,
      `numax_http_handler_seconds_bucket{le="+Inf",listener="${node.listener}",route="GET /boom"}`,
    ),
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
  const events = await fetch(`${node.served}/events`, { signal: stream.signal });
  const reader = events.body!.getReader();
  await reader.read();
  await gauge("numax_http_sse_streams", 1);
  stream.abort();
  await reader.closed.catch(() => {});
  await gauge("numax_http_sse_streams", 0);

  const socket = new WebSocket(`ws://${node.listener}/ws/echo`, { handshakeTimeout: 10_000 });
  await new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  await gauge("numax_http_websockets", 1);
  socket.close();
  await gauge("numax_http_websockets", 0);
});
