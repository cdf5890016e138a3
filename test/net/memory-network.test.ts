import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { advanceSettled } from "../../src/clock/settled-advance.ts";
import { createVirtualClock } from "../../src/clock/virtual-clock.ts";
import { createMemoryNetwork, type MemoryNetworkOptions } from "../../src/net/memory-transport.ts";
import type { SessionMessage } from "../../src/net/messages.ts";
import type { TestOp } from "./helpers/test-op.ts";
import { baseOptions, listenFor, nodeIdFor } from "./transport-contract.ts";

/** What only the in-memory network does: routing hooks, partitions, broken links, virtual time. */
async function connectedPair(
  t: { after(fn: () => unknown): void },
  options: MemoryNetworkOptions,
  limits = {},
) {
  const network = createMemoryNetwork(options);
  const a = network.transport({ ...baseOptions(), limits, nodeId: nodeIdFor("a") });
  const b = network.transport({ ...baseOptions(), limits, nodeId: nodeIdFor("b") });
  const server = await listenFor(b, "b", t);
  const outbound = await a.dial("b");
  t.after(() => outbound.close());
  return { network, a, b, server, outbound, inbound: await server.accepted() };
}

async function drain(
  connection: AsyncIterable<SessionMessage<TestOp>>,
  count: number,
): Promise<SessionMessage<TestOp>[]> {
  const out: SessionMessage<TestOp>[] = [];
  if (count === 0) return out;
  for await (const message of connection) {
    out.push(message);
    if (out.length === count) break;
  }
  return out;
}

describe("in-memory network", () => {
  test("routed delays never reorder a connection's messages", async (t) => {
    // A deterministic spread of delays: later messages often get shorter ones.
    const { outbound, inbound } = await connectedPair(t, {
      route: (packet) => (packet.message.type === "PushOpsAck" ? (packet.message.batchId * 7919) % 23 : 0),
    });
    const receiving = (async () => {
      const seen: number[] = [];
      for await (const message of inbound) {
        if (message.type === "PushOpsAck") seen.push(message.batchId);
        if (seen.length === 60) break;
      }
      return seen;
    })();
    for (let i = 0; i < 60; i++) await outbound.send({ type: "PushOpsAck", batchId: i, applied: 0 });
    assert.deepEqual(
      await receiving,
      Array.from({ length: 60 }, (_, i) => i),
    );
  });

  test("out of order (inOrder false), each frame keeps its own delay; a graceful close still comes last", async (t) => {
    const { outbound, inbound } = await connectedPair(t, {
      inOrder: false,
      route: (packet) => (packet.message.type === "PushOpsAck" ? (packet.message.batchId * 7919) % 23 : 0),
    });
    const receiving = (async () => {
      const seen: number[] = [];
      for await (const message of inbound) if (message.type === "PushOpsAck") seen.push(message.batchId);
      return seen;
    })();
    for (let i = 0; i < 60; i++) await outbound.send({ type: "PushOpsAck", batchId: i, applied: 0 });
    await outbound.close("done");
    const seen = await receiving;
    assert.deepEqual(
      [...seen].sort((x, y) => x - y),
      Array.from({ length: 60 }, (_, i) => i),
    );
    assert.notDeepEqual(
      seen,
      Array.from({ length: 60 }, (_, i) => i),
      "later frames overtook earlier ones",
    );
  });

  test("a route of several delays delivers the frame once per delay (duplication)", async (t) => {
    const { outbound, inbound } = await connectedPair(t, {
      route: (packet) => (packet.message.type === "PushOpsAck" && packet.message.batchId === 1 ? [0, 3] : 0),
    });
    for (let i = 0; i < 3; i++) await outbound.send({ type: "PushOpsAck", batchId: i, applied: 0 });
    const batches = (await drain(inbound, 4)).map((message) =>
      message.type === "PushOpsAck" ? message.batchId : -1,
    );
    assert.deepEqual(batches, [0, 1, 1, 2]);
  });

  test("out of order and duplicated, the handshake still travels as on a stream: once, and nothing overtakes it", async (t) => {
    // The handshake frames are slow and doubled, the session frames fast: a frame sent right after
    // the HelloAck would reach the dialer first, and a second Hello or HelloAck would end the
    // connection as a protocol violation (the split-brain simulation's nodes, isolated for good
    // once that counted as a refusal: reconnect_max_delay per redial).
    const clock = createVirtualClock();
    const network = createMemoryNetwork({
      clock,
      inOrder: false,
      route: (packet) =>
        packet.message.type === "Hello" || packet.message.type === "HelloAck" ? [20, 25] : 1,
    });
    const a = network.transport({ ...baseOptions(), nodeId: nodeIdFor("a") });
    const b = network.transport({ ...baseOptions(), nodeId: nodeIdFor("b") });
    const server = await listenFor(b, "b", t);
    const dialing = a.dial("b");
    dialing.catch(() => {});
    await advanceSettled(clock, 20);
    const inbound = await server.accepted();
    // Sent once the listener has answered the Hello: on a stream it comes after the HelloAck.
    await inbound.send({ type: "PushOpsAck", batchId: 7, applied: 0 });
    await advanceSettled(clock, 30);
    const outbound = await dialing;
    await outbound.send({ type: "PushOpsAck", batchId: 8, applied: 0 });
    const toDialer = outbound[Symbol.asyncIterator]().next();
    const toListener = inbound[Symbol.asyncIterator]().next();
    await advanceSettled(clock, 100);
    assert.deepEqual((await toDialer).value, { type: "PushOpsAck", batchId: 7, applied: 0 });
    assert.deepEqual((await toListener).value, { type: "PushOpsAck", batchId: 8, applied: 0 });
    const open = (c: typeof outbound) =>
      Promise.race([c.closed.then(() => "closed"), Promise.resolve("open")]);
    assert.equal(await open(outbound), "open", "no second HelloAck reached the dialer");
    assert.equal(await open(inbound), "open", "no second Hello reached the listener");
    // A graceful close takes virtual time.
    const closing = Promise.all([outbound.close(), inbound.close()]);
    await advanceSettled(clock, 100);
    await closing;
  });

  test("a dropped frame is lost and later ones still arrive", async (t) => {
    const { outbound, inbound } = await connectedPair(t, {
      route: (packet) =>
        packet.message.type === "PushOpsAck" && packet.message.batchId % 2 === 1 ? "drop" : 0,
    });
    for (let i = 0; i < 10; i++) await outbound.send({ type: "PushOpsAck", batchId: i, applied: 0 });
    const got = await drain(inbound, 5);
    assert.deepEqual(
      got.map((m) => (m.type === "PushOpsAck" ? m.batchId : -1)),
      [0, 2, 4, 6, 8],
    );
  });

  test("canConnect refuses dials across a partition", async (t) => {
    const network = createMemoryNetwork({
      canConnect: (from, to) => !(from === nodeIdFor("a") && to === nodeIdFor("b")),
    });
    const a = network.transport({ ...baseOptions(), nodeId: nodeIdFor("a") });
    const b = network.transport({ ...baseOptions(), nodeId: nodeIdFor("b") });
    const c = network.transport({ ...baseOptions(), nodeId: nodeIdFor("c") });
    await listenFor(b, "b", t);
    await assert.rejects(a.dial("b"), { code: "NET_DIAL_FAILED" });
    const fromC = await c.dial("b");
    t.after(() => fromC.close());
    assert.equal(fromC.remoteNodeId, nodeIdFor("b"));
  });

  test("breakConnections breaks matching connections on both sides", async (t) => {
    const { network, outbound, inbound } = await connectedPair(t, {});
    assert.equal(
      network.breakConnections((x, y) => x === nodeIdFor("b") && y === nodeIdFor("a")),
      1,
    );
    assert.equal((await outbound.closed).error?.code, "NET_CONNECTION_LOST");
    assert.equal((await inbound.closed).error?.code, "NET_CONNECTION_LOST");
    assert.equal(
      network.breakConnections(() => true),
      0,
    );
  });

  test("with a virtual clock, a silent partition trips the read timeout at exactly the simulated time", async (t) => {
    const clock = createVirtualClock();
    let partitioned = false;
    const limits = { socketTimeoutMs: 30_000, keepaliveIntervalMs: 10_000 };
    const network = createMemoryNetwork({ clock, route: () => (partitioned ? "drop" : 5) });
    const a = network.transport({ ...baseOptions(), limits, nodeId: nodeIdFor("a") });
    const b = network.transport({ ...baseOptions(), limits, nodeId: nodeIdFor("b") });
    const server = await listenFor(b, "b", t);
    const dialing = a.dial("b");
    await advanceSettled(clock, 20);
    const outbound = await dialing;
    const inbound = await server.accepted();
    // Keepalives hold the idle connection for far longer than the timeout while the network works.
    await advanceSettled(clock, 120_000);
    assert.equal(await Promise.race([outbound.closed.then(() => "closed"), Promise.resolve("open")]), "open");
    partitioned = true;
    const cutAt = clock.now();
    let closedAt = -1;
    void inbound.closed.then(() => {
      closedAt = clock.now();
    });
    await advanceSettled(clock, 60_000);
    const close = await inbound.closed;
    assert.equal(close.error?.code, "NET_READ_TIMEOUT");
    // The last frame before the cut arrived at most one keepalive interval earlier.
    assert.ok(
      closedAt - cutAt <= 30_000 && closedAt - cutAt >= 20_000,
      `closed ${closedAt - cutAt} ms after the cut`,
    );
  });
});
