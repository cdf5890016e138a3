/**
 * Hot reload through the management API on real `nx run` nodes (docs/hot-reload.md): the module
 * routes' answers (each checked against docs/api/openapi.yaml), and a reload under sync load on three nodes: no acknowledged op lost, no peer
 * connection dropped, the new code live within a second.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { ModuleView, PeerView } from "../../src/node/node-introspection.ts";
import { type ManagedNode, managedNodeTracker } from "../helpers/management-node.ts";
import { getJson, NX_BIN, tempDir } from "../helpers/nx-process.ts";
import { documented } from "../management/openapi-conformance.ts";
import { versionedGuest } from "./versioned-guest.ts";

const nodes = managedNodeTracker();
const dir = tempDir("nx-reload-api-");
after(async () => {
  await nodes.stopAll();
  dir.remove();
});

const WASM = "application/wasm";

/** A node running `app` (v1 of the versioned guest) that serves its routes and exposes its CRDTs. */
async function appNode(name: string, peers: readonly number[] = []): Promise<ServingNode> {
  // The module id is the file's name: every node runs "app".
  mkdirSync(join(dir.path, `${name}-code`));
  const path = join(dir.path, `${name}-code`, "app.wasm");
  writeFileSync(path, await versionedGuest({ version: "v1" }));
  const node = documented(
    await nodes.node({
      datastore: join(dir.path, name),
      modules: [path],
      args: [
        "--serve",
        "127.0.0.1:0",
        "--observability-listen",
        "127.0.0.1:0",
        "--observability-expose-data",
        ...peers.flatMap((port) => ["--peer", `127.0.0.1:${port}`]),
      ],
    }),
  );
  const serveUrl = (await node.nx.waitFor(/serving HTTP url=(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
  const observabilityUrl = (
    await node.nx.waitFor(/observability: listening url=(http:\/\/127\.0\.0\.1:\d+)/)
  )[1]!;
  return { ...node, modulePath: path, serveUrl, observabilityUrl };
}

interface ServingNode extends ManagedNode {
  readonly modulePath: string;
  readonly serveUrl: string;
  readonly observabilityUrl: string;
}

async function text(url: string, method = "GET"): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { method, signal: AbortSignal.timeout(10_000) });
  return { status: response.status, text: await response.text() };
}

function errorCode(body: unknown): string {
  return (body as { error: { code: string } }).error.code;
}

describe("the module routes of the management API", () => {
  test("add, reload (bytes or the file again), remove, and the refusals", async () => {
    const node = await appNode("routes");
    const v2 = await versionedGuest({ version: "v2" });

    const reloaded = await node.api("POST", "/modules/app/reload", { body: v2, contentType: WASM });
    assert.equal(reloaded.status, 200, JSON.stringify(reloaded.body));
    const { module, reloadMs } = reloaded.body as { module: ModuleView; reloadMs: number };
    assert.equal(module.reloads, 1);
    assert.equal(module.hash, createHash("sha256").update(v2).digest("hex"));
    assert.equal(module.state, "running");
    assert.ok(reloadMs >= 0 && reloadMs < 1000, `reloadMs ${reloadMs}`);
    assert.deepEqual(await text(`${node.serveUrl}/version`), { status: 200, text: "v2" });

    // Empty body: the module's file is read again.
    writeFileSync(node.modulePath, await versionedGuest({ version: "v3" }));
    const again = await node.api("POST", "/modules/app/reload");
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.deepEqual(await text(`${node.serveUrl}/version`), { status: 200, text: "v3" });

    // `nx reload` goes through this route: the file given, then the module's own file again.
    const nxReload = (args: readonly string[]) =>
      execFileSync(
        process.execPath,
        [
          NX_BIN,
          "reload",
          "app",
          ...args,
          "--node",
          node.url,
          "--token-file",
          join(node.datastore, "management.token"),
        ],
        { encoding: "utf8" },
      );
    const v4 = join(dir.path, "v4.wasm");
    writeFileSync(v4, await versionedGuest({ version: "v4" }));
    assert.match(nxReload([v4]), /^reloaded app in \d+ ms \(code sha256 [0-9a-f]{12}, reload 3\)\n$/);
    assert.deepEqual(await text(`${node.serveUrl}/version`), { status: 200, text: "v4" });
    assert.match(nxReload([]), /reload 4\)/);
    assert.deepEqual(await text(`${node.serveUrl}/version`), { status: 200, text: "v3" });

    // Code that fails to load: 422 with the loader's line; the old code goes on.
    const bad = await node.api("POST", "/modules/app/reload", {
      body: await versionedGuest({ version: "v9", fault: "mistyped-callback" }),
      contentType: WASM,
    });
    assert.equal(bad.status, 422);
    assert.equal(errorCode(bad.body), "MODULE_INVALID");
    assert.match((bad.body as { error: { message: string } }).error.message, /on_tick/);
    assert.deepEqual(await text(`${node.serveUrl}/version`), { status: 200, text: "v3" });
    const refusedLines = node.nx.stderr().match(/reload of module app refused: .*/g) ?? [];
    assert.equal(refusedLines.length, 1, "one log line for the refusal");

    assert.equal((await node.api("POST", "/modules/nope/reload")).status, 404);
    const wrongType = await node.api("POST", "/modules/app/reload", { body: v2, contentType: "text/plain" });
    assert.equal(errorCode(wrongType.body), "BAD_REQUEST");

    const other = await versionedGuest({ version: "o1", prefix: "/other" });
    assert.equal(
      errorCode((await node.api("POST", "/modules", { body: other, contentType: WASM })).body),
      "BAD_REQUEST",
    );
    const added = await node.api("POST", "/modules?id=other", { body: other, contentType: WASM });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    const view = added.body as ModuleView;
    assert.deepEqual(
      [view.id, view.path, view.reactive, view.state, view.reloads],
      ["other", null, true, "running", 0],
    );
    assert.deepEqual(await text(`${node.serveUrl}/other/version`), { status: 200, text: "o1" });
    const taken = await node.api("POST", "/modules?id=other", { body: other, contentType: WASM });
    assert.equal(taken.status, 409);
    // Added as bytes: there is no file to read again.
    assert.equal(errorCode((await node.api("POST", "/modules/other/reload")).body), "BAD_REQUEST");
    const clash = await node.api("POST", "/modules?id=clash", {
      body: await versionedGuest({ version: "c1" }),
      contentType: WASM,
    });
    assert.equal(clash.status, 422, "routes that clash with app's are refused");
    assert.equal(
      (await node.api("POST", "/modules", { body: other, contentType: WASM, token: node.readToken })).status,
      403,
    );

    assert.equal((await node.api("DELETE", "/modules/other")).status, 204);
    assert.equal((await node.api("GET", "/modules/other")).status, 404);
    assert.equal((await text(`${node.serveUrl}/other/version`)).status, 404);
    assert.equal((await node.api("DELETE", "/modules/other")).status, 404);
    const modules = (await node.api("GET", "/modules")).body as ModuleView[];
    assert.deepEqual(
      modules.map(({ id }) => id),
      ["app"],
    );
  });
});

describe("the module routes under policies (policy.default deny)", () => {
  test("a module added without a policy is 422 MODULE_INVALID; one with [modules.<id>] policy runs with it", async () => {
    const code = join(dir.path, "policies-code");
    mkdirSync(code);
    const path = join(code, "app.wasm");
    writeFileSync(path, await versionedGuest({ version: "v1" }));
    writeFileSync(join(code, "app.policy.toml"), '[capabilities]\ndb.write = ["*"]\nnetwork.serve = true\n');
    // `other` may serve, and write no key: its `init` writing init-o1 is denied.
    writeFileSync(join(code, "other.policy.toml"), "[capabilities]\nnetwork.serve = true\n");
    writeFileSync(
      join(code, "numax.toml"),
      `[modules.other]\npolicy = ${JSON.stringify(join(code, "other.policy.toml"))}\n`,
    );
    const node = documented(
      await nodes.node({
        datastore: join(dir.path, "policies"),
        modules: [path],
        args: ["--serve", "127.0.0.1:0", "--config", join(code, "numax.toml")],
        env: { NX_POLICY_DEFAULT: "deny" },
      }),
    );
    const serveUrl = (await node.nx.waitFor(/serving HTTP url=(http:\/\/127\.0\.0\.1:\d+)/))[1]!;

    const missing = await node.api("POST", "/modules?id=stranger", {
      body: await versionedGuest({ version: "s1", prefix: "/s" }),
      contentType: WASM,
    });
    assert.equal(missing.status, 422, JSON.stringify(missing.body));
    assert.equal(errorCode(missing.body), "MODULE_INVALID");
    assert.match((missing.body as { error: { message: string } }).error.message, /has no policy/);
    assert.equal((await node.api("GET", "/modules/stranger")).status, 404);

    const added = await node.api("POST", "/modules?id=other", {
      body: await versionedGuest({ version: "o1", prefix: "/other" }),
      contentType: WASM,
    });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    assert.deepEqual(await text(`${serveUrl}/other/version`), { status: 200, text: "o1" });
    await node.nx.waitFor(/policy denied db_set: db\.write "other\/init-o1" is not granted to module other/);
  });
});

describe("a reload under sync load on three nodes", () => {
  test("no acknowledged op lost, no peer connection dropped, the new code live within a second", async () => {
    const a = await appNode("a");
    const b = await appNode("b", [a.syncPort!]);
    const c = await appNode("c", [a.syncPort!, b.syncPort!]);
    const cluster = [a, b, c];
    const connected = async (node: ServingNode): Promise<PeerView[]> =>
      ((await node.api("GET", "/peers")).body as PeerView[]).filter((peer) => peer.state === "connected");
    await until(async () => (await Promise.all(cluster.map(connected))).every((peers) => peers.length === 2));
    const peersBefore = await Promise.all(cluster.map(connected));

    // Load: every node takes POST /inc without pause (an answer is an acknowledged, durable op
    // that sync carries to the other two), four clients each.
    let acknowledged = 0;
    const failures: string[] = [];
    let loading = true;
    const client = async (node: ServingNode) => {
      while (loading) {
        try {
          const answer = await text(`${node.serveUrl}/inc`, "POST");
          if (answer.status === 200) acknowledged++;
          else failures.push(`${answer.status} ${answer.text}`);
        } catch (error) {
          failures.push(String(error));
        }
      }
    };
    const clients = cluster.flatMap((node) => [0, 1, 2, 3].map(() => client(node)));
    const v2 = await versionedGuest({ version: "v2" });
    let reloads: { reloadMs: number; liveMs: number }[];
    try {
      await until(async () => acknowledged > 300);
      reloads = await Promise.all(
        cluster.map(async (node) => {
          const startedMs = performance.now();
          const answer = await node.api("POST", "/modules/app/reload", { body: v2, contentType: WASM });
          assert.equal(answer.status, 200, JSON.stringify(answer.body));
          // In effect: the next request runs the new code.
          assert.deepEqual(await text(`${node.serveUrl}/version`), { status: 200, text: "v2" });
          return {
            reloadMs: (answer.body as { reloadMs: number }).reloadMs,
            liveMs: performance.now() - startedMs,
          };
        }),
      );
      const atReload = acknowledged;
      await until(async () => acknowledged > atReload + 300);
    } finally {
      loading = false;
      await Promise.all(clients);
    }
    for (const { reloadMs, liveMs } of reloads) {
      assert.ok(reloadMs < 1000 && liveMs < 1000, `reloadMs ${reloadMs}, new code live after ${liveMs} ms`);
    }
    assert.deepEqual(failures, [], "every request during the reload was answered 200");

    // Every acknowledged op reaches every node.
    const counts = async () =>
      Promise.all(
        cluster.map(async (node) => {
          const { value } = (await getJson(`${node.observabilityUrl}/v1/crdt/gcounter/acked`)) as {
            value: string;
          };
          return BigInt(value);
        }),
      );
    await until(async () => (await counts()).every((count) => count === BigInt(acknowledged)));

    // The same connections, open since before the reload.
    const peersAfter = await Promise.all(cluster.map(connected));
    const shape = (peers: PeerView[]) =>
      peers
        .map(({ address, nodeId, direction, since }) => ({ address, nodeId, direction, since }))
        .sort(byAddress);
    assert.deepEqual(peersAfter.map(shape), peersBefore.map(shape));
    for (const node of cluster) {
      assert.doesNotMatch(node.nx.stderr(), /peer disconnected|connection closed/i);
    }
    console.log(
      `reload under load: ${acknowledged} acknowledged ops on 3 nodes; reloadMs ${reloads
        .map(({ reloadMs }) => Math.round(reloadMs))
        .join(", ")}; new code live after ${reloads.map(({ liveMs }) => Math.round(liveMs)).join(", ")} ms`,
    );
  });
});

function byAddress(x: { address: string }, y: { address: string }): number {
  return x.address.localeCompare(y.address);
}

async function until(condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error("timed out waiting for a condition");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
