import assert from "node:assert/strict";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type {
  KeyView,
  ModuleView,
  NodeView,
  PeerView,
  ProcessView,
} from "../../src/node/node-introspection.ts";
import { type ManagedNode, managedNodeTracker } from "../helpers/management-node.ts";
import {
  examplePath,
  guestPath,
  nxCert,
  pollUntil,
  startNx,
  stopNx,
  tempDir,
} from "../helpers/nx-process.ts";
import { documented } from "./openapi-conformance.ts";

const tracker = managedNodeTracker();
/** Every answer of these nodes is checked against docs/api/openapi.yaml. */
const nodes = {
  node: async (options: Parameters<typeof tracker.node>[0]) => documented(await tracker.node(options)),
  stopAll: () => tracker.stopAll(),
};
const dir = tempDir("nx-management-");
after(async () => {
  await nodes.stopAll();
  dir.remove();
});

function assertError(
  answer: { status: number; headers: Headers; body: unknown },
  status: number,
  code: string,
) {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.match(answer.headers.get("content-type") ?? "", /^application\/json/);
  const { error } = answer.body as { error: { code: string; message: string } };
  assert.equal(error.code, code);
  assert.equal(typeof error.message, "string");
  assert.ok(error.message.length > 0 && !error.message.includes("\n"), error.message);
}

describe("management API of a running node", () => {
  let node: ManagedNode;
  before(async () => {
    // A reactive module keeps the node running; proc_idle parks in receive (a process to look at).
    node = await nodes.node({
      datastore: join(dir.path, "a"),
      modules: [guestPath("reactive_probe"), guestPath("proc_idle")],
    });
  });

  test("generates both token files on first start, mode 0600, one line of 43 base64url characters", () => {
    for (const name of ["management.token", "management-read.token"]) {
      const mode = statSync(join(node.datastore, name)).mode & 0o777;
      assert.equal(mode, 0o600, name);
    }
    assert.match(node.adminToken, /^[A-Za-z0-9_-]{43}$/);
    assert.match(node.readToken, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(node.adminToken, node.readToken);
    assert.doesNotMatch(node.nx.stderr() + node.nx.stdout(), new RegExp(node.adminToken));
  });

  test("no token and a wrong token: 401 with WWW-Authenticate: Bearer", async () => {
    for (const token of [null, "not-the-token", `${node.adminToken}x`]) {
      const answer = await node.api("GET", "/node", { token });
      assertError(answer, 401, "UNAUTHORIZED");
      assert.match(answer.headers.get("www-authenticate") ?? "", /^Bearer/);
    }
    // Even an unknown route says 401 first: nothing is learned without a token.
    assertError(await node.api("GET", "/nope", { token: null }), 401, "UNAUTHORIZED");
  });

  test("the read-only token reads, and gets 403 FORBIDDEN_READ_ONLY on a mutating route", async () => {
    assert.equal((await node.api("GET", "/node", { token: node.readToken })).status, 200);
    const answer = await node.api("POST", "/peers", {
      token: node.readToken,
      body: JSON.stringify({ address: "127.0.0.1:1" }),
    });
    assertError(answer, 403, "FORBIDDEN_READ_ONLY");
  });

  test("unknown routes are 404, a wrong method 405 with Allow, outside /api/v1 404", async () => {
    assertError(await node.api("GET", "/nope"), 404, "NOT_FOUND");
    const wrong = await node.api("PUT", "/peers");
    assertError(wrong, 405, "METHOD_NOT_ALLOWED");
    assert.equal(wrong.headers.get("allow"), "GET, HEAD, POST");
    const head = await node.api("HEAD", "/node");
    assert.deepEqual([head.status, head.body], [200, undefined]);
    assertError(await node.api("GET", "/node/"), 404, "NOT_FOUND");
    const outside = await fetch(`${node.url}/metrics`, { signal: AbortSignal.timeout(5000) });
    assert.equal(outside.status, 404);
    assert.equal(((await outside.json()) as { error: { code: string } }).error.code, "NOT_FOUND");
  });

  test("GET /health and /ready answer as the observability endpoint does", async () => {
    const health = await node.api("GET", "/health");
    assert.deepEqual([health.status, health.body], [200, { status: "ok" }]);
    const ready = await node.api("GET", "/ready");
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body, {
      status: "ready",
      checks: { running: true, storeOpen: true, storeWritable: true, hydrated: true, syncListening: true },
    });
  });

  test("GET /node", async () => {
    const { status, body } = await node.api("GET", "/node");
    assert.equal(status, 200);
    const view = body as NodeView;
    const nodeId = view.nodeId ?? "";
    assert.match(nodeId, /^[0-9a-f]{32}$/);
    assert.equal(view.version, "0.1.0");
    assert.ok(view.uptimeMs > 0);
    assert.equal(view.datastorePath, node.datastore);
    assert.ok((view.storeSizeBytes ?? 0) > 0);
    // init incremented probe/inits: one op in the op-log, counted in the version vector.
    assert.equal(view.opLogEntries, 1);
    assert.deepEqual(view.versionVector, { [nodeId]: 1 });
    assert.ok(view.memory.rssBytes > view.memory.heapUsedBytes && view.memory.heapUsedBytes > 0);
    assert.ok(view.cpu.userMs > 0 && view.cpu.systemMs >= 0);
    assert.deepEqual(view.listen, {
      sync: `127.0.0.1:${node.syncPort}`,
      management: node.url,
      serve: [],
    });
    assert.equal(view.quotas.cpuMsPerRun, null);
    assert.equal(view.quotas.memoryMaxMb, 256);
    assert.ok(view.quotas.guestCpuMs > 0);
    assert.ok(view.quotas.guestMemoryBytes > 0);
  });

  test("GET /modules and /modules/:id", async () => {
    const { status, body } = await node.api("GET", "/modules");
    assert.equal(status, 200);
    const modules = body as ModuleView[];
    assert.deepEqual(
      modules.map(({ id, reactive, path }) => ({ id, reactive, path })),
      [
        { id: "reactive_probe", reactive: true, path: guestPath("reactive_probe") },
        { id: "proc_idle", reactive: false, path: guestPath("proc_idle") },
      ],
    );
    const probe = modules[0]!;
    assert.equal(probe.state, "running");
    assert.equal(probe.queuedEvents, 0);
    assert.equal(probe.processes, 1);
    assert.match(probe.hash, /^[0-9a-f]{64}$/);
    assert.ok(Date.parse(probe.loadedAt) <= Date.now());
    assert.equal(probe.reloads, 0);
    assert.ok(probe.cpuMs > 0);
    assert.ok(probe.memoryBytes > 0);
    // init: env reads, the counter increment, the stdout write.
    assert.ok(probe.hostCalls > 0);
    assert.deepEqual(probe.limits, { cpuMsPerRun: null, memoryMaxMb: 256 });
    const one = await node.api("GET", "/modules/proc_idle");
    assert.equal(one.status, 200);
    assert.deepEqual(one.body, modules[1]);
    assertError(await node.api("GET", "/modules/nope"), 404, "NOT_FOUND");
  });

  test("GET /processes and /processes/:pid with links and monitors", async () => {
    const { status, body } = await node.api("GET", "/processes");
    assert.equal(status, 200);
    const processes = body as ProcessView[];
    const idle = processes.find((process) => process.module === "proc_idle");
    assert.ok(idle !== undefined, JSON.stringify(processes));
    assert.match(idle.pid, /^<0\.\d+>$/);
    assert.equal(idle.kind, "wasm");
    assert.equal(idle.status, "waiting");
    assert.equal(idle.mailboxLength, 0);
    assert.ok(idle.memoryBytes > 0);
    assert.ok(idle.reductions >= 0);
    // Supervised: linked to its supervisor, its parent.
    assert.deepEqual(idle.links, [idle.parent]);
    assert.deepEqual([idle.monitors, idle.monitoredBy], [[], []]);
    assert.ok(processes.some((process) => process.module === "reactive_probe"));
    // Supervisors are the kernel's own: no module.
    assert.ok(processes.some((process) => process.label === "guest-modules" && !("module" in process)));

    const one = await node.api("GET", `/processes/${encodeURIComponent(idle.pid)}`);
    assert.deepEqual([one.status, one.body], [200, idle]);
    const byNumber = await node.api("GET", `/processes/${idle.pid.slice(3, -1)}`);
    assert.equal((byNumber.body as { pid: string }).pid, idle.pid);
    assertError(await node.api("GET", "/processes/99999"), 404, "NOT_FOUND");
    assertError(await node.api("GET", "/processes/abc"), 400, "BAD_REQUEST");
  });

  test("POST /snapshots takes a snapshot file of the store; GET /snapshots lists them oldest first", async () => {
    assertError(await node.api("POST", "/snapshots", { token: node.readToken }), 403, "FORBIDDEN_READ_ONLY");
    const first = await node.api("POST", "/snapshots");
    const second = await node.api("POST", "/snapshots");
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const entries = [first.body, second.body] as { id: string; path: string; bytes: number }[];
    assert.notEqual(entries[0]!.id, entries[1]!.id, "ids never clash");
    for (const entry of entries) {
      assert.equal(entry.path, join(node.datastore, "snapshots", `${entry.id}.nxsnap`));
      assert.equal(statSync(entry.path).size, entry.bytes);
    }
    const listed = await node.api("GET", "/snapshots", { token: node.readToken });
    assert.deepEqual(listed.body, entries);
  });

  test("GET /peers: none configured", async () => {
    const { status, body } = await node.api("GET", "/peers");
    assert.deepEqual([status, body], [200, []]);
  });

  test("a JSON body past the limit is 413 PAYLOAD_TOO_LARGE", async () => {
    const answer = await node.api("POST", "/peers", { body: "x".repeat(70 * 1024) });
    assertError(answer, 413, "PAYLOAD_TOO_LARGE");
  });

  test("HTTP-level bounds: 400 for a malformed request, 408 for one not sent whole in 10 s, at most 64 connections", async () => {
    const { port } = new URL(node.url);
    const exchange = (request: string, hold = false) =>
      new Promise<{ data: string; socket: Socket }>((resolve) => {
        const socket = connect(Number(port), "127.0.0.1");
        let data = "";
        socket.on("data", (chunk) => {
          data += chunk.toString();
          if (hold && data.includes("\r\n\r\n")) resolve({ data, socket });
        });
        socket.on("error", () => {});
        socket.on("close", () => resolve({ data, socket }));
        socket.write(request);
      });
    const malformed = await exchange("NOT HTTP\r\n\r\n");
    assert.match(malformed.data, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.deepEqual(JSON.parse(malformed.data.split("\r\n\r\n")[1]!).error.code, "BAD_REQUEST");

    const started = Date.now();
    const slow = await exchange("GET /api/v1/node HTTP/1.1\r\nHost: x\r\n");
    assert.match(slow.data, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.equal(JSON.parse(slow.data.split("\r\n\r\n")[1]!).error.code, "REQUEST_TIMEOUT");
    const waitedMs = Date.now() - started;
    assert.ok(waitedMs >= 9_000 && waitedMs < 15_000, String(waitedMs));

    // Keep-alive requests hold their sockets open: past the cap, new connections are dropped unanswered.
    const held = await Promise.all(
      Array.from({ length: 70 }, () => exchange("GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n", true)),
    );
    // The client's own pooled keep-alive connections count too: at most 64 of these are answered.
    const answered = held.filter(({ data }) => data.startsWith("HTTP/1.1 401")).length;
    const dropped = held.filter(({ data }) => data === "").length;
    assert.equal(answered + dropped, held.length);
    assert.ok(answered <= 64 && dropped >= 6, `${answered} answered, ${dropped} dropped`);
    for (const { socket } of held) socket.destroy();
    // Until the server has seen those sockets close, a new connection may still be dropped.
    const after = await pollUntil(
      () => node.api("GET", "/health").catch(() => undefined),
      (answer) => answer?.status === 200,
      5000,
    );
    assert.equal(after?.status, 200);
  });

  // Last: it ends a module.
  test("POST /processes/:pid/kill sends the exit signal: the process ends, its module fails", async () => {
    const idle = ((await node.api("GET", "/processes")).body as ProcessView[]).find(
      (process) => process.module === "proc_idle",
    )!;
    const path = `/processes/${encodeURIComponent(idle.pid)}/kill`;
    assertError(await node.api("POST", path, { token: node.readToken }), 403, "FORBIDDEN_READ_ONLY");
    assertError(await node.api("POST", path, { body: '{"reason": 3}' }), 400, "BAD_REQUEST");
    assertError(await node.api("POST", path, { body: "{" }), 400, "BAD_REQUEST");
    assertError(await node.api("POST", "/processes/99999/kill"), 404, "NOT_FOUND");
    const killed = await node.api("POST", path, { body: "{}" });
    assert.deepEqual([killed.status, killed.body], [202, { pid: idle.pid }]);
    const gone = await pollUntil(
      () => node.api("GET", `/processes/${encodeURIComponent(idle.pid)}`),
      (answer) => answer.status === 404,
      10_000,
    );
    assert.equal(gone.status, 404);
    await node.nx.waitFor(/proc_idle.*killed/);
    const module = (await node.api("GET", "/modules/proc_idle")).body as ModuleView;
    assert.deepEqual([module.state, module.processes], ["failed", 0]);
    // The reactive module and the node go on.
    assert.equal(((await node.api("GET", "/modules/reactive_probe")).body as ModuleView).state, "running");
    assert.equal(node.nx.child.exitCode, null);
  });
});

describe("peers through the management API", () => {
  // A short socket timeout makes the keepalive Ping (a third of it) come within a second.
  const quickKeepalive = ["--socket-timeout-secs", "3"];

  test("POST /peers dials a new peer and keeps it; DELETE /peers/:address drops it", async () => {
    const a = await nodes.node({
      datastore: join(dir.path, "peer-a"),
      modules: [guestPath("reactive_probe")],
      args: quickKeepalive,
    });
    const b = await nodes.node({
      datastore: join(dir.path, "peer-b"),
      modules: [guestPath("reactive_probe")],
      args: quickKeepalive,
    });
    const bNodeId = ((await b.api("GET", "/node")).body as NodeView).nodeId;
    const aNodeId = ((await a.api("GET", "/node")).body as NodeView).nodeId;
    const address = `127.0.0.1:${b.syncPort}`;
    assertError(await a.api("POST", "/peers", { body: '{"address": "nowhere"}' }), 400, "BAD_REQUEST");
    assertError(await a.api("POST", "/peers", { body: "[]" }), 400, "BAD_REQUEST");

    const added = await a.api("POST", "/peers", { body: JSON.stringify({ address }) });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    const view = added.body as PeerView;
    assert.equal(view.address, address);
    assert.ok(["connecting", "connected"].includes(view.state), view.state);
    assert.equal(view.direction, "outbound");
    assert.ok(Date.parse(view.since) <= Date.now());
    assertError(await a.api("POST", "/peers", { body: JSON.stringify({ address }) }), 409, "CONFLICT");

    // A real connection: both ends see it, and its keepalive measures the round trip.
    const peersOf = async (node: ManagedNode) => (await node.api("GET", "/peers")).body as PeerView[];
    const connected = await pollUntil(
      () => peersOf(a),
      (peers) => peers[0]?.state === "connected" && peers[0].rttMs !== null,
      15_000,
    );
    assert.deepEqual(
      connected.map(({ address, nodeId, state, direction }) => ({ address, nodeId, state, direction })),
      [{ address, nodeId: bNodeId, state: "connected", direction: "outbound" }],
    );
    assert.ok(connected[0]!.rttMs! >= 0 && connected[0]!.rttMs! < 1000, String(connected[0]!.rttMs));
    const seenByB = await peersOf(b);
    assert.deepEqual(
      seenByB.map(({ nodeId, state, direction }) => ({ nodeId, state, direction })),
      [{ nodeId: aNodeId, state: "connected", direction: "inbound" }],
    );
    await b.nx.waitFor(/peer-connected/);

    assertError(await a.api("DELETE", "/peers/127.0.0.1%3A1"), 404, "NOT_FOUND");
    const removed = await a.api("DELETE", `/peers/${encodeURIComponent(address)}`);
    assert.deepEqual([removed.status, removed.body], [204, undefined]);
    assert.deepEqual(await peersOf(a), []);
    assert.deepEqual(
      await pollUntil(
        () => peersOf(b),
        (peers) => peers.length === 0,
        10_000,
      ),
      [],
    );
    await b.nx.waitFor(/peer-disconnected/);
  });

  test("a peer that cannot be reached is in backoff; one removed while being dialed is not dialed again", async () => {
    const node = await nodes.node({
      datastore: join(dir.path, "backoff"),
      modules: [guestPath("reactive_probe")],
      args: ["--log-level", "debug"],
    });
    const peerStates = async () => (await node.api("GET", "/peers")).body as PeerView[];

    const closed = await occupy(0);
    const closedAddress = `127.0.0.1:${(closed.address() as { port: number }).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await node.api("POST", "/peers", { body: JSON.stringify({ address: closedAddress }) });
    const backoff = await pollUntil(peerStates, (list) => list[0]?.state === "backoff", 10_000);
    assert.deepEqual(
      backoff.map(({ address, state, nodeId, rttMs }) => ({ address, state, nodeId, rttMs })),
      [{ address: closedAddress, state: "backoff", nodeId: null, rttMs: null }],
    );
    assert.equal((await node.api("DELETE", `/peers/${encodeURIComponent(closedAddress)}`)).status, 204);

    // A peer that accepts the TCP connection and never answers the handshake: the dial hangs.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const address = `127.0.0.1:${(silent.address() as { port: number }).port}`;
      await node.api("POST", "/peers", { body: JSON.stringify({ address }) });
      await pollUntil(
        async () => sockets.length,
        (count) => count === 1,
        10_000,
      );
      assert.deepEqual(
        (await peerStates()).map(({ state }) => state),
        ["connecting"],
      );
      assert.equal((await node.api("DELETE", `/peers/${encodeURIComponent(address)}`)).status, 204);
      assert.deepEqual(await peerStates(), []);
      // The dial now fails; a removed peer is neither retried nor reported.
      for (const socket of sockets) socket.destroy();
      // Redials come at most reconnect_max_delay (1 s) apart: two would have happened by now.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      assert.equal(sockets.length, 1);
      assert.doesNotMatch(node.nx.stderr(), new RegExp(`cannot reach peer address=${address}`));
    } finally {
      silent.close();
    }
  });

  test("a node without sync answers the peers routes 503 UNAVAILABLE", async () => {
    const lone = await nodes.node({
      datastore: join(dir.path, "lone"),
      modules: [guestPath("reactive_probe")],
      sync: false,
    });
    assertError(await lone.api("GET", "/peers"), 503, "UNAVAILABLE");
    assertError(await lone.api("GET", "/keys"), 503, "UNAVAILABLE");
    assertError(await lone.api("GET", "/keys/visits"), 503, "UNAVAILABLE");
    assertError(await lone.api("POST", "/peers", { body: '{"address": "127.0.0.1:9"}' }), 503, "UNAVAILABLE");
  });
});

describe("CRDT keys through the management API", () => {
  test("GET /keys lists keys with their family, by prefix, in pages; GET /keys/:key gives the value and last writer", async () => {
    // One-shot examples write one CRDT each; the reactive module keeps the node running.
    const writer = await nodes.node({
      datastore: join(dir.path, "keys-a"),
      modules: [
        guestPath("reactive_probe"),
        examplePath("distributed_counter"),
        examplePath("distributed_status"),
        examplePath("distributed_comments"),
        examplePath("distributed_inventory"),
      ],
    });
    await writer.nx.waitFor(/distributed_inventory: node \w+ changed inventory\/widgets/);
    const writerId = ((await writer.api("GET", "/node")).body as NodeView).nodeId;
    const all = [
      { key: "comments", family: "rga" },
      { key: "inventory/widgets", family: "pncounter" },
      { key: "probe/inits", family: "gcounter" },
      { key: "service/status", family: "lww-register" },
      { key: "visits", family: "gcounter" },
    ];
    assert.deepEqual((await writer.api("GET", "/keys")).body, { keys: all, nextCursor: null });

    const pages: unknown[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`;
      const page = (await writer.api("GET", `/keys?limit=2${query}`)).body as {
        keys: unknown[];
        nextCursor: string | null;
      };
      assert.ok(page.keys.length <= 2);
      pages.push(...page.keys);
      cursor = page.nextCursor;
    } while (cursor !== null);
    assert.deepEqual(pages, all);

    assert.deepEqual((await writer.api("GET", "/keys?prefix=in")).body, { keys: [all[1]], nextCursor: null });
    assert.deepEqual((await writer.api("GET", "/keys?prefix=zz")).body, { keys: [], nextCursor: null });
    for (const limit of ["0", "1001", "x", "-1"]) {
      assertError(await writer.api("GET", `/keys?limit=${limit}`), 400, "BAD_REQUEST");
    }
    assertError(await writer.api("GET", "/keys?cursor=bm9wZQ"), 400, "BAD_REQUEST");

    const visits = (await writer.api("GET", "/keys/visits")).body as KeyView;
    assert.deepEqual(
      { ...visits, lastChangeAt: null },
      { key: "visits", family: "gcounter", value: "1", lastWriter: writerId, lastChangeAt: null },
    );
    assert.ok(Math.abs(Date.parse(visits.lastChangeAt!) - Date.now()) < 60_000, visits.lastChangeAt!);
    const widgets = await writer.api(
      "GET",
      `/keys/${encodeURIComponent("inventory/widgets")}?family=pncounter`,
    );
    assert.deepEqual([widgets.status, (widgets.body as KeyView).value], [200, "1"]);
    const status = (await writer.api("GET", `/keys/${encodeURIComponent("service/status")}`)).body as KeyView;
    assert.equal(status.family, "lww-register");
    assert.match(status.value as string, /^up/);
    const comments = (await writer.api("GET", "/keys/comments")).body as KeyView;
    assert.deepEqual(comments.value, [`hello from ${writerId!.slice(0, 8)}`]);
    assertError(await writer.api("GET", "/keys/visits?family=orset"), 404, "NOT_FOUND");
    assertError(await writer.api("GET", "/keys/visits?family=counter"), 400, "BAD_REQUEST");
    assertError(await writer.api("GET", "/keys/nope"), 404, "NOT_FOUND");

    // A peer that got the op from the writer names the writer.
    const reader = await nodes.node({
      datastore: join(dir.path, "keys-b"),
      modules: [guestPath("reactive_probe")],
      args: ["--peer", `127.0.0.1:${writer.syncPort}`],
    });
    const remote = await pollUntil(
      () => reader.api("GET", "/keys/visits"),
      (answer) => answer.status === 200,
      15_000,
    );
    assert.deepEqual(remote.body, visits);
  });
});

describe("management API refusals at start", () => {
  test("a non-loopback address without TLS or the plaintext switch: the node refuses to start", async () => {
    const nx = startNx([
      "run",
      guestPath("reactive_probe"),
      "--datastore-path",
      join(dir.path, "remote"),
      "--management-listen",
      "0.0.0.0:0",
    ]);
    const { code } = await nx.exited;
    assert.equal(code, 2);
    const lines = nx.stderr().trim().split("\n");
    assert.match(
      lines.at(-1)!,
      /^nx: error: the management API on 0\.0\.0\.0:0 would be reachable from other hosts: .*--management-tls-cert.*--management-allow-remote-plaintext/,
    );
  });

  test("a non-loopback address with TLS material serves HTTPS; with the plaintext switch, HTTP", async () => {
    nxCert(["ca", "--out", join(dir.path, "ca")]);
    nxCert(["node", "--ca-dir", join(dir.path, "ca"), "--name", "admin", "--out", join(dir.path, "admin")]);
    const https = startNx([
      "run",
      guestPath("reactive_probe"),
      "--datastore-path",
      join(dir.path, "https"),
      "--management-listen",
      "0.0.0.0:0",
      "--management-tls-cert",
      join(dir.path, "admin/node.crt"),
      "--management-tls-key",
      join(dir.path, "admin/node.key"),
    ]);
    const plain = startNx([
      "run",
      guestPath("reactive_probe"),
      "--datastore-path",
      join(dir.path, "plain"),
      "--management-listen",
      "0.0.0.0:0",
      "--management-allow-remote-plaintext",
    ]);
    try {
      const httpsPort = (await https.waitFor(/management: listening url=https:\/\/0\.0\.0\.0:(\d+)/))[1]!;
      const token = readFileSync(join(dir.path, "https/management.token"), "utf8").trim();
      const ca = readFileSync(join(dir.path, "ca/ca.crt"));
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpsRequest(
          `https://127.0.0.1:${httpsPort}/api/v1/health`,
          // The certificate names the node, not 127.0.0.1: the chain is what is checked here.
          {
            ca,
            checkServerIdentity: () => undefined,
            timeout: 10_000,
            headers: { authorization: `Bearer ${token}` },
          },
          (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (chunk: string) => {
              body += chunk;
            });
            res.on("end", () => resolve({ status: res.statusCode!, body }));
          },
        );
        req.on("error", reject);
        req.end();
      });
      assert.deepEqual(answer, { status: 200, body: '{"status":"ok"}\n' });

      const plainPort = (await plain.waitFor(/management: listening url=http:\/\/0\.0\.0\.0:(\d+)/))[1]!;
      const plainToken = readFileSync(join(dir.path, "plain/management.token"), "utf8").trim();
      const response = await fetch(`http://127.0.0.1:${plainPort}/api/v1/health`, {
        headers: { authorization: `Bearer ${plainToken}` },
        signal: AbortSignal.timeout(10_000),
      });
      assert.equal(response.status, 200);
    } finally {
      await Promise.all([stopNx(https), stopNx(plain)]);
    }
  });

  test("a token file group or others may read is refused with a chmod 600 hint", async () => {
    const datastore = join(dir.path, "open-token");
    mkdirSync(datastore, { recursive: true });
    const tokenFile = join(datastore, "management.token");
    writeFileSync(tokenFile, "some-token\n");
    chmodSync(tokenFile, 0o644);
    const nx = startNx([
      "run",
      guestPath("reactive_probe"),
      "--datastore-path",
      datastore,
      "--management-listen",
      "127.0.0.1:0",
    ]);
    const { code } = await nx.exited;
    assert.equal(code, 2);
    assert.match(
      nx.stderr(),
      new RegExp(
        `nx: error: management token file ${tokenFile} has mode 0644: group or others may read it; run chmod 600 ${tokenFile}\\n$`,
      ),
    );
  });

  test("one token in both token files is refused: the read-only token must differ", async () => {
    const datastore = join(dir.path, "same-token");
    mkdirSync(datastore, { recursive: true });
    for (const name of ["management.token", "management-read.token"]) {
      writeFileSync(join(datastore, name), "same-token\n", { mode: 0o600 });
    }
    const nx = startNx([
      "run",
      guestPath("reactive_probe"),
      "--datastore-path",
      datastore,
      "--management-listen",
      "127.0.0.1:0",
    ]);
    const { code } = await nx.exited;
    assert.equal(code, 2);
    assert.match(
      nx.stderr(),
      /nx: error: management token files .* hold the same token: the read-only token must differ/,
    );
  });

  test("an explicit address that is busy: the node does not start", async () => {
    const busy = await occupy(0);
    try {
      const port = (busy.address() as { port: number }).port;
      const nx = startNx([
        "run",
        guestPath("reactive_probe"),
        "--datastore-path",
        join(dir.path, "busy"),
        "--management-listen",
        `127.0.0.1:${port}`,
      ]);
      const { code } = await nx.exited;
      assert.equal(code, 2);
      assert.match(
        nx.stderr(),
        new RegExp(
          `nx: error: cannot open the management API on 127\\.0\\.0\\.1:${port}: the address is in use`,
        ),
      );
    } finally {
      busy.close();
    }
  });

  test("the default address busy: the API on a free port its start line says, and no warning", async () => {
    // Held by this test, or by any other process already: busy either way.
    const busy = await occupy(9102).catch(() => undefined);
    // An empty NX_MANAGEMENT_LISTEN reads as unset: the default address applies.
    const nx = startNx(
      ["run", guestPath("reactive_probe"), "--datastore-path", join(dir.path, "default-busy")],
      { NX_MANAGEMENT_LISTEN: "" },
    );
    try {
      await nx.waitFor(/^init$/m);
      const warnings = nx
        .stderr()
        .split("\n")
        // The test helpers run modules with --policy-default trusted, which warns once per module.
        .filter((line) => / WARN /.test(line) && !/ WARN +policy: /.test(line));
      assert.deepEqual(warnings, [], nx.stderr());
      const url = (await nx.waitFor(/management: listening url=(http:\/\/127\.0\.0\.1:(\d+))/))!;
      assert.notEqual(url[2], "9102");
      assert.match(nx.stderr(), /the default address 127\.0\.0\.1:9102 is in use \(another node\?\)/);
      const token = readFileSync(join(dir.path, "default-busy", "management.token"), "utf8").trim();
      const health = await fetch(`${url[1]}/api/v1/health`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(health.status, 200);
    } finally {
      await stopNx(nx);
      busy?.close();
    }
  });

  test("a one-shot run starts no management API", async () => {
    const nx = startNx(["run", guestPath("proc_noop"), "--datastore-path", join(dir.path, "one-shot")], {
      NX_MANAGEMENT_LISTEN: "",
    });
    const { code } = await nx.exited;
    assert.equal(code, 0);
    assert.doesNotMatch(nx.stderr() + nx.stdout(), /management/);
  });
});

function occupy(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}
