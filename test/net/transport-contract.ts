import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import type { NodeId } from "../../src/identity/node-id.ts";
import type { Connection } from "../../src/net/connection.ts";
import { MAX_MESSAGE_SIZE_MIN_BYTES } from "../../src/net/frame.ts";
import { createMessageCodec } from "../../src/net/message-codec.ts";
import type { SessionMessage, VersionVector } from "../../src/net/messages.ts";
import { NetError } from "../../src/net/net-error.ts";
import type { Listener, Transport, TransportOptions } from "../../src/net/transport.ts";
import { WIRE_FEATURES } from "../../src/net/wire-features.ts";
import { type TestOp, testOp, testOpCodec } from "./helpers/test-op.ts";

/**
 * The contract every Transport implementation passes (TLS, plain TCP, in-memory): handshake,
 * ordered delivery, format negotiation, close semantics, allowlist refusals, keepalive and read
 * timeout, bounds. Each implementation's test file calls `transportContract(harness)`.
 */
export interface TransportHarness {
  readonly name: string;
  /** Builds a transport for a fresh node; `overrides` replace the default options. */
  makeTransport(name: string, overrides?: Partial<TransportOptions<TestOp>>): Promise<Transport<TestOp>>;
  /** An address to listen on (unique per call where the implementation needs it). */
  listenAddress(): string;
  /** An address where nothing listens. */
  deadAddress(): Promise<string>;
}

export const codec = createMessageCodec(testOpCodec);

/** A deterministic NodeId per name (for transports whose NodeId is not a certificate's). */
export function nodeIdFor(name: string): NodeId {
  return createHash("sha256").update(name).digest("hex").slice(0, 32) as NodeId;
}

export function baseOptions(vector: VersionVector = new Map()): TransportOptions<TestOp> {
  return { codec, versionVector: () => vector, limits: { socketTimeoutMs: 2000 } };
}

type Cleanup = { after(fn: () => unknown): void };

/** Collects `count` messages from a connection, failing after `timeoutMs`. */
export async function receive(
  connection: Connection<TestOp>,
  count: number,
  timeoutMs = 5000,
): Promise<SessionMessage<TestOp>[]> {
  const received: SessionMessage<TestOp>[] = [];
  if (count === 0) return received;
  const iterator = connection[Symbol.asyncIterator]();
  const deadline = AbortSignal.timeout(timeoutMs);
  while (received.length < count) {
    const next = await Promise.race([
      iterator.next(),
      new Promise<never>((_, reject) =>
        deadline.addEventListener(
          "abort",
          () => reject(new Error(`received ${received.length}/${count} messages`)),
          {
            once: true,
          },
        ),
      ),
    ]);
    if (next.done) throw new Error(`connection ended after ${received.length}/${count} messages`);
    received.push(next.value);
  }
  return received;
}

/** Starts a listener that hands its connections out through `accepted()`. */
export async function listenFor(
  transport: Transport<TestOp>,
  address: string,
  t: Cleanup,
): Promise<{ listener: Listener; accepted(): Promise<Connection<TestOp>>; count(): number }> {
  const queue: Connection<TestOp>[] = [];
  const waiters: Array<(connection: Connection<TestOp>) => void> = [];
  let count = 0;
  const listener = await transport.listen(address, (connection) => {
    count++;
    t.after(() => connection.close());
    const waiter = waiters.shift();
    if (waiter) waiter(connection);
    else queue.push(connection);
  });
  t.after(() => listener.close());
  return {
    listener,
    count: () => count,
    accepted: () => {
      const ready = queue.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no inbound connection within 5 s")), 5000);
        waiters.push((connection) => {
          clearTimeout(timer);
          resolve(connection);
        });
      });
    },
  };
}

export function transportContract(harness: TransportHarness): void {
  const pair = async (
    t: Cleanup,
    dialerOverrides: Partial<TransportOptions<TestOp>> = {},
    listenerOverrides: Partial<TransportOptions<TestOp>> = {},
  ) => {
    const listening = await harness.makeTransport("listener", listenerOverrides);
    const dialing = await harness.makeTransport("dialer", dialerOverrides);
    const server = await listenFor(listening, harness.listenAddress(), t);
    const outbound = await dialing.dial(server.listener.address, AbortSignal.timeout(5000));
    t.after(() => outbound.close());
    const inbound = await server.accepted();
    return { listening, dialing, server, outbound, inbound };
  };

  describe(`Transport contract: ${harness.name}`, () => {
    test("the handshake gives each side the other's NodeId, version vector and format", async (t) => {
      const { listening, dialing, outbound, inbound } = await pair(
        t,
        baseOptions(new Map([[nodeIdFor("x"), 5]])),
        baseOptions(new Map([[nodeIdFor("y"), 8]])),
      );
      assert.equal(outbound.remoteNodeId, listening.localNodeId);
      assert.equal(inbound.remoteNodeId, dialing.localNodeId);
      assert.deepEqual([...outbound.remoteVersionVector], [[nodeIdFor("y"), 8]]);
      assert.deepEqual([...inbound.remoteVersionVector], [[nodeIdFor("x"), 5]]);
      assert.equal(outbound.format, "msgpack");
      assert.equal(inbound.format, "msgpack");
      assert.equal(outbound.outbound, true);
      assert.equal(inbound.outbound, false);
      assert.equal(outbound.authenticated, dialing.authenticated);
      assert.deepEqual(outbound.remoteFeatures, [
        "pubsub",
        "peer-exchange",
        "membership",
        "state-transfer",
        "rga-ghosts",
        "map-batch",
      ]);
      assert.deepEqual(inbound.remoteFeatures, WIRE_FEATURES);
    });

    test("each side learns the features the other announced; a side that announces none is seen with none", async (t) => {
      const { outbound, inbound } = await pair(t, { ...baseOptions(), features: [] });
      assert.deepEqual(inbound.remoteFeatures, []);
      assert.deepEqual(outbound.remoteFeatures, WIRE_FEATURES);
      const receiving = receive(inbound, 2);
      const addresses: SessionMessage<TestOp> = {
        type: "PeerAddresses",
        peers: [{ nodeId: nodeIdFor("z"), address: "127.0.0.1:9000" }],
      };
      await outbound.send({ type: "PushOpsAck", batchId: 1, applied: 1 });
      await outbound.send(addresses);
      assert.deepEqual(await receiving, [{ type: "PushOpsAck", batchId: 1, applied: 1 }, addresses]);
    });

    test("a Publish flows in order with the other messages; one with an invalid topic is dropped and the connection stays", async (t) => {
      const { outbound, inbound } = await pair(t);
      const receiving = receive(inbound, 3);
      await outbound.send({ type: "Publish", topic: "chat/a", payload: new Uint8Array([1]) });
      await outbound.send({ type: "Publish", topic: "not a topic", payload: new Uint8Array([2]) });
      await outbound.send({ type: "PushOpsAck", batchId: 9, applied: 0 });
      await outbound.send({ type: "Publish", topic: "chat/b", payload: new Uint8Array([3]) });
      const got = await receiving;
      assert.deepEqual(
        got.map((m) => (m.type === "Publish" ? `${m.topic}=${[...m.payload]}` : m.type)),
        ["chat/a=1", "PushOpsAck", "chat/b=3"],
      );
    });

    test("messages of every session type flow both ways, in order", async (t) => {
      const { outbound, inbound } = await pair(t);
      const batches: SessionMessage<TestOp>[] = Array.from({ length: 50 }, (_, i) => ({
        type: "PushOps",
        batchId: i,
        ops: [testOp(i), testOp(i + 1000)],
      }));
      const others: SessionMessage<TestOp>[] = [
        { type: "PushOpsAck", batchId: 3, applied: 2 },
        { type: "PullSince", versionVector: new Map([[nodeIdFor("z"), 77]]), limit: 500 },
        { type: "Error", code: "rate_limited", message: "slow down", retryable: true },
      ];
      const receiving = receive(inbound, batches.length + others.length);
      for (const message of [...batches, ...others]) await outbound.send(message);
      const got = await receiving;
      assert.deepEqual(
        got.slice(0, 50).map((m) => (m.type === "PushOps" ? [m.batchId, m.ops.map((op) => op.seq)] : m.type)),
        batches.map((m) => (m.type === "PushOps" ? [m.batchId, m.ops.map((op) => op.seq)] : m.type)),
      );
      const firstOp = (got[7] as { ops: readonly TestOp[] }).ops[0];
      assert.equal(firstOp.delta, testOp(7).delta);
      assert.deepEqual([...firstOp.payload], [...testOp(7).payload]);
      assert.deepEqual(got.slice(50), others);

      const reply = receive(outbound, 1);
      await inbound.send({ type: "PushOpsAck", batchId: 49, applied: 100 });
      assert.deepEqual(await reply, [{ type: "PushOpsAck", batchId: 49, applied: 100 }]);
    });

    test("JSON is used when the dialer prefers it", async (t) => {
      const { outbound, inbound } = await pair(t, { ...baseOptions(), preferredFormat: "json" });
      assert.equal(outbound.format, "json");
      assert.equal(inbound.format, "json");
      const receiving = receive(inbound, 1);
      await outbound.send({ type: "PushOps", batchId: 1, ops: [testOp(5)] });
      const [message] = await receiving;
      assert.equal(message.type, "PushOps");
      assert.equal((message as { ops: readonly TestOp[] }).ops[0].delta, testOp(5).delta);
    });

    test("close ends the peer's iteration after the messages sent before it; send then fails", async (t) => {
      const { outbound, inbound } = await pair(t);
      await outbound.send({ type: "PushOpsAck", batchId: 1, applied: 1 });
      await outbound.send({ type: "PushOpsAck", batchId: 2, applied: 1 });
      await outbound.close("test done");
      const seen: number[] = [];
      for await (const message of inbound) if (message.type === "PushOpsAck") seen.push(message.batchId);
      assert.deepEqual(seen, [1, 2]);
      const localClose = await outbound.closed;
      assert.deepEqual(
        [localClose.initiator, localClose.error, localClose.reason],
        ["local", undefined, "test done"],
      );
      const remoteClose = await inbound.closed;
      assert.equal(remoteClose.initiator, "remote");
      assert.equal(remoteClose.error, undefined);
      await assert.rejects(outbound.send({ type: "Ping", nonce: 1 }), { code: "NET_CONNECTION_CLOSED" });
      await assert.rejects(inbound.send({ type: "Ping", nonce: 1 }), { code: "NET_CONNECTION_CLOSED" });
    });

    test("a listener refuses a dialer outside its allowlist: dial fails, nothing reaches onConnection", async (t) => {
      const listening = await harness.makeTransport("listener", {
        ...baseOptions(),
        allowedPeers: [nodeIdFor("someone-else")],
      });
      const dialing = await harness.makeTransport("dialer");
      const server = await listenFor(listening, harness.listenAddress(), t);
      await assert.rejects(dialing.dial(server.listener.address), (error: unknown) => {
        assert.ok(error instanceof NetError);
        assert.equal(error.code, "NET_NOT_AUTHORIZED");
        assert.equal(error.retryable, false);
        assert.match(error.message, /not in allowed_peers/);
        return true;
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(server.count(), 0);
    });

    test("a dialer refuses a listener outside its allowlist", async (t) => {
      const listening = await harness.makeTransport("listener");
      const dialing = await harness.makeTransport("dialer", {
        ...baseOptions(),
        allowedPeers: [nodeIdFor("nobody")],
      });
      const server = await listenFor(listening, harness.listenAddress(), t);
      await assert.rejects(dialing.dial(server.listener.address), { code: "NET_NOT_AUTHORIZED" });
      // The listener may have accepted before the dialer refused; that connection ends at once.
      if (server.count() > 0) {
        const inbound = await server.accepted();
        const close = await inbound.closed;
        assert.equal(close.error?.code, "NET_NOT_AUTHORIZED");
      }
    });

    test("an allowed peer is accepted", async (t) => {
      const dialing = await harness.makeTransport("dialer");
      const listening = await harness.makeTransport("listener", {
        ...baseOptions(),
        allowedPeers: [dialing.localNodeId],
      });
      const server = await listenFor(listening, harness.listenAddress(), t);
      const outbound = await dialing.dial(server.listener.address);
      t.after(() => outbound.close());
      assert.equal(outbound.remoteNodeId, listening.localNodeId);
    });

    test("a node dialing itself is refused", async (t) => {
      const node = await harness.makeTransport("self");
      const server = await listenFor(node, harness.listenAddress(), t);
      await assert.rejects(node.dial(server.listener.address), (error: unknown) => {
        assert.ok(error instanceof NetError);
        assert.equal(error.wireCode, "rejected");
        assert.match(error.message, /own NodeId/);
        return true;
      });
      assert.equal(server.count(), 0);
    });

    test("keepalive holds an idle connection open past the read timeout", async (t) => {
      const limits = { socketTimeoutMs: 300, keepaliveIntervalMs: 80 };
      const { outbound, inbound } = await pair(t, { ...baseOptions(), limits }, { ...baseOptions(), limits });
      await new Promise((resolve) => setTimeout(resolve, 900));
      const receiving = receive(inbound, 1);
      await outbound.send({ type: "PushOpsAck", batchId: 9, applied: 0 });
      assert.deepEqual(await receiving, [{ type: "PushOpsAck", batchId: 9, applied: 0 }]);
    });

    test("a peer that sends nothing is dropped after the read timeout", async (t) => {
      // No keepalive on either side: a Ping would be answered with a Pong, which is traffic.
      const { outbound, inbound } = await pair(
        t,
        { ...baseOptions(), limits: { socketTimeoutMs: 5000, keepaliveIntervalMs: 0 } },
        { ...baseOptions(), limits: { socketTimeoutMs: 250, keepaliveIntervalMs: 0 } },
      );
      const close = await inbound.closed;
      assert.equal(close.initiator, "local");
      assert.equal(close.error?.code, "NET_READ_TIMEOUT");
      assert.match(close.reason, /sent no complete frame for 250 ms/);
      const remote = await outbound.closed;
      assert.equal(remote.initiator, "remote");
    });

    test("dialing where nothing listens fails with a retryable NET_DIAL_FAILED", async () => {
      const dialing = await harness.makeTransport("dialer");
      await assert.rejects(dialing.dial(await harness.deadAddress()), (error: unknown) => {
        assert.ok(error instanceof NetError);
        assert.equal(error.code, "NET_DIAL_FAILED");
        assert.equal(error.retryable, true);
        return true;
      });
    });

    test("an aborted dial fails with NET_ABORTED", async (t) => {
      const listening = await harness.makeTransport("listener");
      const dialing = await harness.makeTransport("dialer");
      const server = await listenFor(listening, harness.listenAddress(), t);
      await assert.rejects(dialing.dial(server.listener.address, AbortSignal.abort()), {
        code: "NET_ABORTED",
      });
    });

    test("closing a listener closes the connections it accepted", async (t) => {
      const { server, outbound, inbound } = await pair(t);
      await server.listener.close();
      assert.equal((await inbound.closed).initiator, "local");
      assert.equal((await outbound.closed).initiator, "remote");
    });

    test("a message above max_message_size is refused and the connection stays usable", async (t) => {
      // The least limit a peer may announce in its Hello.
      const limits = { maxMessageSizeBytes: MAX_MESSAGE_SIZE_MIN_BYTES };
      const { outbound, inbound } = await pair(t, { ...baseOptions(), limits }, { ...baseOptions(), limits });
      const big: SessionMessage<TestOp> = {
        type: "PushOps",
        batchId: 1,
        ops: Array.from({ length: 20 }, (_, i) => testOp(i, { payload: new Uint8Array(400) })),
      };
      await assert.rejects(outbound.send(big), { code: "NET_FRAME_TOO_LARGE" });
      const receiving = receive(inbound, 1);
      await outbound.send({ type: "PushOps", batchId: 2, ops: [testOp(1)] });
      assert.equal((await receiving)[0].type, "PushOps");
    });

    test("a consumer slower than the sender still gets every message, in order (backpressure)", async (t) => {
      const limits = { maxQueuedMessages: 4 };
      const { outbound, inbound } = await pair(t, { ...baseOptions(), limits }, { ...baseOptions(), limits });
      const count = 200;
      const sending = (async () => {
        for (let i = 0; i < count; i++) await outbound.send({ type: "PushOpsAck", batchId: i, applied: i });
      })();
      const seen: number[] = [];
      for await (const message of inbound) {
        if (message.type === "PushOpsAck") seen.push(message.batchId);
        if (seen.length % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 20));
        if (seen.length === count) break;
      }
      await sending;
      assert.deepEqual(
        seen,
        Array.from({ length: count }, (_, i) => i),
      );
    });

    test("a consumer behind on ops (maxQueuedOps) still gets every batch, in order", async (t) => {
      const limits = { maxQueuedOps: 3 };
      const { outbound, inbound } = await pair(t, { ...baseOptions(), limits }, { ...baseOptions(), limits });
      const count = 100;
      const sending = (async () => {
        for (let i = 0; i < count; i++)
          await outbound.send({ type: "PushOps", batchId: i, ops: [testOp(2 * i), testOp(2 * i + 1)] });
      })();
      const seen: number[] = [];
      for await (const message of inbound) {
        if (message.type === "PushOps") seen.push(message.batchId, message.ops.length);
        if (seen.length % 40 === 0) await new Promise((resolve) => setTimeout(resolve, 20));
        if (seen.length === 2 * count) break;
      }
      await sending;
      assert.deepEqual(seen, Array.from({ length: count }, (_, i) => [i, 2]).flat());
    });

    test("breaking out of the iteration closes the connection", async (t) => {
      const { outbound, inbound } = await pair(t);
      await outbound.send({ type: "PushOpsAck", batchId: 1, applied: 1 });
      for await (const _ of inbound) break;
      assert.equal((await inbound.closed).initiator, "local");
      assert.equal((await outbound.closed).initiator, "remote");
    });
  });
}
