import assert from "node:assert/strict";
import { createServer } from "node:net";
import { describe, test } from "node:test";
import {
  DEFAULT_MAX_MESSAGE_SIZE_BYTES,
  encodeFrame,
  FRAME_HEADER_BYTES,
  FRAME_LENGTH_BYTES,
} from "../../src/net/frame.ts";
import { NetError } from "../../src/net/net-error.ts";
import { createTcpTransport } from "../../src/net/tcp-transport.ts";
import type { TlsMaterial } from "../../src/net/tls-material.ts";
import { createTlsTransport } from "../../src/net/tls-transport.ts";
import type { Transport } from "../../src/net/transport.ts";
import { FORMAT_TAGS } from "../../src/net/wire-format.ts";
import { helloFrom, rawPeer } from "./helpers/raw-peer.ts";
import { recordingLogger } from "./helpers/recording-logger.ts";
import { type TestOp, testOp } from "./helpers/test-op.ts";
import { createTestCa } from "./helpers/test-pki.ts";
import { baseOptions, codec, listenFor, nodeIdFor, receive } from "./transport-contract.ts";

/**
 * Hostile bytes on real loopback sockets: each bad connection ends with a clear log line, and the
 * listener keeps serving well-behaved peers afterwards.
 */
const LIMITS = { socketTimeoutMs: 600, handshakeTimeoutMs: 600, keepaliveIntervalMs: 0 };

interface Flavour {
  readonly name: string;
  /** Material for a raw client that passes the TLS layer (undefined on plain TCP). */
  clientTls(): Promise<TlsMaterial | undefined>;
  node(name: string, logger?: ReturnType<typeof recordingLogger>): Promise<Transport<TestOp>>;
}

const ca = await createTestCa();
let counter = 0;

const flavours: Flavour[] = [
  {
    name: "plain TCP",
    clientTls: async () => undefined,
    node: async (name, logger) =>
      createTcpTransport({
        ...baseOptions(),
        limits: LIMITS,
        logger,
        nodeId: nodeIdFor(`${name}-${++counter}`),
      }),
  },
  {
    name: "TLS",
    clientTls: () => ca.node(`raw-${++counter}`),
    node: async (name, logger) =>
      createTlsTransport({
        ...baseOptions(),
        limits: LIMITS,
        logger,
        tls: await ca.node(`${name}-${++counter}`),
      }),
  },
];

/** A well-behaved peer still gets through and can exchange a message. */
async function assertStillServing(flavour: Flavour, address: string, accepted: () => Promise<unknown>) {
  const client = await flavour.node("good-client");
  const connection = await client.dial(address, AbortSignal.timeout(5000));
  const inbound = (await accepted()) as Awaited<ReturnType<typeof client.dial>>;
  const receiving = receive(inbound, 1);
  await connection.send({ type: "PushOpsAck", batchId: 1, applied: 1 });
  assert.equal((await receiving)[0].type, "PushOpsAck");
  await connection.close();
}

function header(length: number, tag: number): Uint8Array {
  const bytes = new Uint8Array(FRAME_HEADER_BYTES);
  new DataView(bytes.buffer).setUint32(0, length, false);
  bytes[FRAME_LENGTH_BYTES] = tag;
  return bytes;
}

for (const flavour of flavours) {
  describe(`hostile peers against a ${flavour.name} listener`, () => {
    const setup = async (t: { after(fn: () => unknown): void }) => {
      const logger = recordingLogger();
      const node = await flavour.node("server", logger);
      const server = await listenFor(node, "127.0.0.1:0", t);
      return { logger, node, server, address: server.listener.address };
    };

    test("garbage bytes end that connection with an Error frame and a clear log line", async (t) => {
      const { logger, server, address } = await setup(t);
      const peer = await rawPeer(address, await flavour.clientTls());
      await peer.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
      await peer.closed;
      const [reply] = peer.messages();
      assert.deepEqual(reply && { type: reply.type, code: (reply as { code?: string }).code }, {
        type: "Error",
        code: "malformed",
      });
      // "GET " read as a length prefix is 1195725856 bytes: refused before anything is allocated
      // (before the Hello, a frame may not exceed 1 MiB whatever max_message_size says).
      const line = await logger.waitFor(
        /refused inbound connection from 127\.0\.0\.1:\d+: frame length 1195725856 exceeds the handshake message limit \(1048576 bytes\)/,
      );
      assert.equal(line.level, "warn");
      await assertStillServing(flavour, address, server.accepted);
      assert.equal(server.count(), 1);
    });

    test("an absurd length prefix is refused before any allocation", async (t) => {
      const { logger, server, address } = await setup(t);
      const peer = await rawPeer(address, await flavour.clientTls());
      await peer.write(header(0xffffffff, FORMAT_TAGS.msgpack));
      await peer.closed;
      await logger.waitFor(/frame length 4294967295 exceeds the handshake message limit \(1048576 bytes\)/);
      await assertStillServing(flavour, address, server.accepted);
    });

    test("before its Hello a peer may not announce a frame above 1 MiB; after it, max_message_size applies", async (t) => {
      const { logger, server, address } = await setup(t);
      const early = await rawPeer(address, await flavour.clientTls());
      // A 5-byte header must not make the node allocate 2 MiB for a stranger.
      await early.write(header(2 * 1024 * 1024 + 1, FORMAT_TAGS.msgpack));
      await early.closed;
      await logger.waitFor(/frame length 2097153 exceeds the handshake message limit \(1048576 bytes\)/);

      const tls = await flavour.clientTls();
      const member = await rawPeer(address, tls);
      await member.send(helloFrom(tls?.nodeId ?? nodeIdFor(`member-${++counter}`)));
      await member.frame(0);
      await server.accepted();
      const body = new Uint8Array(2 * 1024 * 1024).fill(0xc1); // 0xc1 is never valid msgpack
      await member.write(header(body.length + 1, FORMAT_TAGS.msgpack));
      await member.write(body);
      await member.closed;
      const line = await logger.waitFor(/connection to peer [0-9a-f]{32} ended: /);
      assert.doesNotMatch(line.message, /exceeds/, "a 2 MiB frame after the handshake is read, then judged");
      await assertStillServing(flavour, address, server.accepted);
    });

    test("a wrong protocol version is refused with protocol_mismatch, and the log says which versions", async (t) => {
      const { logger, server, address } = await setup(t);
      const peer = await rawPeer(address, await flavour.clientTls());
      const claimed = flavour.name === "TLS" ? undefined : nodeIdFor("old-node");
      await peer.send(helloFrom(claimed ?? nodeIdFor("whoever"), { protocolVersion: 99 }));
      await peer.closed;
      const [reply] = peer.messages();
      assert.equal(reply?.type, "Error");
      assert.equal((reply as { code: string }).code, "protocol_mismatch");
      assert.match((reply as { message: string }).message, /version 99, this node speaks version 3/);
      await logger.waitFor(
        /refused inbound connection .* speaks wire protocol version 99, this node speaks version 3/,
      );
      await assertStillServing(flavour, address, server.accepted);
    });

    test("a Hello announcing a max_message_size of 0 is refused as malformed in one line naming the peer and the value", async (t) => {
      const { logger, server, address } = await setup(t);
      const tls = await flavour.clientTls();
      const nodeId = tls?.nodeId ?? nodeIdFor(`tiny-${++counter}`);
      const peer = await rawPeer(address, tls);
      await peer.send(helloFrom(nodeId, { maxMessageSizeBytes: 0 }));
      await peer.closed;
      const [reply] = peer.messages();
      assert.equal(reply?.type, "Error");
      assert.equal((reply as { code: string }).code, "malformed");
      await logger.waitFor(
        new RegExp(
          `refused inbound connection .*peer ${nodeId} at 127\\.0\\.0\\.1:\\d+ announces a max_message_size of 0 bytes in its Hello, under the minimum of 4096`,
        ),
      );
      assert.equal(server.count(), 0, "no connection was handed to the sync engine");
      await assertStillServing(flavour, address, server.accepted);
    });

    test("a slow-dripping peer (a byte every 100 ms) is dropped at the handshake timeout", async (t) => {
      const { logger, server, address } = await setup(t);
      const tls = await flavour.clientTls();
      const peer = await rawPeer(address, tls);
      const hello = encodeFrame(
        { format: "msgpack", body: codec.encode(helloFrom(tls?.nodeId ?? nodeIdFor("slow")), "msgpack") },
        DEFAULT_MAX_MESSAGE_SIZE_BYTES,
      );
      const started = performance.now();
      let sent = 0;
      const drip = setInterval(() => {
        if (!peer.socket.destroyed && sent < hello.length) peer.socket.write(hello.subarray(sent, ++sent));
      }, 100);
      t.after(() => clearInterval(drip));
      await peer.closed;
      clearInterval(drip);
      const elapsedMs = performance.now() - started;
      assert.ok(elapsedMs >= 500 && elapsedMs < 3000, `dropped after ${elapsedMs} ms`);
      await logger.waitFor(/did not complete the handshake within \d+ ms/);
      await assertStillServing(flavour, address, server.accepted);
    });

    test("a silent peer is dropped at the handshake timeout", async (t) => {
      const { logger, address } = await setup(t);
      const peer = await rawPeer(address, await flavour.clientTls());
      await peer.closed;
      await logger.waitFor(/did not complete the handshake/);
    });

    test("a peer that stops reading is dropped at the write timeout", async (t) => {
      const { logger, server, address } = await setup(t);
      const tls = await flavour.clientTls();
      const peer = await rawPeer(address, tls);
      await peer.send(helloFrom(tls?.nodeId ?? nodeIdFor("deaf")));
      await peer.frame(0);
      const inbound = await server.accepted();
      // It keeps talking (so the read timeout stays quiet) but never reads again.
      peer.socket.pause();
      const chatter = setInterval(() => void peer.send({ type: "Ping", nonce: 1 }).catch(() => {}), 100);
      t.after(() => clearInterval(chatter));
      const big = {
        type: "PushOps" as const,
        batchId: 1,
        ops: [testOp(1, { payload: new Uint8Array(1 << 20) })],
      };
      let blocked = false;
      for (let i = 0; i < 256 && !blocked; i++) {
        const sent = inbound.send(big).then(
          () => "sent",
          () => "failed",
        );
        blocked =
          (await Promise.race([sent, new Promise((resolve) => setTimeout(resolve, 300, "blocked"))])) !==
          "sent";
      }
      assert.ok(blocked, "the peer's buffers never filled");
      const close = await inbound.closed;
      clearInterval(chatter);
      assert.equal(close.error?.code, "NET_WRITE_TIMEOUT");
      await logger.waitFor(/ended: peer at .* did not read our data for 600 ms/);
      await assertStillServing(flavour, address, server.accepted);
    });

    test("a peer that drips a frame after a good handshake is dropped at the read timeout", async (t) => {
      const { logger, server, address } = await setup(t);
      const tls = await flavour.clientTls();
      const peer = await rawPeer(address, tls);
      await peer.send(helloFrom(tls?.nodeId ?? nodeIdFor("dripper")));
      const ack = await peer.frame(0);
      assert.equal(ack.format, "msgpack");
      const inbound = await server.accepted();
      const bytes = header(100, FORMAT_TAGS.msgpack);
      let sent = 0;
      const drip = setInterval(() => {
        if (!peer.socket.destroyed && sent < bytes.length) peer.socket.write(bytes.subarray(sent, ++sent));
        else if (!peer.socket.destroyed) peer.socket.write(new Uint8Array([0x90]));
      }, 100);
      t.after(() => clearInterval(drip));
      const close = await inbound.closed;
      clearInterval(drip);
      assert.equal(close.error?.code, "NET_READ_TIMEOUT");
      await logger.waitFor(/connection to peer [0-9a-f]{32} ended: .* sent no complete frame for 600 ms/);
      await assertStillServing(flavour, address, server.accepted);
    });
  });
}

describe("bounded inbound handshakes", () => {
  test("connections beyond maxPendingHandshakes are closed at accept, and the rest still complete", async (t) => {
    const logger = recordingLogger();
    const node = createTcpTransport({
      ...baseOptions(),
      limits: { ...LIMITS, maxPendingHandshakes: 2 },
      logger,
      nodeId: nodeIdFor("bounded"),
    });
    const server = await listenFor(node, "127.0.0.1:0", t);
    const silent = [await rawPeer(server.listener.address), await rawPeer(server.listener.address)];
    t.after(() => {
      for (const peer of silent) peer.destroy();
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const extra = await rawPeer(server.listener.address);
    await extra.closed;
    await logger.waitFor(/refused inbound connection from .*: 2 handshakes already pending/);
    // Once the silent ones time out, a good peer gets in again.
    await Promise.all(silent.map((peer) => peer.closed));
    await assertStillServing(flavours[0], server.listener.address, server.accepted);
  });
});

describe("protocol trouble seen by a dialer", () => {
  test("a listener that refuses our protocol version: NET_PROTOCOL_MISMATCH naming both versions", async (t) => {
    const server = createServer((socket) => {
      socket.once("data", () => {
        const body = new TextEncoder().encode(
          JSON.stringify({
            type: "Error",
            code: "protocol_mismatch",
            message: "peer speaks wire protocol version 3, this node speaks version 4",
            retryable: false,
          }),
        );
        const frame = new Uint8Array([...header(body.length + 1, FORMAT_TAGS.json), ...body]);
        socket.end(frame);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    t.after(() => server.close());
    const { port } = server.address() as { port: number };
    const node = createTcpTransport({ ...baseOptions(), limits: LIMITS, nodeId: nodeIdFor("dialer") });
    await assert.rejects(node.dial(`127.0.0.1:${port}`), (error: unknown) => {
      assert.ok(error instanceof NetError);
      assert.equal(error.code, "NET_PROTOCOL_MISMATCH");
      assert.equal(error.retryable, false);
      assert.match(
        error.message,
        /refused the connection \(protocol_mismatch\): .*version 3, this node speaks version 4/,
      );
      return true;
    });
  });

  test("a listener that never answers: NET_HANDSHAKE_TIMEOUT", async (t) => {
    const sockets = new Set<import("node:net").Socket>();
    const server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    t.after(() => {
      for (const socket of sockets) socket.destroy();
      server.close();
    });
    const { port } = server.address() as { port: number };
    const node = createTcpTransport({ ...baseOptions(), limits: LIMITS, nodeId: nodeIdFor("dialer") });
    await assert.rejects(node.dial(`127.0.0.1:${port}`), { code: "NET_HANDSHAKE_TIMEOUT" });
  });

  test("a TLS node dialing a plain TCP node, and the reverse, fail with clear errors", async (t) => {
    const logger = recordingLogger();
    const plain = createTcpTransport({
      ...baseOptions(),
      limits: LIMITS,
      logger,
      nodeId: nodeIdFor("plain"),
    });
    const secure = createTlsTransport({
      ...baseOptions(),
      limits: LIMITS,
      logger,
      tls: await ca.node("secure"),
    });
    const plainServer = await listenFor(plain, "127.0.0.1:0", t);
    const secureServer = await listenFor(secure, "127.0.0.1:0", t);

    await assert.rejects(secure.dial(plainServer.listener.address), (error: unknown) => {
      assert.ok(error instanceof NetError);
      assert.ok(
        ["NET_TLS_FAILED", "NET_CONNECTION_LOST", "NET_DIAL_FAILED"].includes(error.code),
        error.message,
      );
      return true;
    });
    // A TLS ClientHello read as a frame header is an absurd length.
    await logger.waitFor(
      /refused inbound connection from .*: frame length \d+ exceeds the handshake message limit/,
    );

    await assert.rejects(plain.dial(secureServer.listener.address), (error: unknown) => {
      assert.ok(error instanceof NetError);
      assert.ok(
        ["NET_CONNECTION_CLOSED", "NET_CONNECTION_LOST", "NET_UNKNOWN_FORMAT"].includes(error.code),
        error.message,
      );
      return true;
    });
    const line = await logger.waitFor(/refused inbound connection: TLS with .* failed/);
    assert.match(line.message, /does not speak TLS/);
    assert.equal(plainServer.count() + secureServer.count(), 0);
  });
});
