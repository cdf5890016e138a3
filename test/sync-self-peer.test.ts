/**
 * A peer list that names this node's own address (one list shared by every node of a cluster):
 * the node notices it is itself, never dials it again, does not wait for it (`--wait-before-run`)
 * and does not count it among the peers that refused it (a one-shot run succeeds).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, test } from "node:test";
import { examplePath, freePort, type NxProcess, startNx, stopNx, tempDir } from "./helpers/nx-process.ts";
import { syncNodeTracker } from "./helpers/sync-node.ts";

const dir = tempDir("nx-self-peer-");
const nodes = syncNodeTracker();
const running = new Set<NxProcess>();
after(async () => {
  await Promise.all([...running].map((nx) => stopNx(nx, 3000)));
  await nodes.stopAll();
  dir.remove();
});

function oneShot(port: number, peers: readonly number[], name: string): NxProcess {
  const nx = startNx(
    [
      "run",
      examplePath("distributed_counter"),
      "--datastore-path",
      join(dir.path, name),
      "--listen",
      `127.0.0.1:${port}`,
      ...peers.flatMap((peer) => ["--peer", `127.0.0.1:${peer}`]),
      "--tls-insecure",
      "--wait-before-run",
      "30s",
      "--settle-for",
      "300ms",
      "--reconnect-initial-delay",
      "100ms",
      "--print-gcounter",
      "visits",
    ],
    { NX_VISITS: "2" },
  );
  running.add(nx);
  return nx;
}

test("its own address in the peer list is skipped, not waited for, and the other peer syncs", async () => {
  const a = await nodes.node({
    datastore: join(dir.path, "a"),
    guest: examplePath("distributed_counter"),
    env: { NX_VISITS: "3" },
  });
  const port = await freePort();
  const started = performance.now();
  const b = oneShot(port, [port, a.port], "b");
  const { code } = await b.exited;
  assert.equal(code, 0, b.stderr());
  // --wait-before-run is 30 s: it ended once A connected, without waiting for itself.
  assert.ok(performance.now() - started < 20_000, `took ${Math.round(performance.now() - started)} ms`);
  assert.match(b.stderr(), /peer address is this node itself; not dialing it again/);
  assert.match(b.stdout(), /^visits = 5$/m);
});

test("a node whose only peer is itself runs alone and succeeds", async () => {
  const port = await freePort();
  const b = oneShot(port, [port], "alone");
  const { code } = await b.exited;
  assert.equal(code, 0, b.stderr());
  assert.doesNotMatch(b.stderr(), /every configured peer refused/);
  assert.match(b.stdout(), /^visits = 2$/m);
});
