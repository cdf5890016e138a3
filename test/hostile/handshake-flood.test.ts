import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { NodeId } from "../../src/identity/node-id.ts";
import { DEFAULT_MAX_MESSAGE_SIZE_BYTES, encodeFrame } from "../../src/net/frame.ts";
import { freePort, guestPath, NX_BIN, pollUntil, tempDir } from "../helpers/nx-process.ts";
import { datastoreOf, type SyncNode, syncNodeTracker } from "../helpers/sync-node.ts";
import { helloFrom } from "../net/helpers/raw-peer.ts";
import { codec } from "../net/transport-contract.ts";

/**
 * Connection floods against real `nx run` nodes (real TLS and plain TCP on loopback). Every
 * address in 127.0.0.0/8 is loopback on Linux, so flooding clients bind to 127.0.0.2 and up
 * (`localAddress`) while the cluster's own nodes connect from 127.0.0.1.
 */

const COUNTER = guestPath("counter_loop");
const root = tempDir("nx-hostile-flood-");
const nodes = syncNodeTracker();
const floods: Flood[] = [];
after(async () => {
  for (const flood of floods) flood.destroy();
  await nodes.stopAll();
  root.remove();
});

/** Defaults of `ConnectionLimits` (docs/LIMITS.md) that these tests check from outside. */
const MAX_PENDING_HANDSHAKES = 128;
const RESERVED_FOR_KNOWN_PEERS = 16;
const MAX_PENDING_PER_ADDRESS = 16;
const MAX_CONNECTIONS_PER_ADDRESS = 32;

interface Flood {
  /** Sockets still open: connected, and not (yet) closed by the node. */
  kept(): number;
  /**
   * Waits until at most `count` sockets are open: a connected socket may still sit in the
   * node's accept queue, so "connected" alone says nothing about what the node decided. The
   * handshake timeout (30 s) is far longer than `timeoutMs`, so only refusals can get it there.
   */
  settlesAtMost(count: number, timeoutMs?: number): Promise<number>;
  destroy(): void;
}

/**
 * Opens `perAddress` sockets from each of `addresses` to `port`, each sending `firstBytes` (or
 * nothing: a client that never starts its handshake). With `awaitReply`, resolves once every
 * socket got a first byte back or was closed; otherwise once every socket connected or closed.
 */
async function flood(
  port: number,
  addresses: readonly string[],
  perAddress: number,
  firstBytes: (index: number) => Uint8Array | undefined = () => undefined,
  awaitReply = false,
): Promise<Flood> {
  const sockets: Socket[] = [];
  const open = new Set<Socket>();
  const result: Flood = {
    kept: () => open.size,
    settlesAtMost: (count, timeoutMs = 15_000) =>
      pollUntil(
        async () => open.size,
        (n) => n <= count,
        timeoutMs,
      ),
    destroy: () => {
      for (const socket of sockets) socket.destroy();
    },
  };
  floods.push(result);
  let index = 0;
  for (const localAddress of addresses) {
    const settled = Array.from({ length: perAddress }, () => {
      const socket = connect({ host: "127.0.0.1", port, localAddress });
      const bytes = firstBytes(index++);
      sockets.push(socket);
      socket.on("error", () => {});
      return new Promise<void>((resolve) => {
        socket.once("connect", () => {
          open.add(socket);
          if (bytes !== undefined) socket.write(bytes);
          if (!awaitReply) resolve();
        });
        socket.once("data", () => resolve());
        socket.once("close", () => {
          open.delete(socket);
          resolve();
        });
      });
    });
    await Promise.all(settled);
  }
  return result;
}

function loopbackAddresses(first: number, count: number): string[] {
  return Array.from(
    { length: count },
    (_, i) => `127.0.${Math.floor((first + i) / 250)}.${((first + i) % 250) + 2}`,
  );
}

/** The slowest of `samples` GETs of `/health`, in milliseconds. */
async function slowestHealthMs(node: SyncNode, samples: number): Promise<number> {
  let slowest = 0;
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    const response = await fetch(`${node.url}/health`, { signal: AbortSignal.timeout(5000) });
    await response.arrayBuffer();
    assert.equal(response.status, 200);
    slowest = Math.max(slowest, performance.now() - started);
  }
  return slowest;
}

function cert(args: readonly string[]): { nodeId?: string } {
  const out = execFileSync(process.execPath, [NX_BIN, "cert", ...args, "--json"], { encoding: "utf8" });
  return JSON.parse(out) as { nodeId?: string };
}

function fakeNodeId(i: number): NodeId {
  return i.toString(16).padStart(32, "f") as NodeId;
}

describe("handshake floods against a real node", { timeout: 120_000 }, () => {
  test("TLS: 1 000 sockets that never send a ClientHello are capped before TLS, and a configured peer still connects and syncs", async (t) => {
    const pki = join(root.path, "pki");
    cert(["ca", "--out", join(pki, "ca")]);
    const idA = cert(["node", "--ca-dir", join(pki, "ca"), "--name", "a", "--out", join(pki, "a")]).nodeId!;
    const idB = cert(["node", "--ca-dir", join(pki, "ca"), "--name", "b", "--out", join(pki, "b")]).nodeId!;
    const portB = await freePort();
    const a = await nodes.node({
      datastore: datastoreOf(root.path, "tls-a"),
      guest: COUNTER,
      peers: [portB],
      env: { NX_COUNT: "1" },
      tls: { dir: join(pki, "a"), allowedPeers: [idB] },
    });
    // 100 addresses, 10 sockets each: no address reaches its own limit, only the node-wide one.
    const attack = await flood(a.port, loopbackAddresses(0, 100), 10);
    const kept = await attack.settlesAtMost(MAX_PENDING_HANDSHAKES - RESERVED_FOR_KNOWN_PEERS);
    assert.ok(
      kept <= MAX_PENDING_HANDSHAKES - RESERVED_FOR_KNOWN_PEERS,
      `the node holds ${kept} pending TLS handshakes from strangers (at most ${MAX_PENDING_HANDSHAKES - RESERVED_FOR_KNOWN_PEERS})`,
    );
    assert.ok(kept >= 100, `the flood filled the stranger slots (${kept} held)`);
    // Each GET fails after 5 s; the figure is for the report (under 100 ms on an idle machine).
    const slowest = await slowestHealthMs(a, 10);
    t.diagnostic(`slowest /health during the flood: ${Math.round(slowest)} ms`);

    // b is configured on a (--peer), so its address may use the slots kept for known peers.
    const b = await nodes.node({
      datastore: datastoreOf(root.path, "tls-b"),
      guest: COUNTER,
      port: portB,
      peers: [a.port],
      env: { NX_COUNT: "2" },
      tls: { dir: join(pki, "b"), allowedPeers: [idA] },
    });
    assert.equal(
      await pollUntil(
        () => a.gcounter("hits"),
        (v) => v === 3n,
        20_000,
      ),
      3n,
      "a holds its own and b's increments while the flood holds its slots",
    );
    // b's own dial got in through a's listener, not only a's dial to b.
    await a.nx.waitFor(
      new RegExp(`connected to peer ${idB} at 127\\.0\\.0\\.1:\\d+.*direction=inbound`),
      10_000,
    );
    assert.ok(attack.kept() <= MAX_PENDING_HANDSHAKES - RESERVED_FOR_KNOWN_PEERS);
    const refusalLines =
      a.nx
        .stderr()
        .match(/refused inbound connection from 127\.0\.\d+\.\d+:\d+: \d+ handshakes already pending/g) ?? [];
    assert.ok(refusalLines.length >= 1, "the refusals at accept are logged");
    // Hundreds of sockets were refused within seconds: at most a line per REFUSAL_LOG_INTERVAL_MS.
    assert.ok(refusalLines.length <= 4, `${refusalLines.length} refusal lines for one flood`);
    attack.destroy();
    await Promise.all([a, b].map(nodes.stop));
  });

  test("plain TCP: one address's idle sockets take at most its share, and another peer still connects and syncs", async () => {
    const a = await nodes.node({
      datastore: datastoreOf(root.path, "tcp-a"),
      guest: COUNTER,
      env: { NX_COUNT: "1" },
    });
    const attack = await flood(a.port, ["127.0.0.2"], 200);
    const kept = await attack.settlesAtMost(MAX_PENDING_PER_ADDRESS);
    assert.ok(
      kept <= MAX_PENDING_PER_ADDRESS,
      `one address holds ${kept} pending handshakes (at most ${MAX_PENDING_PER_ADDRESS})`,
    );
    const b = await nodes.node({
      datastore: datastoreOf(root.path, "tcp-b"),
      guest: COUNTER,
      peers: [a.port],
      env: { NX_COUNT: "2" },
    });
    assert.equal(
      await pollUntil(
        () => a.gcounter("hits"),
        (v) => v === 3n,
        20_000,
      ),
      3n,
      "b (not configured on a) got in while 127.0.0.2 flooded",
    );
    assert.match(
      a.nx.stderr(),
      /refused inbound connection from 127\.0\.0\.2:\d+: 16 handshakes already pending from this address/,
    );
    attack.destroy();
    await Promise.all([a, b].map(nodes.stop));
  });

  test("plain TCP: one address holds at most 32 connections even when each completes its handshake", async () => {
    const a = await nodes.node({
      datastore: datastoreOf(root.path, "tcp-total"),
      guest: COUNTER,
      env: { NX_COUNT: "1" },
      // The transport's per-address cap is under test, not the bounded set of connections (12 by default).
      args: ["--max-connections", "1024"],
    });
    const hello = (i: number) =>
      encodeFrame(
        { format: "msgpack", body: codec.encode(helloFrom(fakeNodeId(i)), "msgpack") },
        DEFAULT_MAX_MESSAGE_SIZE_BYTES,
      );
    // In batches below the pending share, so every batch completes its Hello exchange.
    const batches: Flood[] = [];
    for (let batch = 0; batch < 4; batch++) {
      batches.push(await flood(a.port, ["127.0.0.3"], 10, (i) => hello(batch * 10 + i), true));
    }
    // Each socket got its HelloAck or was closed: what is open now is what the node kept.
    const kept = batches.reduce((sum, each) => sum + each.kept(), 0);
    assert.equal(kept, MAX_CONNECTIONS_PER_ADDRESS, `127.0.0.3 holds ${kept} connections`);
    assert.match(
      a.nx.stderr(),
      /refused inbound connection from 127\.0\.0\.3:\d+: 32 connections already open from this address/,
    );
    for (const each of batches) each.destroy();
    await nodes.stop(a);
  });

  test("idle pending sockets are reaped after the handshake timeout", async () => {
    const a = await nodes.node({
      datastore: datastoreOf(root.path, "tcp-reap"),
      guest: COUNTER,
      env: { NX_COUNT: "1" },
      args: ["--socket-timeout-secs", "2"],
    });
    const idle = await flood(a.port, ["127.0.0.4"], 10);
    assert.equal(idle.kept(), 10);
    // The socket timeout is 2 s; without a handshake timeout they would stay open for good.
    assert.equal(await idle.settlesAtMost(0, 10_000), 0, "every idle socket was closed by the node");
    await nodes.stop(a);
  });
});

describe("peer slots against a real node", { timeout: 120_000 }, () => {
  test("strangers that complete their handshake cannot take the slot of a configured peer", async () => {
    const portB = await freePort();
    const a = await nodes.node({
      datastore: datastoreOf(root.path, "slots-a"),
      guest: COUNTER,
      peers: [portB],
      env: { NX_COUNT: "1" },
      args: ["--max-peers", "3"],
    });
    const hello = (i: number) =>
      encodeFrame(
        { format: "msgpack", body: codec.encode(helloFrom(fakeNodeId(100 + i)), "msgpack") },
        DEFAULT_MAX_MESSAGE_SIZE_BYTES,
      );
    // Three strangers for three slots, before b (configured on a) is even running.
    const strangers = await flood(a.port, ["127.0.0.5"], 3, hello, true);
    await a.nx.waitFor(/refusing peer: the remaining max_peers slots are kept for configured peers/, 5000);
    const b = await nodes.node({
      datastore: datastoreOf(root.path, "slots-b"),
      guest: COUNTER,
      port: portB,
      env: { NX_COUNT: "2" },
    });
    assert.equal(
      await pollUntil(
        () => a.gcounter("hits"),
        (v) => v === 3n,
        10_000,
      ),
      3n,
      "a reached b although strangers asked for every slot",
    );
    strangers.destroy();
    await Promise.all([a, b].map(nodes.stop));
  });
});
