/**
 * Error frames drive the redial: a peer that refuses this node for a reason a retry does not fix
 * (`retryable: false`: not in its allowlist, a newer wire protocol version) is not redialed at the
 * backoff's pace but once per REFUSED_PEER_REDIAL_DELAY_MS; a peer that is merely unreachable is.
 * Counted in dials, over the in-memory transport (allowlist) and over real TCP (version refusal,
 * and a session the peer ends with an Error frame).
 */
import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { test } from "node:test";
import { DEFAULT_MAX_MESSAGE_SIZE_BYTES, encodeFrame } from "../../src/net/frame.ts";
import { createMemoryNetwork } from "../../src/net/memory-transport.ts";
import { errorMessage } from "../../src/net/messages.ts";
import { createTcpTransport } from "../../src/net/tcp-transport.ts";
import { baseOptions, codec, nodeIdFor } from "../net/transport-contract.ts";
import { countingManager, until } from "./helpers/counting-peers.ts";

/** Long enough for the backoff (TEST_BACKOFF) to redial at least five times (it never waits over 50 ms). */
const WATCH_MS = 400;

test("a peer whose allowlist leaves this node out is dialed once, an unreachable one again and again", async () => {
  const network = createMemoryNetwork();
  const aId = nodeIdFor("refused-a");
  const bId = nodeIdFor("refused-b");
  const a = countingManager(aId, network.transport({ ...baseOptions(), nodeId: aId }));
  const b = countingManager(
    bId,
    network.transport({ ...baseOptions(), nodeId: bId, allowedPeers: [nodeIdFor("someone-else")] }),
    { listen: "10.2.0.2:9000" },
  );
  await b.peers.start();
  a.peers.addCandidate("10.2.0.2:9000", "static");
  a.peers.addCandidate("10.2.0.3:9000", "static"); // nobody listens there
  await a.peers.start();
  try {
    const refusedPeer = () => a.peers.configuredPeers().find((p) => p.address === "10.2.0.2:9000");
    await until(() => refusedPeer()?.refusal !== undefined, "b's refusal");
    assert.match(refusedPeer()?.refusal ?? "", /not_authorized.*not in allowed_peers/);
    await new Promise((resolve) => setTimeout(resolve, WATCH_MS));
    const dialsTo = (address: string) => a.dials.filter((d) => d === address).length;
    assert.equal(dialsTo("10.2.0.2:9000"), 1, "the refusing peer was redialed");
    assert.ok(
      dialsTo("10.2.0.3:9000") >= 5,
      `the unreachable peer was dialed ${dialsTo("10.2.0.3:9000")} times`,
    );
  } finally {
    await Promise.all([a.peers.stop(), b.peers.stop()]);
  }
});

/** The frame of `message` as a peer sends it, in MessagePack. */
function frameOf(message: Parameters<typeof codec.encode>[0]): Uint8Array {
  return encodeFrame(
    { format: "msgpack", body: codec.encode(message, "msgpack") },
    DEFAULT_MAX_MESSAGE_SIZE_BYTES,
  );
}

/**
 * A TCP listener that answers every Hello with `reply` (frames, then it closes), counting the
 * connections it accepted.
 */
async function scriptedListener(t: { after(fn: () => unknown): void }, reply: Uint8Array) {
  const accepted: Socket[] = [];
  const server = createServer((socket) => {
    accepted.push(socket);
    socket.on("error", () => {});
    socket.once("data", () => socket.end(reply));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(async () => {
    for (const socket of accepted) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { accepted, address: `127.0.0.1:${(server.address() as { port: number }).port}` };
}

for (const retryable of [false, true]) {
  test(`a peer that ends the session with an Error frame, retryable ${retryable}: ${retryable ? "reconnected" : "reconnected once per 10 min"}`, async (t) => {
    const listenerId = nodeIdFor(`session-refuser-${retryable}`);
    const reply = new Uint8Array([
      ...frameOf({
        type: "HelloAck",
        chosenFormat: "msgpack",
        nodeId: listenerId,
        versionVector: new Map(),
        features: [],
      }),
      ...frameOf(
        errorMessage(retryable ? "rate_limited" : "malformed", "cannot read what you sent", retryable),
      ),
    ]);
    const listener = await scriptedListener(t, reply);
    const aId = nodeIdFor(`session-dialer-${retryable}`);
    const a = countingManager(aId, createTcpTransport({ ...baseOptions(), nodeId: aId }));
    a.peers.addCandidate(listener.address, "static");
    await a.peers.start();
    t.after(() => a.peers.stop());
    await until(() => listener.accepted.length >= 1, "the first session");
    await new Promise((resolve) => setTimeout(resolve, WATCH_MS));
    if (retryable)
      assert.ok(listener.accepted.length >= 3, `reconnected ${listener.accepted.length - 1} times`);
    else {
      assert.equal(listener.accepted.length, 1, `reconnected ${listener.accepted.length - 1} times`);
      assert.match(a.peers.configuredPeers()[0]?.refusal ?? "", /\(malformed\): cannot read what you sent/);
    }
  });
}

test("a listener of a newer wire version (protocol_mismatch, not retryable) is dialed once over TCP", async () => {
  // What a node of another wire major answers any Hello with (docs/design/compatibility.md).
  const refusal = encodeFrame(
    {
      format: "msgpack",
      body: codec.encode(
        errorMessage("protocol_mismatch", "this node speaks wire protocol version 4", false),
        "msgpack",
      ),
    },
    DEFAULT_MAX_MESSAGE_SIZE_BYTES,
  );
  const accepted: Socket[] = [];
  const server = createServer((socket) => {
    accepted.push(socket);
    socket.on("error", () => {});
    socket.once("data", () => socket.end(refusal));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const aId = nodeIdFor("refused-tcp-a");
  const a = countingManager(aId, createTcpTransport({ ...baseOptions(), nodeId: aId }));
  a.peers.addCandidate(`127.0.0.1:${port}`, "static");
  await a.peers.start();
  try {
    await until(() => a.peers.configuredPeers()[0]?.refusal !== undefined, "the version refusal");
    assert.match(a.peers.configuredPeers()[0]?.refusal ?? "", /protocol_mismatch/);
    await new Promise((resolve) => setTimeout(resolve, WATCH_MS));
    assert.equal(accepted.length, 1, `the newer node was dialed ${accepted.length} times`);
  } finally {
    await a.peers.stop();
    for (const socket of accepted) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});
