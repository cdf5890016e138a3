/**
 * Server-sent event streams of the serving component in this process, with the node's event
 * bus: real HTTP clients on a real listener, the http_hello example's handlers. What a child
 * process cannot show: no topic subscription outlives its connection, and a client that does
 * not read is cut off rather than buffered without bound.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { connect } from "node:net";
import { after, before, test } from "node:test";
import { NodeEventBus } from "../../src/events/node-event-bus.ts";
import type { NodeId } from "../../src/identity/node-id.ts";
import type { ServeComponent } from "../../src/serve/serve-component.ts";
import { SSE_STREAM_BUFFER_BYTES_MAX } from "../../src/serve/sse-stream.ts";
import { serveHello, until } from "./hello-serve.ts";

const bus = new NodeEventBus();
let serve: ServeComponent;
let port: number;

before(async () => {
  const started = await serveHello(
    [{ method: "GET", path: "/topics/*", moduleId: "http_hello", handler: "topic" }],
    bus,
  );
  serve = started.serve;
  port = started.port;
});

after(() => serve.stop());

/** Opens a stream forwarding `topic`; resolves once the first bytes (the head) came. */
function openStream(topic: string): Promise<{ received: () => string; close: () => void }> {
  return new Promise((resolve, reject) => {
    let text = "";
    const req = request({ host: "127.0.0.1", port, path: `/topics/${topic}`, agent: false }, (res) => {
      assert.equal(res.statusCode, 200);
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
      });
      res.on("error", () => {});
      resolve({ received: () => text, close: () => req.destroy() });
    });
    req.on("error", reject);
    req.end();
  });
}

test("no topic subscription outlives its stream: 20 rounds of 10 clients connecting and going away", async () => {
  for (let round = 0; round < 20; round++) {
    const streams = await Promise.all(Array.from({ length: 10 }, () => openStream("churn")));
    await until(() => bus.clientSubscriptions === 10, "10 subscriptions");
    bus.publish("churn", new TextEncoder().encode(`round ${round}`));
    await until(
      () => streams.every((stream) => stream.received().includes(`data: round ${round}\n\n`)),
      `round ${round} at every client`,
    );
    for (const stream of streams) stream.close();
    await until(() => bus.clientSubscriptions === 0, "every subscription gone");
  }
});

test("a peer's message on a forwarded topic reaches the stream, named by its topic", async () => {
  const stream = await openStream("peer/*");
  try {
    await until(() => bus.clientSubscriptions === 1, "the stream's subscription");
    bus.message("peer-node" as NodeId, "peer/news", new TextEncoder().encode("line 1\nline 2"));
    bus.message("peer-node" as NodeId, "other/news", new TextEncoder().encode("not forwarded"));
    bus.message("peer-node" as NodeId, "peer/more", new TextEncoder().encode("after"));
    await until(() => stream.received().includes("data: after"), "the peer's messages");
    assert.equal(
      stream.received(),
      "event: peer/news\ndata: line 1\ndata: line 2\n\nevent: peer/more\ndata: after\n\n",
    );
  } finally {
    stream.close();
  }
  await until(() => bus.clientSubscriptions === 0, "the subscription gone");
});

test("a client that does not read is disconnected once the stream holds more than its buffer bound", async () => {
  const socket = connect(port, "127.0.0.1");
  socket.write(`GET /topics/slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  // The socket is never read: its buffers fill and stay full.
  socket.pause();
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  socket.on("error", () => {});
  await until(() => bus.clientSubscriptions === 1, "the slow client's subscription");
  const payload = new TextEncoder().encode("x".repeat(60 * 1024));
  let published = 0;
  // Loopback socket buffers take a few MiB before the stream's own buffer grows at all.
  while (bus.clientSubscriptions > 0 && published < 2000) {
    bus.publish("slow", payload);
    published++;
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal(bus.clientSubscriptions, 0, `still subscribed after ${published} messages of 60 KiB`);
  // Reading again, the client finds its connection closed by the server.
  socket.resume();
  await closed;
  assert.ok(published * payload.length > SSE_STREAM_BUFFER_BYTES_MAX, "the bound was reached first");
});

test("stopping the serving component ends the streams still open: their clients see the end, not a reset", async () => {
  const own = await serveHello(
    [{ method: "GET", path: "/events", moduleId: "http_hello", handler: "ticks" }],
    new NodeEventBus(),
  );
  const outcome = await new Promise<string>((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: own.port, path: "/events", agent: false }, (res) => {
      res.once("data", () => void own.serve.stop());
      res.resume();
      res.on("error", () => {});
      res.on("close", () => resolve(res.complete ? "ended" : "cut"));
    });
    req.on("error", reject);
    req.end();
  });
  assert.equal(outcome, "ended");
});
