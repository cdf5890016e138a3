/**
 * HTTP serving figures (issue 13): requests per second to a hello handler, each request a fresh
 * process whose instance comes from the module's pool (`nx run examples/http_hello/build/
 * http_hello.wasm --serve`, `GET /hello/bench`), beside a bare node:http server answering the
 * same bytes (status, Content-Type, body) in the same run. Both servers are child processes of
 * their own; the load is autocannon in a third process (keep-alive connections, no pipelining).
 * Rounds alternate the two servers so both see the same machine load; the report takes the
 * median round of each, with the p99 latency beside it.
 *
 * Run: `npm run bench -- serve --report bench/out/serve.json` (--quick: a smoke run). The node
 * is bin/nx.js: run `npm run build:cli` after changing src/.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import { freePorts } from "./gate/free-port.ts";
import { REPO_ROOT } from "./gate/nx-process.ts";
import { waitUntil } from "./gate/wait-until.ts";
import type { BenchmarkOptions, BenchmarkReport } from "./run.ts";
import { median, round } from "./sampling.ts";

const TARGET_RATIO = 0.7;
const PATH = "/hello/bench";
const BODY = "hello bench";
const CONTENT_TYPE = "text/plain; charset=utf-8";
const START_TIMEOUT_MS = 30_000;

interface Sizes {
  readonly rounds: number;
  readonly durationSec: number;
  readonly connections: number;
}

const FULL: Sizes = { rounds: 3, durationSec: 10, connections: 32 };
const QUICK: Sizes = { rounds: 1, durationSec: 2, connections: 8 };

/** The reference: node:http answering what the hello handler answers, nothing else. */
const REFERENCE_SERVER = `
const http = require("node:http");
const body = Buffer.from(${JSON.stringify(BODY)});
http.createServer((req, res) => {
  res.setHeader("content-type", ${JSON.stringify(CONTENT_TYPE)});
  res.end(body);
}).listen(Number(process.argv[1]), "127.0.0.1");
`;

interface Load {
  readonly requestsPerSec: number;
  readonly p99Ms: number;
  readonly non2xx: number;
  readonly errors: number;
}

interface Server {
  readonly child: ChildProcess;
  readonly url: string;
}

async function startServer(kind: "nx" | "reference", port: number): Promise<Server> {
  const args =
    kind === "nx"
      ? [
          join(REPO_ROOT, "bin/nx.js"),
          "run",
          join(REPO_ROOT, "examples/http_hello/build/http_hello.wasm"),
          "--serve",
          `127.0.0.1:${port}`,
          "--log-level",
          "warn",
        ]
      : ["-e", REFERENCE_SERVER, String(port)];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ["ignore", "ignore", "inherit"] });
  const url = `http://127.0.0.1:${port}${PATH}`;
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
  return { child, url };
}

async function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode !== null) return;
  const exited = new Promise((resolve) => server.child.once("exit", resolve));
  server.child.kill("SIGTERM");
  await exited;
}

/** autocannon in a process of its own, so the load generator does not share the server's loop. */
function load(url: string, sizes: Sizes): Promise<Load> {
  const child = spawn(
    process.execPath,
    [
      join(REPO_ROOT, "node_modules/autocannon/autocannon.js"),
      "--json",
      "--connections",
      String(sizes.connections),
      "--duration",
      String(sizes.durationSec),
      url,
    ],
    { stdio: ["ignore", "pipe", "ignore"] },
  );
  let out = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited with code ${code}`));
      const result = JSON.parse(out) as {
        requests: { average: number };
        latency: { p99: number };
        non2xx: number;
        errors: number;
      };
      resolve({
        requestsPerSec: result.requests.average,
        p99Ms: result.latency.p99,
        non2xx: result.non2xx,
        errors: result.errors,
      });
    });
  });
}

async function measure(kind: "nx" | "reference", sizes: Sizes): Promise<Load> {
  const [port] = await freePorts(1);
  const server = await startServer(kind, port!);
  try {
    // A short warm-up: the module compiled, the pool filled, V8's tiers settled.
    await load(server.url, { ...sizes, durationSec: 1 });
    return await load(server.url, sizes);
  } finally {
    await stopServer(server);
  }
}

export async function runBenchmark(options: BenchmarkOptions): Promise<BenchmarkReport> {
  const sizes = options.quick ? QUICK : FULL;
  const rounds: { nx: Load; reference: Load }[] = [];
  for (let i = 0; i < sizes.rounds; i++) {
    const nx = await measure("nx", sizes);
    const reference = await measure("reference", sizes);
    rounds.push({ nx, reference });
  }
  const nxRps = median(rounds.map((r) => r.nx.requestsPerSec));
  const referenceRps = median(rounds.map((r) => r.reference.requestsPerSec));
  const ratio = referenceRps === 0 ? null : round(nxRps / referenceRps, 3);
  return {
    benchmark: "serve",
    quick: options.quick,
    machine: { cpus: availableParallelism(), loadavg_1m: round(loadavg()[0] ?? 0, 2) },
    sizes,
    results: {
      http_requests_per_sec: {
        what: `GET ${PATH} to examples/http_hello (each request a fresh process from the module's instance pool; 200 text/plain "${BODY}"), autocannon with ${sizes.connections} keep-alive connections for ${sizes.durationSec} s, median of ${sizes.rounds} rounds`,
        value: round(nxRps),
        p99_latency_ms: median(rounds.map((r) => r.nx.p99Ms)),
        reference: {
          what: "bare node:http answering the same status, Content-Type and body, in a process of its own, in the same run",
          value: round(referenceRps),
          p99_latency_ms: median(rounds.map((r) => r.reference.p99Ms)),
        },
        ratio_to_reference: ratio,
        target_ratio: TARGET_RATIO,
        meets_target: ratio !== null && ratio >= TARGET_RATIO,
        samples: rounds.map((r) => ({
          value: round(r.nx.requestsPerSec),
          reference: round(r.reference.requestsPerSec),
          non2xx: r.nx.non2xx + r.reference.non2xx,
          errors: r.nx.errors + r.reference.errors,
        })),
      },
    },
  };
}
