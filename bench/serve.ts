/**
 * HTTP serving figures (issue 13): requests per second to a hello handler, each request a fresh
 * life whose instance comes from the module's pool (`nx run examples/http_hello/build/
 * http_hello.wasm --serve`, `GET /hello/bench`), beside a bare node:http server answering the
 * same bytes (status, Content-Type, body) in the same run; and WebSocket messages/s echoed
 * through a per-connection process (`WS /ws/echo`) beside a bare `ws` echo server (the
 * reference process serves both). Both servers are child processes of their own; the load is
 * autocannon (keep-alive connections, no pipelining) and then `ws` clients (bench/serve-clients.ts),
 * each in a third process. Rounds alternate the two servers (and which goes first) so both see
 * the same machine load; the report takes the median round of each, with the p99 latency beside
 * it. Beside the rates, each server's CPU time per request over the measured load (user + system
 * of its process, from /proc): on a machine shared with other jobs the rates swing with their
 * load, the CPU a request costs much less (bench/reports/README.md).
 *
 * SSE fan-out: a node with a listener wide enough for the clients, the clients' streams on one
 * forwarded topic (`GET /topics/*`), and the time from just before a `POST /publish/*` to the
 * moment the last stream has the event, p50 and max over a few publishes.
 *
 * Run: `npm run bench -- serve --report bench/out/serve.json` (--quick: a smoke run). The node
 * is bin/nx.js: run `npm run build:cli` after changing src/.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { freePorts } from "./gate/free-port.ts";
import { REPO_ROOT } from "./gate/nx-process.ts";
import { readProcStats } from "./gate/proc-stats.ts";
import { waitUntil } from "./gate/wait-until.ts";
import type { BenchmarkOptions, BenchmarkReport } from "./run.ts";
import { median, round } from "./sampling.ts";

const TARGET_RATIO = 0.7;
const PATH = "/hello/bench";
const BODY = "hello bench";
const CONTENT_TYPE = "text/plain; charset=utf-8";
const WS_PATH = "/ws/echo";
const FAN_OUT_TOPIC = "bench/fan-out";
const START_TIMEOUT_MS = 30_000;
const WARM_UP_SEC = 1;

interface Sizes {
  readonly rounds: number;
  readonly durationSec: number;
  readonly connections: number;
  readonly wsDurationSec: number;
  readonly wsConnections: number;
  readonly sseClients: number;
  readonly ssePublishes: number;
}

const FULL: Sizes = {
  rounds: 3,
  durationSec: 10,
  connections: 32,
  wsDurationSec: 5,
  wsConnections: 32,
  sseClients: 1000,
  ssePublishes: 5,
};
const QUICK: Sizes = {
  rounds: 1,
  durationSec: 2,
  connections: 8,
  wsDurationSec: 1,
  wsConnections: 8,
  sseClients: 100,
  ssePublishes: 2,
};

/**
 * The reference: node:http answering what the hello handler answers, nothing else, and a bare
 * `ws` server on the same port echoing every frame (it only listens for upgrades, so plain
 * requests never reach it).
 */
const REFERENCE_SERVER = `
const http = require("node:http");
const { WebSocketServer } = require("ws");
const body = Buffer.from(${JSON.stringify(BODY)});
const server = http.createServer((req, res) => {
  res.setHeader("content-type", ${JSON.stringify(CONTENT_TYPE)});
  res.end(body);
});
new WebSocketServer({ server, path: ${JSON.stringify(WS_PATH)} }).on("connection", (socket) => {
  socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary }));
});
server.listen(Number(process.argv[1]), "127.0.0.1");
`;

interface Load {
  readonly requestsPerSec: number;
  /** The server's CPU time (user + system) per request answered, in µs. */
  readonly cpuUsPerRequest: number;
  readonly p99Ms: number;
  readonly non2xx: number;
  readonly errors: number;
}

interface Server {
  readonly child: ChildProcess;
  readonly base: string;
  readonly url: string;
}

/** The node serves the example's default routes (`--serve`), or the listeners `config` declares. */
async function startServer(kind: "nx" | "reference", port: number, config?: string): Promise<Server> {
  const args =
    kind === "nx"
      ? [
          join(REPO_ROOT, "bin/nx.js"),
          "run",
          join(REPO_ROOT, "examples/http_hello/build/http_hello.wasm"),
          ...(config === undefined ? ["--serve", `127.0.0.1:${port}`] : ["--config", config]),
          "--log-level",
          "warn",
        ]
      : ["-e", REFERENCE_SERVER, String(port)];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ["ignore", "ignore", "inherit"] });
  const base = `http://127.0.0.1:${port}`;
  const url = `${base}${PATH}`;
  await waitUntil(
    `the ${kind} server on port ${port}`,
    async () => {
      if (child.exitCode !== null) return `the ${kind} server exited with code ${child.exitCode}`;
      try {
        const response = await fetch(url);
        return (await response.text()) === BODY;
      } catch {
        return false;
      }
    },
    { timeoutMs: START_TIMEOUT_MS, pollMs: 100 },
  );
  return { child, base, url };
}

async function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode !== null) return;
  const exited = new Promise((resolve) => server.child.once("exit", resolve));
  server.child.kill("SIGTERM");
  await exited;
}

/** Runs a load generator in a process of its own (not sharing the server's loop); its JSON stdout. */
function runClient<T>(name: string, args: readonly string[]): Promise<T> {
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code !== 0) return reject(new Error(`${name} exited with code ${code}`));
      resolve(JSON.parse(out) as T);
    });
  });
}

const CLIENTS = join(REPO_ROOT, "bench/serve-clients.ts");

async function serverCpuSecs(server: Server): Promise<number> {
  const stats = await readProcStats(server.child.pid!);
  if (stats === undefined) throw new Error("the server exited during the load");
  return stats.cpuSecs;
}

async function load(server: Server, connections: number, durationSec: number): Promise<Load> {
  const cpuBefore = await serverCpuSecs(server);
  const result = await runClient<{
    requests: { average: number; total: number };
    latency: { p99: number };
    non2xx: number;
    errors: number;
  }>("autocannon", [
    join(REPO_ROOT, "node_modules/autocannon/autocannon.js"),
    "--json",
    "--connections",
    String(connections),
    "--duration",
    String(durationSec),
    server.url,
  ]);
  const cpuSecs = (await serverCpuSecs(server)) - cpuBefore;
  return {
    requestsPerSec: result.requests.average,
    cpuUsPerRequest: result.requests.total === 0 ? 0 : (cpuSecs * 1e6) / result.requests.total,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

interface WsLoad {
  readonly messagesPerSec: number;
  /** The server's CPU time per frame echoed, over the whole client run (connections, warm-up, window), in µs. */
  readonly cpuUsPerMessage: number;
}

async function wsEchoes(server: Server, sizes: Sizes): Promise<WsLoad> {
  const url = `${server.base.replace("http:", "ws:")}${WS_PATH}`;
  const args = [String(sizes.wsConnections), String(WARM_UP_SEC), String(sizes.wsDurationSec)];
  const cpuBefore = await serverCpuSecs(server);
  const result = await runClient<{ messages_per_sec: number; messages_total: number }>("the ws clients", [
    CLIENTS,
    "ws",
    url,
    ...args,
  ]);
  const cpuSecs = (await serverCpuSecs(server)) - cpuBefore;
  return {
    messagesPerSec: result.messages_per_sec,
    cpuUsPerMessage: result.messages_total === 0 ? 0 : (cpuSecs * 1e6) / result.messages_total,
  };
}

interface Round {
  readonly http: Load;
  readonly ws: WsLoad;
}

async function measure(kind: "nx" | "reference", sizes: Sizes): Promise<Round> {
  const [port] = await freePorts(1);
  const server = await startServer(kind, port!);
  try {
    // A short warm-up: the module compiled, the pool filled, V8's tiers settled.
    await load(server, sizes.connections, WARM_UP_SEC);
    const http = await load(server, sizes.connections, sizes.durationSec);
    return { http, ws: await wsEchoes(server, sizes) };
  } finally {
    await stopServer(server);
  }
}

/** Publish-to-last-client latencies, on a node whose one listener has room for every stream. */
async function fanOut(sizes: Sizes): Promise<number[]> {
  const dir = mkdtempSync(join(tmpdir(), "nx-bench-serve-"));
  const [port] = await freePorts(1);
  const config = join(dir, "numax.toml");
  writeFileSync(
    config,
    `[[serve]]
listen = "127.0.0.1:${port}"
max_sse_streams = ${sizes.sseClients}
max_connections = ${sizes.sseClients + 16}

[serve.routes]
"GET /hello/:name" = "http_hello#hello"
"GET /topics/*" = "http_hello#topic"
"POST /publish/*" = "http_hello#publish"
`,
  );
  const server = await startServer("nx", port!, config);
  try {
    const args = [FAN_OUT_TOPIC, String(sizes.sseClients), String(sizes.ssePublishes)];
    return (
      await runClient<{ latencies_ms: number[] }>("the SSE clients", [CLIENTS, "sse", server.base, ...args])
    ).latencies_ms;
  } finally {
    await stopServer(server);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runBenchmark(options: BenchmarkOptions): Promise<BenchmarkReport> {
  const sizes = options.quick ? QUICK : FULL;
  const rounds: { nx: Round; reference: Round }[] = [];
  for (let i = 0; i < sizes.rounds; i++) {
    // Which server goes first alternates: a machine whose load drifts favours neither.
    if (i % 2 === 0) {
      const nx = await measure("nx", sizes);
      rounds.push({ nx, reference: await measure("reference", sizes) });
    } else {
      const reference = await measure("reference", sizes);
      rounds.push({ nx: await measure("nx", sizes), reference });
    }
  }
  const fanOutMs = await fanOut(sizes);
  const nxRps = median(rounds.map((r) => r.nx.http.requestsPerSec));
  const referenceRps = median(rounds.map((r) => r.reference.http.requestsPerSec));
  const ratio = referenceRps === 0 ? null : round(nxRps / referenceRps, 3);
  const nxCpu = median(rounds.map((r) => r.nx.http.cpuUsPerRequest));
  const referenceCpu = median(rounds.map((r) => r.reference.http.cpuUsPerRequest));
  const nxWs = median(rounds.map((r) => r.nx.ws.messagesPerSec));
  const referenceWs = median(rounds.map((r) => r.reference.ws.messagesPerSec));
  const nxWsCpu = median(rounds.map((r) => r.nx.ws.cpuUsPerMessage));
  const referenceWsCpu = median(rounds.map((r) => r.reference.ws.cpuUsPerMessage));
  return {
    benchmark: "serve",
    quick: options.quick,
    machine: { cpus: availableParallelism(), loadavg_1m: round(loadavg()[0] ?? 0, 2) },
    sizes,
    results: {
      http_requests_per_sec: {
        what: `GET ${PATH} to examples/http_hello (each request a fresh life on an instance from the module's pool, reset to its image; 200 text/plain "${BODY}"), autocannon with ${sizes.connections} keep-alive connections for ${sizes.durationSec} s, median of ${sizes.rounds} rounds`,
        value: round(nxRps),
        p99_latency_ms: median(rounds.map((r) => r.nx.http.p99Ms)),
        reference: {
          what: "bare node:http answering the same status, Content-Type and body, in a process of its own, in the same run",
          value: round(referenceRps),
          p99_latency_ms: median(rounds.map((r) => r.reference.http.p99Ms)),
          cpu_us_per_request: round(referenceCpu, 1),
        },
        ratio_to_reference: ratio,
        cpu_us_per_request: round(nxCpu, 1),
        /** Reference CPU per request over ours: the requests/s ratio both would reach CPU-bound. */
        cpu_ratio_to_reference: nxCpu === 0 ? null : round(referenceCpu / nxCpu, 3),
        target_ratio: TARGET_RATIO,
        meets_target: ratio !== null && ratio >= TARGET_RATIO,
        samples: rounds.map((r) => ({
          value: round(r.nx.http.requestsPerSec),
          reference: round(r.reference.http.requestsPerSec),
          cpu_us_per_request: round(r.nx.http.cpuUsPerRequest, 1),
          reference_cpu_us_per_request: round(r.reference.http.cpuUsPerRequest, 1),
          non2xx: r.nx.http.non2xx + r.reference.http.non2xx,
          errors: r.nx.http.errors + r.reference.http.errors,
        })),
      },
      sse_fan_out_ms: {
        what: `time from just before one POST /publish/* to the ${sizes.sseClients}th SSE client (GET /topics/*, one connection each, all forwarding the topic) having the event, over ${sizes.ssePublishes} publishes; clients in a process of their own`,
        p50: round(median(fanOutMs), 1),
        max: round(Math.max(...fanOutMs), 1),
        samples: fanOutMs.map((ms) => round(ms, 1)),
      },
      ws_messages_per_sec: {
        what: `text frames echoed through WS ${WS_PATH} of examples/http_hello (one process per connection: each frame a message, answered with ws_send), ${sizes.wsConnections} connections each with one frame in flight, ${sizes.wsDurationSec} s after ${WARM_UP_SEC} s of warm-up, median of ${sizes.rounds} rounds`,
        value: round(nxWs),
        reference: {
          what: "a bare ws WebSocketServer echoing every frame, in the reference process, in the same run",
          value: round(referenceWs),
          cpu_us_per_message: round(referenceWsCpu, 1),
        },
        ratio_to_reference: referenceWs === 0 ? null : round(nxWs / referenceWs, 3),
        cpu_us_per_message: round(nxWsCpu, 1),
        /** Reference CPU per echo over ours: the messages/s ratio both would reach CPU-bound. */
        cpu_ratio_to_reference: nxWsCpu === 0 ? null : round(referenceWsCpu / nxWsCpu, 3),
        samples: rounds.map((r) => ({
          value: round(r.nx.ws.messagesPerSec),
          reference: round(r.reference.ws.messagesPerSec),
          cpu_us_per_message: round(r.nx.ws.cpuUsPerMessage, 1),
          reference_cpu_us_per_message: round(r.reference.ws.cpuUsPerMessage, 1),
        })),
      },
    },
  };
}
