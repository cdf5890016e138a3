import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { EXPOSE_DATA_HINT, OBSERVABILITY_MAX_CONNECTIONS } from "../../src/observe/observability-server.ts";
import { examplePath, pollUntil, tempDir } from "../helpers/nx-process.ts";
import { datastoreOf, type SyncNode, syncNodeTracker } from "../helpers/sync-node.ts";

/** Hostile clients against the observability endpoint of a real `nx run` node. */

const VISITS = examplePath("distributed_counter");
const REQUEST_TIMEOUT_SECS = 2;
/** More idle sockets than the endpoint keeps open. */
const IDLE_SOCKETS = OBSERVABILITY_MAX_CONNECTIONS + 44;
/** A probe must answer well within a liveness probe's usual 1 s timeout. */
const PROBE_MS_MAX = 1000;

const root = tempDir("nx-hostile-observability-");
const nodes = syncNodeTracker();
const opened: Socket[] = [];
after(async () => {
  for (const socket of opened) socket.destroy();
  await nodes.stopAll();
  root.remove();
});

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    opened.push(socket);
    socket.setTimeout(5000, () => socket.destroy(new Error("connect timed out")));
    socket.once("connect", () => {
      socket.setTimeout(0);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/** Resolves with the ms until the server closes `socket` and what it sent before. */
function closed(socket: Socket, timeoutMs = 15_000): Promise<{ ms: number; answer: string }> {
  const started = performance.now();
  let answer = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    answer += chunk;
  });
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the socket open for ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once("close", () => {
      clearTimeout(guard);
      resolve({ ms: performance.now() - started, answer });
    });
  });
}

async function probe(url: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  await response.arrayBuffer();
  return { status: response.status, ms: performance.now() - started };
}

describe("observability endpoint under hostile clients", { timeout: 120_000 }, () => {
  let node: SyncNode;
  before(async () => {
    node = await nodes.node({
      datastore: datastoreOf(root.path, "idle"),
      guest: VISITS,
      exposeData: false,
      args: ["--observability-request-timeout-secs", String(REQUEST_TIMEOUT_SECS)],
    });
  });

  test(`/health and /ready answer at once while ${IDLE_SOCKETS} idle sockets sit open`, async () => {
    const port = Number(new URL(node.url).port);
    const idle = await Promise.all(Array.from({ length: IDLE_SOCKETS }, () => openSocket(port)));
    try {
      for (const path of ["/health", "/ready", "/health", "/ready"]) {
        const { status, ms } = await probe(`${node.url}${path}`);
        assert.equal(status, 200, `${path} answered ${status}`);
        assert.ok(ms < PROBE_MS_MAX, `${path} took ${Math.round(ms)} ms`);
      }
      // The probes got in by closing the oldest idle sockets, not by outliving them.
      const stillOpen = idle.filter((socket) => !socket.destroyed).length;
      assert.ok(stillOpen >= OBSERVABILITY_MAX_CONNECTIONS - 8, `only ${stillOpen} idle sockets left open`);
      // Each socket closed to make room is counted where an operator sees it.
      const metrics = await (await fetch(`${node.url}/metrics`)).text();
      const evicted = Number(
        /^numax_observability_errors_total\{kind="evicted"\} (\d+)$/m.exec(metrics)?.[1] ?? 0,
      );
      assert.ok(evicted >= IDLE_SOCKETS - OBSERVABILITY_MAX_CONNECTIONS, `${evicted} evictions counted`);
    } finally {
      for (const socket of idle) socket.destroy();
    }
  });

  test("a socket that sends nothing is answered 408 and closed after the request timeout", async () => {
    const port = Number(new URL(node.url).port);
    const silent = await openSocket(port);
    const { ms, answer } = await closed(silent);
    const timeoutMs = REQUEST_TIMEOUT_SECS * 1000;
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.ok(ms >= timeoutMs - 200, `closed too early (${Math.round(ms)} ms)`);
    assert.ok(ms < timeoutMs + 3000, `closed late (${Math.round(ms)} ms)`);
  });

  test("a client that sends half its headers gets 408 and is dropped", async () => {
    const port = Number(new URL(node.url).port);
    const slow = await openSocket(port);
    const outcome = closed(slow);
    slow.write("GET /health HTTP/1.1\r\nhost: x\r\n");
    const { ms, answer } = await outcome;
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.ok(ms < REQUEST_TIMEOUT_SECS * 1000 + 3000, `dropped late (${Math.round(ms)} ms)`);
  });
});

async function getReply(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("node data over HTTP is opt-in (observability.expose_data)", { timeout: 120_000 }, () => {
  test("off by default: /v1/node and /v1/crdt/ answer 404 naming the key, as does any unknown path", async () => {
    const off = await nodes.node({
      datastore: datastoreOf(root.path, "data-off"),
      guest: VISITS,
      exposeData: false,
    });
    for (const path of ["/v1/node", "/v1/crdt/gcounter/visits", "/v1/nope", "/nope"]) {
      const { status, body } = await getReply(`${off.url}${path}`);
      assert.equal(status, 404, path);
      assert.equal(body.hint, EXPOSE_DATA_HINT, path);
      assert.match(String(body.hint), /expose_data = true \(--observability-expose-data/);
      assert.deepEqual(body.paths, ["/metrics", "/health", "/ready"], path);
      assert.doesNotMatch(JSON.stringify(body), /nx-data|data-off|versionVector/, `${path} leaks nothing`);
    }
    assert.match(off.nx.stderr(), /observability: listening url=\S+ paths=\/metrics,\/health,\/ready\n/);
  });

  test("on: --observability-expose-data serves the node and its CRDT values", async () => {
    const on = await nodes.node({
      datastore: datastoreOf(root.path, "data-on"),
      guest: VISITS,
      env: { NX_VISITS: "3" },
    });
    const node = await getReply(`${on.url}/v1/node`);
    assert.equal(node.status, 200);
    assert.equal(node.body.nodeId, on.nodeId);
    const counter = await pollUntil(
      () => getReply(`${on.url}/v1/crdt/gcounter/visits`),
      (reply) => reply.body.value === "3",
      10_000,
    );
    assert.equal(counter.status, 200);
    assert.equal(counter.body.value, "3");
    const unknown = await getReply(`${on.url}/nope`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.hint, undefined);
    assert.deepEqual(unknown.body.paths, [
      "/metrics",
      "/health",
      "/ready",
      "/v1/node",
      "/v1/crdt/<family>/<key>",
    ]);
  });
});
