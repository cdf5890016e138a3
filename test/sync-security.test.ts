import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { LoopbackProxy } from "../bench/gate/loopback-proxy.ts";
import type { NodeId } from "../src/identity/node-id.ts";
import { encodeFrame } from "../src/net/frame.ts";
import { PROTOCOL_VERSION } from "../src/net/messages.ts";
import { guestPath, nxCert, pollUntil, tempDir } from "./helpers/nx-process.ts";
import { datastoreOf, syncNodeTracker } from "./helpers/sync-node.ts";
import { helloFrom, rawPeer } from "./net/helpers/raw-peer.ts";

const COUNTER = guestPath("counter_loop");
const root = tempDir("nx-sync-security-");
const nodes = syncNodeTracker();
const { node, stop } = nodes;
after(async () => {
  await nodes.stopAll();
  root.remove();
});

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("sync security end to end", { timeout: 120_000 }, () => {
  test("mTLS: a peer from another CA and a valid peer outside the allowlist get no op in", async () => {
    const pki = join(root.path, "pki");
    nxCert(["ca", "--out", join(pki, "ca")]);
    nxCert(["ca", "--out", join(pki, "other-ca"), "--name", "Another CA"]);
    const ids: Record<string, string> = {};
    for (const name of ["a", "b", "c"]) {
      ids[name] = nxCert(["node", "--ca-dir", join(pki, "ca"), "--name", name, "--out", join(pki, name)])
        .nodeId!;
    }
    nxCert(["node", "--ca-dir", join(pki, "other-ca"), "--name", "d", "--out", join(pki, "d")]);

    const a = await node({
      datastore: datastoreOf(root.path, "tls-a"),
      guest: COUNTER,
      env: { NX_COUNT: "1" },
      tls: { dir: join(pki, "a"), allowedPeers: [ids.b] },
    });
    assert.equal(a.nodeId, ids.a, "the NodeId is derived from the certificate");
    const b = await node({
      datastore: datastoreOf(root.path, "tls-b"),
      guest: COUNTER,
      peers: [a.port],
      env: { NX_COUNT: "2" },
      tls: { dir: join(pki, "b") },
    });
    const outsiders = await Promise.all(
      ["c", "d"].map((name, i) =>
        node({
          datastore: datastoreOf(root.path, `tls-${name}`),
          guest: COUNTER,
          peers: [a.port],
          env: { NX_COUNT: String(100 * (i + 1)) },
          tls: { dir: join(pki, name) },
        }),
      ),
    );
    const value = await pollUntil(
      () => a.gcounter("hits"),
      (v) => v === 3n,
      15_000,
    );
    assert.equal(value, 3n, "a holds its own and b's increments");
    await settle(1500); // c and d keep redialing meanwhile
    assert.equal(await a.gcounter("hits"), 3n, "nothing from c (not allowed) or d (other CA) got in");
    assert.equal(await b.gcounter("hits"), 3n);
    await a.nx.waitFor(/not_authorized|not in the allowlist|allowed/i, 5000);
    await Promise.all([a, b, ...outsiders].map(stop));
  });

  test("a node whose datastore was wiped under the same certificate takes its own ops back before making new ones", async () => {
    const pki = join(root.path, "pki-wiped");
    nxCert(["ca", "--out", join(pki, "ca")]);
    for (const name of ["a", "b"])
      nxCert(["node", "--ca-dir", join(pki, "ca"), "--name", name, "--out", join(pki, name)]);
    const a = await node({
      datastore: datastoreOf(root.path, "wiped-a"),
      guest: COUNTER,
      env: { NX_COUNT: "1" },
      tls: { dir: join(pki, "a") },
    });
    const bStore = datastoreOf(root.path, "wiped-b");
    const b = await node({
      datastore: bStore,
      guest: COUNTER,
      peers: [a.port],
      env: { NX_COUNT: "2" },
      tls: { dir: join(pki, "b") },
    });
    await pollUntil(
      () => a.gcounter("hits"),
      (v) => v === 3n,
      15_000,
    );
    await stop(b);
    rmSync(bStore, { recursive: true, force: true });
    // Same certificate, so the same NodeId, and an empty datastore: without taking its old op
    // back first, b's next op would reuse sequence 1 and a would drop it as a duplicate.
    const again = await node({
      datastore: bStore,
      guest: COUNTER,
      peers: [a.port],
      env: { NX_COUNT: "3" },
      tls: { dir: join(pki, "b") },
    });
    await again.nx.waitFor(/missing ops it made before; taking them back from peers/, 10_000);
    const expected = 1n + 2n + 3n;
    assert.equal(
      await pollUntil(
        () => a.gcounter("hits"),
        (v) => v === expected,
        15_000,
      ),
      expected,
      "a counts b's new increments",
    );
    assert.equal(
      await pollUntil(
        () => again.gcounter("hits"),
        (v) => v === expected,
        15_000,
      ),
      expected,
      "b kept its old increments and added the new ones",
    );
    await Promise.all([a, again].map(stop));
  });

  test("garbage bytes, an absurd length, a slow drip and a wrong protocol version leave the node serving", async () => {
    const a = await node({
      datastore: datastoreOf(root.path, "hostile-a"),
      guest: COUNTER,
      env: { NX_COUNT: "1" },
      args: ["--socket-timeout-secs", "2"],
    });
    const address = `127.0.0.1:${a.port}`;

    const garbage = await rawPeer(address);
    await garbage.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    await garbage.closed;

    const absurd = await rawPeer(address);
    await absurd.write(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x01]));
    await absurd.closed;

    const wrongVersion = await rawPeer(address);
    await wrongVersion.send(
      helloFrom("0123456789abcdef0123456789abcdef" as NodeId, { protocolVersion: PROTOCOL_VERSION + 1 }),
    );
    await wrongVersion.closed;
    const refusal = wrongVersion.messages().find((m) => m.type === "Error");
    assert.ok(refusal !== undefined && refusal.type === "Error" && refusal.code === "protocol_mismatch");

    const drip = await rawPeer(address);
    const frame = encodeFrame({ format: "msgpack", body: new Uint8Array(64) }, 1 << 20);
    const started = Date.now();
    for (let i = 0; i < frame.length && !drip.socket.destroyed; i++) {
      await drip.write(frame.subarray(i, i + 1)).catch(() => {});
      await settle(300);
      if (Date.now() - started > 8000) break;
    }
    await drip.closed;
    assert.ok(Date.now() - started < 8000, "the slow-drip peer was dropped by the socket timeout");

    const b = await node({
      datastore: datastoreOf(root.path, "hostile-b"),
      guest: COUNTER,
      peers: [a.port],
      env: { NX_COUNT: "4" },
    });
    const value = await pollUntil(
      () => a.gcounter("hits"),
      (v) => v === 5n,
      15_000,
    );
    assert.equal(value, 5n, "the node still syncs with a well-behaved peer");
    await Promise.all([a, b].map(stop));
  });

  test("a partition heals: a node cut off while it made changes converges after the link returns", async () => {
    const a = await node({
      datastore: datastoreOf(root.path, "part-a"),
      guest: COUNTER,
      env: { NX_COUNT: "10" },
    });
    const proxy = await LoopbackProxy.start({ targetPort: a.port });
    proxy.cut();
    try {
      const c = await node({
        datastore: datastoreOf(root.path, "part-c"),
        guest: COUNTER,
        peers: [proxy.port],
        env: { NX_COUNT: "20" },
      });
      await settle(1000);
      assert.equal(await a.gcounter("hits"), 10n, "nothing crossed the partition");
      assert.equal(await c.gcounter("hits"), 20n);
      proxy.heal();
      const healedAt = Date.now();
      for (const n of [a, c]) {
        const v = await pollUntil(
          () => n.gcounter("hits"),
          (x) => x === 30n,
          15_000,
        );
        assert.equal(v, 30n);
      }
      // Redial backoff is capped at 1 s in these nodes; anti-entropy runs on connect.
      assert.ok(Date.now() - healedAt < 5000, `converged ${Date.now() - healedAt} ms after healing`);
      await Promise.all([a, c].map(stop));
    } finally {
      await proxy.close();
    }
  });
});
