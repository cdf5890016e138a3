/**
 * Reactive modules across three real nodes (child processes, TCP on loopback): a peer's op
 * reaches `on_remote_op` with its key, family and origin; peers connecting and leaving reach
 * `on_peer_connected` / `on_peer_disconnected` (a node killed with SIGKILL, then restarted);
 * published messages reach every subscriber in order per sender and never a non-subscriber.
 * Run once with the AssemblyScript probe and once with its C twin.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { guestPath, tempDir } from "../helpers/nx-process.ts";
import { datastoreOf, type SyncNode, syncNodeTracker } from "../helpers/sync-node.ts";

const nodes = syncNodeTracker();
const dir = tempDir("nx-reactive-cluster-");
after(async () => {
  await nodes.stopAll();
  dir.remove();
});

/** The payloads of `message <topic> <payload> <origin>` lines from `origin`, in the order printed. */
function messagesFrom(node: SyncNode, topic: string, origin: string): string[] {
  return [...node.nx.stdout().matchAll(new RegExp(`^message ${topic} (\\S+) ${origin}$`, "gm"))].map(
    (m) => m[1]!,
  );
}

for (const probe of ["reactive_probe", "reactive_probe_c"] as const) {
  describe(`three nodes running ${probe}`, () => {
    test("remote ops, peer events and messages reach the callbacks", async () => {
      const guest = guestPath(probe);
      const data = (name: string) => datastoreOf(dir.path, `${probe}-${name}`);
      // B subscribes to news/*, C to nothing; A publishes 1..5 on news/a at every tick.
      const b = await nodes.node({ datastore: data("b"), guest, env: { NX_PROBE_SUBSCRIBE: "news/*" } });
      const c = await nodes.node({ datastore: data("c"), guest, peers: [b.port] });
      await b.nx.waitFor(new RegExp(`^peer-connected ${c.nodeId}$`, "m"));
      const a = await nodes.node({
        datastore: data("a"),
        guest,
        peers: [b.port, c.port],
        env: { NX_PROBE_TICK_MS: "100", NX_PROBE_PUBLISH_TOPIC: "news/a", NX_PROBE_PUBLISH_COUNT: "5" },
      });

      // A's init incremented probe/inits: one remote op on B and on C, with A as its origin.
      for (const peer of [b, c]) {
        await peer.nx.waitFor(new RegExp(`^remote gcounter probe/inits ${a.nodeId}$`, "m"));
        await peer.nx.waitFor(new RegExp(`^peer-connected ${a.nodeId}$`, "m"));
      }
      assert.doesNotMatch(
        a.nx.stdout(),
        new RegExp(`^remote gcounter probe/inits ${a.nodeId}$`, "m"),
        "local ops never trigger on_remote_op",
      );

      // Three ticks' worth of messages on B, in the order A published them.
      await b.nx.waitFor(new RegExp(`(^message news/a 5 ${a.nodeId}$[\\s\\S]*){3}`, "m"));
      const received = messagesFrom(b, "news/a", a.nodeId);
      const firstWhole = received.indexOf("1");
      assert.deepEqual(received.slice(firstWhole, firstWhole + 15), [
        "1",
        "2",
        "3",
        "4",
        "5",
        "1",
        "2",
        "3",
        "4",
        "5",
        "1",
        "2",
        "3",
        "4",
        "5",
      ]);
      assert.doesNotMatch(c.nx.stdout(), /^message /m, "C subscribed to nothing");

      // C dies without a word: A and B see it leave; restarted on its datastore, they see it return.
      c.nx.child.kill("SIGKILL");
      await c.nx.exited;
      nodes.forget(c);
      for (const peer of [a, b]) await peer.nx.waitFor(new RegExp(`^peer-disconnected ${c.nodeId}$`, "m"));
      const again = await nodes.node({ datastore: data("c"), guest, peers: [a.port, b.port] });
      assert.equal(again.nodeId, c.nodeId);
      for (const peer of [a, b]) {
        await peer.nx.waitFor(new RegExp(`(^peer-connected ${c.nodeId}$[\\s\\S]*){2}`, "m"));
      }
      // A's shutdown callback increments probe/shutdowns: the op reaches B before A is gone.
      assert.equal((await nodes.stop(a)).code, 0, a.nx.stderr());
      await b.nx.waitFor(new RegExp(`^remote gcounter probe/shutdowns ${a.nodeId}$`, "m"), 5_000);
      for (const node of [b, again]) assert.equal((await nodes.stop(node)).code, 0, node.nx.stderr());
    });
  });
}
