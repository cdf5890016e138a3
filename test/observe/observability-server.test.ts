import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { Agent, request } from "node:http";
import { connect, createServer as createTcpServer } from "node:net";
import { after, describe, test } from "node:test";
import { NumaxError } from "../../src/errors/numax-error.ts";
import { silentLogger } from "../../src/observe/logger.ts";
import { createNodeMetrics, type NodeMetrics } from "../../src/observe/metrics.ts";
import {
  type ObservabilityServer,
  type ReadinessChecks,
  startObservabilityServer,
} from "../../src/observe/observability-server.ts";

const CHECK_SCRIPT = new URL("../../scripts/check-observability.sh", import.meta.url).pathname;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(url: string, options: { method?: string; agent?: Agent } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? "GET", agent: options.agent, timeout: 10_000 },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`timeout on ${url}`)));
    req.on("error", reject);
    req.end();
  });
}

function sample(exposition: string, series: string): number {
  const line = exposition.split("\n").find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

const servers: ObservabilityServer[] = [];
after(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

async function start(
  readiness: () => ReadinessChecks | Promise<ReadinessChecks>,
  requestTimeoutMs = 2000,
): Promise<{ server: ObservabilityServer; metrics: NodeMetrics }> {
  const metrics = createNodeMetrics({ version: "0.0.0-test", processMetrics: false });
  const server = await startObservabilityServer({
    listen: "127.0.0.1:0",
    metrics,
    readiness,
    requestTimeoutMs,
    logger: silentLogger,
  });
  servers.push(server);
  return { server, metrics };
}

describe("observability endpoint", () => {
  test("/health, /ready, /metrics, 404, 405 and HEAD, each counted", async () => {
    let hydrated = false;
    const { server, metrics } = await start(() => ({ storeOpen: true, hydrated }));
    assert.equal(server.address.host, "127.0.0.1");
    assert.ok(server.address.port > 0);
    assert.equal(server.url, `http://127.0.0.1:${server.address.port}`);

    const health = await get(`${server.url}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(JSON.parse(health.body), { status: "ok" });
    assert.match(String(health.headers["content-type"]), /^application\/json/);

    const notReady = await get(`${server.url}/ready`);
    assert.equal(notReady.status, 503);
    assert.deepEqual(JSON.parse(notReady.body), {
      status: "not_ready",
      failed: ["hydrated"],
      checks: { storeOpen: true, hydrated: false },
    });
    hydrated = true;
    const ready = await get(`${server.url}/ready?verbose=1`);
    assert.equal(ready.status, 200);
    assert.deepEqual(JSON.parse(ready.body), {
      status: "ready",
      checks: { storeOpen: true, hydrated: true },
    });

    const missing = await get(`${server.url}/metrics/`);
    assert.equal(missing.status, 404);
    assert.deepEqual(JSON.parse(missing.body).paths, ["/metrics", "/health", "/ready"]);

    const post = await get(`${server.url}/metrics`, { method: "POST" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, "GET, HEAD");

    const head = await get(`${server.url}/health`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.body, "");

    const scrape = await get(`${server.url}/metrics`);
    assert.equal(scrape.status, 200);
    assert.match(String(scrape.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
    assert.equal(sample(scrape.body, 'numax_build_info{version="0.0.0-test"}'), 1);
    assert.equal(sample(scrape.body, 'numax_observability_requests_total{path="/health"}'), 2);
    assert.equal(sample(scrape.body, 'numax_observability_requests_total{path="/ready"}'), 2);
    assert.equal(sample(scrape.body, 'numax_observability_requests_total{path="other"}'), 1);
    assert.equal(sample(scrape.body, 'numax_observability_requests_total{path="/metrics"}'), 2);
    assert.equal(sample(scrape.body, 'numax_observability_errors_total{kind="not_found"}'), 1);
    assert.equal(sample(scrape.body, 'numax_observability_errors_total{kind="method_not_allowed"}'), 1);
    assert.equal(sample(await metrics.render(), 'numax_observability_requests_total{path="/metrics"}'), 2);
  });

  test("a failing or hanging readiness check answers 503 within the timeout", async () => {
    const { server: failing, metrics } = await start(() => {
      throw new Error("store handle lost");
    });
    const failed = await get(`${failing.url}/ready`);
    assert.equal(failed.status, 503);
    assert.deepEqual(JSON.parse(failed.body), { status: "not_ready", error: "Error: store handle lost" });
    assert.equal(sample(await metrics.render(), 'numax_observability_errors_total{kind="internal"}'), 1);

    const { server: hanging } = await start(() => new Promise<ReadinessChecks>(() => {}), 300);
    const started = performance.now();
    const slow = await get(`${hanging.url}/ready`);
    const elapsedMs = performance.now() - started;
    assert.equal(slow.status, 503);
    assert.match(JSON.parse(slow.body).error, /readiness check took longer than 300 ms/);
    assert.ok(elapsedMs >= 250 && elapsedMs < 5000, `answered after ${elapsedMs} ms`);
  });

  test("a client that drips its headers is cut after the request timeout", async () => {
    const timeoutMs = 400;
    const { server, metrics } = await start(() => ({}), timeoutMs);
    const started = performance.now();
    const outcome = await new Promise<{ response: string; elapsedMs: number }>((resolve, reject) => {
      const socket = connect(server.address.port, "127.0.0.1");
      let response = "";
      let drips = 0;
      const drip = setInterval(() => {
        // One header line every 100 ms, never the blank line that ends the headers.
        if (drips++ < 100 && socket.writable) socket.write(`x-slow-${drips}: 1\r\n`);
      }, 100);
      const guard = setTimeout(() => {
        clearInterval(drip);
        socket.destroy();
        reject(new Error("the server never cut the slow client"));
      }, 10_000);
      socket.on("connect", () => socket.write("GET /health HTTP/1.1\r\nhost: x\r\n"));
      socket.setEncoding("utf8");
      socket.on("data", (chunk: string) => {
        response += chunk;
      });
      socket.on("error", () => {});
      socket.on("close", () => {
        clearInterval(drip);
        clearTimeout(guard);
        resolve({ response, elapsedMs: performance.now() - started });
      });
    });
    assert.match(outcome.response, /^HTTP\/1\.1 408 /);
    assert.ok(outcome.elapsedMs >= timeoutMs - 50, `not before the timeout (${outcome.elapsedMs} ms)`);
    assert.ok(outcome.elapsedMs < timeoutMs + 2000, `close to the timeout (${outcome.elapsedMs} ms)`);
    assert.equal(sample(await metrics.render(), 'numax_observability_errors_total{kind="timeout"}'), 1);
  });

  test("answers 2000 requests at concurrency 20 while metrics are being updated", async () => {
    const { server, metrics } = await start(() => ({ storeOpen: true, hydrated: true, syncListening: true }));
    const agent = new Agent({ keepAlive: true, maxSockets: 20 });
    const writer = setInterval(() => {
      for (let i = 0; i < 200; i++) {
        metrics.opsApplied.inc({ family: "gcounter", origin: i % 2 === 0 ? "local" : "remote" });
        metrics.propagationLatencySeconds.observe(i / 10_000);
      }
      metrics.peersConnected.set(3);
    }, 1);
    const total = 2000;
    const paths = ["/metrics", "/health", "/ready", "/nope"];
    const statuses = new Map<number, number>();
    let next = 0;
    const started = performance.now();
    try {
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          while (next < total) {
            const path = paths[next++ % paths.length];
            const reply = await get(`${server.url}${path}`, { agent });
            statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
            if (path === "/metrics")
              assert.match(reply.body, /^numax_ops_applied_total\{family="gcounter",origin="local"\} \d+$/m);
          }
        }),
      );
    } finally {
      clearInterval(writer);
      agent.destroy();
    }
    const elapsedMs = performance.now() - started;
    assert.deepEqual(Object.fromEntries(statuses), { 200: 1500, 404: 500 });
    const exposition = await metrics.render();
    for (const path of ["/metrics", "/health", "/ready"]) {
      assert.equal(sample(exposition, `numax_observability_requests_total{path="${path}"}`), 500, path);
    }
    assert.equal(sample(exposition, 'numax_observability_errors_total{kind="not_found"}'), 500);
    assert.ok(elapsedMs < 60_000, `took ${elapsedMs} ms`);
  });

  test("close() ends keep-alive connections and frees the port", async () => {
    const { server } = await start(() => ({}));
    const agent = new Agent({ keepAlive: true });
    assert.equal((await get(`${server.url}/health`, { agent })).status, 200);
    await server.close();
    await server.close();
    await assert.rejects(get(`${server.url}/health`), /ECONNREFUSED/);
    agent.destroy();
  });

  test("an address in use is one clear NumaxError", async () => {
    const blocker = createTcpServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      await assert.rejects(
        startObservabilityServer({
          listen: { host: "127.0.0.1", port },
          metrics: createNodeMetrics({ version: "0", processMetrics: false }),
          readiness: () => ({}),
          requestTimeoutMs: 1000,
          logger: silentLogger,
        }),
        (error: unknown) => {
          assert.ok(error instanceof NumaxError);
          assert.equal(error.code, "OBSERVABILITY_LISTEN_FAILED");
          assert.equal(
            error.message,
            `cannot open the observability endpoint on 127.0.0.1:${port}: the address is in use (set observability.listen or --observability-listen to a free address)`,
          );
          return true;
        },
      );
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});

describe("scripts/check-observability.sh", () => {
  function check(url: string): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(
        "sh",
        [CHECK_SCRIPT, url],
        { timeout: 30_000, env: { ...process.env, CHECK_TIMEOUT_SECS: "5" } },
        (error, stdout, stderr) =>
          resolve({ code: error === null ? 0 : Number(error.code ?? -1), stdout, stderr }),
      );
    });
  }

  test("passes against a ready node, fails clearly when not ready or not there", async () => {
    let ready = true;
    const { server } = await start(() => ({ storeOpen: true, hydrated: ready }));
    const good = await check(server.url);
    assert.equal(good.code, 0, good.stderr);
    assert.match(
      good.stdout,
      /^ok {3}\/health\nok {3}\/ready\nok {3}\/metrics \(\d+ numax_ metrics\)\ncheck-observability: all checks passed/,
    );

    ready = false;
    const notReady = await check(`${server.url}/`);
    assert.equal(notReady.code, 1);
    assert.match(notReady.stderr, /FAIL \/ready answered 503 \(not ready\): .*"failed":\["hydrated"\]/);
    assert.match(notReady.stderr, /1 check\(s\) failed/);

    const port = server.address.port;
    await server.close();
    const gone = await check(`http://127.0.0.1:${port}`);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^FAIL cannot reach http:\/\/127\.0\.0\.1:\d+\/health: /);
  });
});
