/**
 * A node's own ops go to its peers once durable (docs/sync.md), and then at once: in the same
 * turn of the event loop as the commit that made them durable, not on a later one. Two
 * SyncServices over TCP on LMDB stores.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { serviceNodesIn } from "../helpers/sync-service-node.ts";

const start = serviceNodesIn("nx-local-ops-sent-");

test("a local op is pushed in the turn its store batch becomes durable, never before", async () => {
  const a = await start("a");
  const b = await start("b", { peers: [a.port] });
  await b.sink.until(() => b.sink.peerEvents.includes(`connected ${a.nodeId}`), "B connected to A");
  await a.replica.flushed();
  const stats = a.service.engine.stats;
  const batchesBefore = stats.batchesSent;

  a.replica.gcounterInc("visits", 1n);
  a.replica.flush();
  assert.equal(stats.batchesSent, batchesBefore, "not sent before its batch is durable");
  await a.replica.written();
  // Microtasks only: no timer or setImmediate of the event loop runs before these checks.
  for (let i = 0; i < 10; i++) await Promise.resolve();
  assert.equal(stats.batchesSent, batchesBefore + 1, "sent in the turn its commit completed");
  await b.sink.until(() => b.replica.gcounterValue("visits") === 1n, "B applied the increment");
});
