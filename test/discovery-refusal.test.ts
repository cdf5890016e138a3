/**
 * mDNS finds candidates, mTLS decides: a node of another CA announcing the same service on the
 * LAN is dialled once, refused, dropped and not dialled again while it stays announced; the
 * nodes of the cluster connect and sync only with each other.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { multicastUnavailable } from "./helpers/multicast-probe.ts";
import { examplePath, getJson, nxCert, pollUntil, tempDir } from "./helpers/nx-process.ts";
import { datastoreOf, syncNodeTracker } from "./helpers/sync-node.ts";

const VISITS = examplePath("distributed_counter");
const root = tempDir("nx-discovery-refusal-");
const nodes = syncNodeTracker();
after(async () => {
  await nodes.stopAll();
  root.remove();
});

describe("mdns and mTLS", { timeout: 120_000 }, () => {
  test("a stranger from another CA is dropped once refused; the cluster's nodes connect", async (t) => {
    const unavailable = await multicastUnavailable("127.0.0.1");
    if (unavailable !== undefined) {
      t.skip(`this machine refuses multicast on loopback: ${unavailable}`);
      return;
    }
    const pki = join(root.path, "pki");
    nxCert(["ca", "--out", join(pki, "ca")]);
    nxCert(["ca", "--out", join(pki, "other-ca"), "--name", "Another CA"]);
    for (const name of ["a", "b"])
      nxCert(["node", "--ca-dir", join(pki, "ca"), "--name", name, "--out", join(pki, name)]);
    nxCert(["node", "--ca-dir", join(pki, "other-ca"), "--name", "s", "--out", join(pki, "s")]);
    const args = [
      "--discovery",
      "mdns",
      "--mdns-service",
      `_nxtls${process.pid}._tcp.local`,
      "--mdns-interface",
      "127.0.0.1",
      "--discovery-refresh-interval",
      "500ms",
    ];
    const [a, b, stranger] = await Promise.all(
      ["a", "b", "s"].map((name, i) =>
        nodes.node({
          datastore: datastoreOf(root.path, name),
          guest: VISITS,
          env: { NX_VISITS: String(10 ** i) },
          tls: { dir: join(pki, name) },
          args,
        }),
      ),
    );
    const dropped = new RegExp(`dropped a discovered peer.*127\\.0\\.0\\.1:${stranger.port}`, "g");
    await a.nx.waitFor(dropped);
    const value = await pollUntil(
      () => b.gcounter("visits"),
      (v) => v === 11n,
      20_000,
    );
    assert.equal(value, 11n, "b holds a's and its own visits");
    const view = (await getJson(`${a.url}/v1/node`)) as {
      sync: { connectedPeers: { nodeId: string }[]; configuredPeers: { address: string }[] };
    };
    assert.deepEqual(
      view.sync.connectedPeers.map((p) => p.nodeId),
      [b.nodeId],
    );
    assert.ok(!view.sync.configuredPeers.some((p) => p.address.endsWith(`:${stranger.port}`)));
    // The stranger keeps announcing itself (every 500 ms); it is not dialled again.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    assert.equal(a.nx.stderr().match(dropped)?.length, 1, "dropped once, never redialled");
    assert.equal(await a.gcounter("visits"), 11n, "nothing from the stranger got in");
  });
});
