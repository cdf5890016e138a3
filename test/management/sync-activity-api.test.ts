/**
 * GET /api/v1/ops, /throughput and /convergence on real nodes (the figures the dashboard shows):
 * the op ring holds ops made here (`out`) and applied from a peer (`in`), filtered by key prefix,
 * family, peer and `after`; the throughput meter counts them and the propagation latency of the
 * ones that came in; convergence compares this node's vector with the peer's reports. Every
 * answer is checked against docs/api/openapi.yaml.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { ConvergenceView } from "../../src/node/convergence.ts";
import type { OpFlowView } from "../../src/node/node-introspection.ts";
import type { ThroughputView } from "../../src/node/throughput-meter.ts";
import { type DashboardNode, dashboardNodes } from "../helpers/dashboard-node.ts";
import { managedNodeTracker } from "../helpers/management-node.ts";
import { guestPath, pollUntil, tempDir } from "../helpers/nx-process.ts";

const nodes = dashboardNodes();
const managed = managedNodeTracker();
let dir: ReturnType<typeof tempDir>;
let a: DashboardNode;
let b: DashboardNode;

describe("the op ring, throughput and convergence through the management API", { timeout: 90_000 }, () => {
  before(async () => {
    dir = tempDir("nx-sync-activity-");
    a = await nodes.start({ datastore: join(dir.path, "a") });
    b = await nodes.start({ datastore: join(dir.path, "b"), peers: [a.syncPort] });
    await pollUntil(
      () => a.api<{ state: string }[]>("/peers"),
      (peers) => peers.some((peer) => peer.state === "connected"),
      15_000,
    );
  });

  after(async () => {
    await nodes.stopAll();
    await managed.stopAll();
    dir?.remove();
  });

  test("GET /ops: ops out and in, oldest first, filtered", async () => {
    await a.write("gcounter", "visits");
    await a.write("lww-register", "title", "hello");
    await b.write("orset", "tags", "blue");
    const all = await pollUntil(
      () => a.api<OpFlowView>("/ops"),
      ({ ops }) => ops.some((op) => op.key === "tags"),
      15_000,
    );
    assert.deepEqual(
      all.ops.map(({ direction, peer, origin, key, family, type }) => [
        direction,
        peer,
        origin,
        key,
        family,
        type,
      ]),
      [
        ["out", null, a.nodeId, "visits", "gcounter", "gcounter_inc"],
        ["out", null, a.nodeId, "title", "lww-register", "lww_set"],
        ["in", b.nodeId, b.nodeId, "tags", "orset", "orset_add"],
      ],
    );
    assert.equal(all.lastSeq, all.ops.at(-1)!.seq);
    const keys = async (query: string) => (await a.api<OpFlowView>(`/ops?${query}`)).ops.map((op) => op.key);
    assert.deepEqual(await keys("key=ti"), ["title"]);
    assert.deepEqual(await keys("family=gcounter"), ["visits"]);
    assert.deepEqual(await keys(`peer=${b.nodeId.slice(0, 6)}`), ["tags"]);
    assert.deepEqual(await keys(`after=${all.ops[1]!.seq}`), ["tags"]);
    assert.deepEqual(await keys("limit=1"), ["tags"]);
    const bad = await a.get("/ops?family=set");
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body, {
      error: {
        code: "BAD_REQUEST",
        message: "family must be one of gcounter, pncounter, lww-register, lww-map, orset, rga",
      },
    });
  });

  test("GET /throughput: the ops counted per second and the propagation latency of those that came in", async () => {
    const view = await a.api<ThroughputView>("/throughput");
    const sum = (field: "opsIn" | "opsOut") =>
      view.perSecond.reduce((total, second) => total + second[field], 0);
    assert.equal(sum("opsOut"), 2);
    assert.equal(sum("opsIn"), 1);
    assert.equal(view.propagationMs.samples, 1);
    assert.ok(view.propagationMs.p50! >= 0 && view.propagationMs.p50! < 5000, String(view.propagationMs.p50));
    assert.deepEqual(view.errors, {});
  });

  test("GET /convergence: the peer's reported vector catches up with this node's; nothing suspected", async () => {
    const view = await pollUntil(
      () => a.api<ConvergenceView>("/convergence"),
      ({ peers }) =>
        peers.some((peer) => peer.nodeId === b.nodeId && peer.missingOps === 0 && peer.extraOps === 0),
      15_000,
    );
    assert.equal(view.nodeId, a.nodeId);
    assert.deepEqual(view.versionVector, { [a.nodeId]: 2, [b.nodeId]: 1 });
    const peer = view.peers.find((candidate) => candidate.nodeId === b.nodeId)!;
    assert.deepEqual(peer.versionVector, view.versionVector);
    assert.equal(peer.state, "connected");
    assert.equal(view.suspectedDivergence, false);
  });

  test("a node without sync answers all three 503 UNAVAILABLE", async () => {
    const lone = await managed.node({
      datastore: join(dir.path, "lone"),
      modules: [guestPath("reactive_probe")],
      sync: false,
    });
    for (const path of ["/ops", "/throughput", "/convergence"]) {
      const answer = await lone.api("GET", path);
      assert.equal(answer.status, 503, path);
      assert.equal((answer.body as { error: { code: string } }).error.code, "UNAVAILABLE");
    }
  });
});
