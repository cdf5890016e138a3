/**
 * Multi-field map ops (`lww_map_batch`, `[sync] coalesce_map_writes`) and the builds that cannot
 * read them (docs/design/compatibility.md), with real processes, mTLS, TCP and LMDB:
 *
 * - a node with the switch on and a Numax 0.1.0 node (test/fixtures/releases/0.1.0/) refuse each
 *   other at the handshake, one line on each side naming the peer and the fix, and both keep
 *   running; started with the switch off, the same node syncs with 0.1.0 as before;
 * - a node with the switch off that holds such ops (from a peer with the switch on) ends its
 *   session with a 0.1.0 peer at the first one, and nothing is lost: once that peer runs this
 *   build it gets every field; and it takes the 0.1.0 peer back, without a restart, once those
 *   ops left its op-log (the peer gets a snapshot, which 0.1.0 reads);
 * - three nodes with the switch on converge on many map writes.
 *
 * The writers run this build's load guest (bench/guests/counter_load) writing distinct fields of
 * one LWW-Map (NX_GATE_KEYS); the 0.1.0 nodes run 0.1.0's, incrementing a GCounter.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { guestModulePath } from "../bench/gate/guest-modules.ts";
import { freePort, getJson, nxCert, pollUntil, REPO_ROOT, tempDir } from "./helpers/nx-process.ts";
import { type SyncNode, syncNodeTracker } from "./helpers/sync-node.ts";

const RELEASE = join(REPO_ROOT, "test/fixtures/releases/0.1.0");
const OLD_GUEST = join(RELEASE, "guests/counter_load.wasm");
const MAP_GUEST = guestModulePath("counter_load");
const MAP_KEY = "fields";
const SWITCH = "--sync-coalesce-map-writes";
const SYNC_WAIT_MS = 30_000;
const CANNOT_READ = /runs a build that cannot read multi-field map ops/;

describe("multi-field map ops and older builds", { timeout: 240_000 }, () => {
  const root = tempDir("nx-map-batch-");
  const nodes = syncNodeTracker();
  after(async () => {
    await nodes.stopAll();
    root.remove();
  });
  const pki = join(root.path, "pki");
  nxCert(["ca", "--out", join(pki, "ca")]);
  const certified = new Set<string>();
  /** The node `name`'s certificate, made once: a node restarted keeps its NodeId. */
  const tlsOf = (name: string) => {
    if (!certified.has(name))
      nxCert(["node", "--ca-dir", join(pki, "ca"), "--name", name, "--out", join(pki, name)]);
    certified.add(name);
    return { dir: join(pki, name) };
  };
  const logOf = (node: SyncNode) => node.nx.stderr() + node.nx.stdout();
  /** The node's lines about a peer that cannot read multi-field map ops, so far. */
  const cannotReadLines = (node: SyncNode) =>
    logOf(node)
      .split("\n")
      .filter((line) => CANNOT_READ.test(line));
  const running = (node: SyncNode) => node.nx.child.exitCode === null && node.nx.child.signalCode === null;

  /** 0.1.0 incrementing the GCounter `old-<name>` at 50/s. */
  const oldNode = (name: string, port: number | undefined, peers: readonly number[]) =>
    nodes.node({
      datastore: join(root.path, name),
      guest: OLD_GUEST,
      port,
      peers,
      tls: tlsOf(name),
      env: { NX_GATE_RATE: "50", NX_GATE_DURATION_MS: "600000", NX_GATE_COUNTER_KEY: `old-${name}` },
      bin: join(RELEASE, "nx.js"),
      exposeData: false,
    });

  /** This build writing `writes` distinct fields `<fieldPrefix><i>` of the LWW-Map MAP_KEY, at 500/s. */
  const mapWriter = (
    name: string,
    port: number,
    peers: readonly number[],
    writes: number,
    args: readonly string[],
    fieldPrefix = `${name}-`,
  ) =>
    nodes.node({
      datastore: join(root.path, name),
      guest: MAP_GUEST,
      port,
      peers,
      tls: tlsOf(name),
      env: {
        NX_GATE_RATE: "500",
        NX_GATE_DURATION_MS: String(writes * 2),
        NX_GATE_COUNTER_KEY: MAP_KEY,
        NX_GATE_KEYS: "1000000",
        NX_GATE_FIELD_PREFIX: fieldPrefix,
        NX_GATE_MIN_PEERS: String(peers.length),
      },
      args,
    });
  /** The writes the node's guest made, once its load ended. */
  const writesOf = async (node: SyncNode) =>
    Number((await node.nx.waitFor(/@gate \{"type":"final","done":(\d+)/, SYNC_WAIT_MS))[1]);
  const fieldsOf = async (node: SyncNode): Promise<number> => {
    const body = (await getJson(`${node.url}/v1/crdt/lww-map/${MAP_KEY}`)) as {
      entries?: Record<string, unknown>;
    };
    return Object.keys(body.entries ?? {}).length;
  };
  /** The node's own ops (its entry of its own version vector). */
  const ownOpsOf = async (node: SyncNode): Promise<number> => {
    const body = (await getJson(`${node.url}/v1/node`)) as {
      sync: { versionVector: Record<string, number> };
    };
    return body.sync.versionVector[node.nodeId] ?? 0;
  };

  test("three nodes with coalesce_map_writes converge on many map writes, in fewer ops than writes", async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    const writers = await Promise.all(
      ["m0", "m1", "m2"].map((name, i) =>
        mapWriter(
          name,
          ports[i]!,
          ports.filter((_, j) => j !== i),
          1500,
          [SWITCH],
        ),
      ),
    );
    const writes = await Promise.all(writers.map(writesOf));
    const total = writes.reduce((sum, n) => sum + n, 0);
    for (const node of writers) {
      const fields = await pollUntil(
        () => fieldsOf(node),
        (n) => n === total,
        SYNC_WAIT_MS,
      );
      assert.equal(fields, total, `node ${node.nodeId} holds every field written`);
    }
    for (const [i, node] of writers.entries()) {
      const ops = await ownOpsOf(node);
      assert.ok(
        ops > 0 && ops < writes[i]!,
        `node ${node.nodeId} made ${ops} ops of its ${writes[i]} writes`,
      );
    }
  });

  test("a node with the switch off ends its session with 0.1.0 at the first multi-field op it holds; nothing is lost", async () => {
    const [aPort, bPort, cPort] = [await freePort(), await freePort(), await freePort()];
    const cTls = tlsOf("c");
    const startC = (current: boolean) =>
      nodes.node({
        datastore: join(root.path, "c"),
        guest: OLD_GUEST,
        port: cPort,
        peers: [bPort],
        tls: cTls,
        env: {
          NX_GATE_RATE: "20",
          NX_GATE_DURATION_MS: "600000",
          NX_GATE_COUNTER_KEY: "old-c",
          NX_GATE_RESUME: "1",
        },
        ...(current ? {} : { bin: join(RELEASE, "nx.js"), exposeData: false }),
      });
    const c = await startC(false);
    // b: this build, the switch off (the default), between a and the 0.1.0 node c.
    const b = await nodes.node({
      datastore: join(root.path, "b"),
      guest: OLD_GUEST,
      port: bPort,
      peers: [aPort, cPort],
      tls: tlsOf("b"),
      env: { NX_GATE_RATE: "20", NX_GATE_DURATION_MS: "600000", NX_GATE_COUNTER_KEY: "new-b" },
    });
    // Before any multi-field op: b and 0.1.0 sync as before.
    assert.ok(
      (await pollUntil(
        () => c.gcounter("new-b"),
        (n) => n > 0n,
        SYNC_WAIT_MS,
      )) > 0n,
    );

    const a = await mapWriter("a", aPort, [bPort], 1000, [SWITCH]);
    const written = await writesOf(a);
    const ended = await b.nx.waitFor(/WARN .*runs a build that cannot read multi-field map ops[^\n]*/);
    assert.match(
      ended[0],
      new RegExp(
        `peer ${c.nodeId} at .*upgrade it to a Numax build that announces map-batch; node ${b.nodeId} holds such an op .* the op stays in the op-log and goes once the peer is upgraded`,
      ),
    );
    await c.nx.waitFor(/refused the connection \(rejected\): .*holds such an op/);
    assert.equal(
      await pollUntil(
        () => fieldsOf(b),
        (n) => n === written,
        SYNC_WAIT_MS,
      ),
      written,
    );
    // c redials (at its backoff: up to 1 s here), refused at the handshake from now on: b says so
    // once more (the listener's line), then nothing however often c redials.
    await b.nx.waitFor(/refused inbound connection from .*node [0-9a-f]{32} holds such an op/);
    const [first, second] = cannotReadLines(b);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.ok(running(b) && running(c), "both keep running");
    assert.deepEqual(
      cannotReadLines(b),
      [first, second],
      "one line for the session, one for the refused redials",
    );

    // c upgraded to this build (same datastore and certificate): it gets every field.
    await nodes.stop(c);
    const upgraded = await startC(true);
    const fields = await pollUntil(
      () => fieldsOf(upgraded),
      (n) => n === written,
      SYNC_WAIT_MS,
    );
    assert.equal(fields, written, "the upgraded node holds every field a wrote");
  });

  test("a node with the switch off accepts 0.1.0 again once the multi-field ops it held left its op-log; the snapshot carries them", async () => {
    const [aPort, bPort] = [await freePort(), await freePort()];
    // b keeps 40 ops, so a's later plain ops push its multi-field ones out.
    const b = await nodes.node({
      datastore: join(root.path, "b2"),
      guest: OLD_GUEST,
      port: bPort,
      peers: [aPort],
      tls: tlsOf("b2"),
      env: { NX_GATE_RATE: "20", NX_GATE_DURATION_MS: "600000", NX_GATE_COUNTER_KEY: "new-b2" },
      args: ["--op-log-limit", "40"],
    });
    const a = await mapWriter("a2", aPort, [bPort], 1000, [SWITCH]);
    const batched = await writesOf(a);
    await pollUntil(
      () => fieldsOf(b),
      (n) => n === batched,
      SYNC_WAIT_MS,
    );
    // 0.1.0 dials b, which holds multi-field ops its vector lacks: refused at the handshake.
    const c = await oldNode("c2", undefined, [bPort]);
    await b.nx.waitFor(/refused inbound connection from .*node [0-9a-f]{32} holds such an op/);
    await c.nx.waitFor(/refused the connection \(rejected\): .*holds such an op/);
    assert.equal(await b.gcounter("old-c2"), 0n, "no op of the 0.1.0 node arrived");

    // a again with the switch off: 200 plain ops, and b's op-log holds no multi-field op any more.
    await nodes.stop(a);
    const plain = await mapWriter("a2", aPort, [bPort], 200, [], "a2-plain-");
    const written = batched + (await writesOf(plain));
    // c redials at its backoff (up to 1 s here) and is accepted now: its ops reach b, and go on.
    const first = await pollUntil(
      () => b.gcounter("old-c2"),
      (n) => n > 0n,
      SYNC_WAIT_MS,
    );
    assert.ok(first > 0n, "b accepted the 0.1.0 node again, without a restart");
    const later = await pollUntil(
      () => b.gcounter("old-c2"),
      (n) => n > first + 40n,
      SYNC_WAIT_MS,
    );
    assert.ok(later > first + 40n, "the session lasts");
    assert.ok(running(b) && running(c));

    // What c got from b (a snapshot, then ops), read with this build and no peer.
    await nodes.stop(c);
    const cTls = tlsOf("c2");
    const alone = await nodes.node({
      datastore: join(root.path, "c2"),
      guest: OLD_GUEST,
      tls: cTls,
      env: {
        NX_GATE_RATE: "1",
        NX_GATE_DURATION_MS: "600000",
        NX_GATE_COUNTER_KEY: "old-c2",
        NX_GATE_RESUME: "1",
      },
    });
    assert.equal(await fieldsOf(alone), written, "c holds every field a wrote, the multi-field ops' too");
  });

  test("0.1.0 and a node with coalesce_map_writes refuse each other, one line per direction, and keep running; with the switch off they sync", async () => {
    // Each names the other as a peer: both dial, both are dialed.
    const newPort = await freePort();
    const old = await oldNode("old1", undefined, [newPort]);
    const newTls = tlsOf("new1");
    const newNode = (args: readonly string[]) =>
      nodes.node({
        datastore: join(root.path, "new1"),
        guest: OLD_GUEST,
        port: newPort,
        peers: [old.port],
        tls: newTls,
        env: {
          NX_GATE_RATE: "50",
          NX_GATE_DURATION_MS: "600000",
          NX_GATE_COUNTER_KEY: "new1",
          NX_GATE_RESUME: "1",
        },
        args,
      });
    const current = await newNode([SWITCH]);
    // Refused both ways: as a dialer, and as the listener the 0.1.0 node dials.
    await current.nx.waitFor(
      /WARN .*runs a build that cannot read multi-field map ops.* code=NET_FEATURE_MISSING/,
    );
    await current.nx.waitFor(
      /refused inbound connection from .*runs a build that cannot read multi-field map ops/,
    );
    await old.nx.waitFor(CANNOT_READ);
    const [dialed, accepted] = cannotReadLines(current);
    // The 0.1.0 node redials at its backoff (up to 1 s here), refused each time: no new line here.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.ok(running(old) && running(current), "both nodes keep running");
    assert.deepEqual(
      cannotReadLines(current),
      [dialed, accepted],
      "one line per direction, not one per redial",
    );
    assert.match(
      dialed!,
      new RegExp(
        `peer ${old.nodeId} at 127\\.0\\.0\\.1:${old.port} runs a build .*upgrade it to a Numax build that announces map-batch; node ${current.nodeId} has \\[sync\\] coalesce_map_writes = true`,
      ),
    );
    assert.match(
      old.nx.stderr() + old.nx.stdout(),
      new RegExp(
        `refused the connection \\(rejected\\): peer ${old.nodeId} at .* runs a build that cannot read`,
      ),
    );
    assert.equal(await current.gcounter("old-old1"), 0n, "no op of the 0.1.0 node arrived");

    // The same node with the switch off (the default): syncs with 0.1.0 both ways, as before.
    await nodes.stop(current);
    const plain = await newNode([]);
    const seen = await pollUntil(
      () => plain.gcounter("old-old1"),
      (count) => count > 0n,
      SYNC_WAIT_MS,
    );
    assert.ok(seen > 0n, "the node with the switch off gets 0.1.0's ops");
    const ownSeen = await pollUntil(
      () => old.gcounter("new1"),
      (count) => count > 0n,
      SYNC_WAIT_MS,
    );
    assert.ok(ownSeen > 0n, "0.1.0 gets the ops of the node with the switch off");
    assert.ok(running(old));
  });
});
