/**
 * WebSockets of the serving component in this process, with the node's event bus: real `ws`
 * clients on a real listener, the http_hello example's handlers. What a child process cannot
 * show: `ws_forward` sends topics as frames and no subscription outlives its connection, a client
 * that does not read is cut off rather than buffered without bound, and a frame over the bound
 * closes its connection (1009).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { WebSocket } from "ws";
import { NodeEventBus } from "../../src/events/node-event-bus.ts";
import type { NodeId } from "../../src/identity/node-id.ts";
import type { ServeComponent } from "../../src/serve/serve-component.ts";
import {
  WS_CLOSE_TOO_FAST,
  WS_FRAME_BYTES_MAX,
  WS_SEND_BUFFER_BYTES_MAX,
  WS_UNREAD_FRAMES_MAX,
} from "../../src/serve/ws-connection.ts";
import { serveHello, until } from "./hello-serve.ts";

const bus = new NodeEventBus();
let serve: ServeComponent;
let base: string;

before(async () => {
  const started = await serveHello(
    [
      { method: "WS", path: "/ws/topics/*", moduleId: "http_hello", handler: "wsTopic" },
      { method: "WS", path: "/ws/echo", moduleId: "http_hello", handler: "wsEcho" },
    ],
    bus,
  );
  serve = started.serve;
  base = `ws://127.0.0.1:${started.port}`;
});

after(() => serve.stop());

/** An open client whose text frames are collected. */
async function open(path: string): Promise<{ socket: WebSocket; frames: string[]; closed: Promise<number> }> {
  const socket = new WebSocket(`${base}${path}`, { handshakeTimeout: 10_000 });
  const frames: string[] = [];
  socket.on("message", (data) => frames.push(String(data)));
  socket.on("error", () => {});
  const closed = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
  await new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  return { socket, frames, closed };
}

test("ws_forward sends the topic's messages as JSON text frames; closing drops every subscription", async () => {
  const clients = await Promise.all(Array.from({ length: 10 }, () => open("/ws/topics/room/*")));
  await until(() => bus.clientSubscriptions === 10, "10 subscriptions");
  bus.message("peer-node" as NodeId, "room/a", new TextEncoder().encode("line 1\nline 2"));
  bus.message("peer-node" as NodeId, "other/a", new TextEncoder().encode("not forwarded"));
  bus.publish("room/b", new TextEncoder().encode("after"));
  await until(() => clients.every((client) => client.frames.length === 2), "both messages everywhere");
  for (const client of clients) {
    assert.deepEqual(
      client.frames.map((frame) => JSON.parse(frame)),
      [
        { topic: "room/a", data: "line 1\nline 2" },
        { topic: "room/b", data: "after" },
      ],
    );
  }
  for (const client of clients) client.socket.close();
  await Promise.all(clients.map((client) => client.closed));
  await until(() => bus.clientSubscriptions === 0, "every subscription gone");
});

test("a frame over WS_FRAME_BYTES_MAX closes its connection with 1009 (message too big)", async () => {
  const client = await open("/ws/echo");
  client.socket.send(new Uint8Array(WS_FRAME_BYTES_MAX + 1));
  assert.equal(await client.closed, 1009);
});

test("a client sending faster than its handler reads is closed with 1008 past WS_UNREAD_FRAMES_MAX", async () => {
  const client = await open("/ws/echo");
  // One burst: the frames reach the mailbox before the handler's process runs again.
  for (let i = 0; i < WS_UNREAD_FRAMES_MAX * 20; i++) client.socket.send("x");
  assert.equal(await client.closed, WS_CLOSE_TOO_FAST);
  assert.ok(client.frames.length < WS_UNREAD_FRAMES_MAX * 20, `${client.frames.length} echoed`);
});

test("a client that does not read is disconnected once its connection holds more than the send bound", async () => {
  const client = await open("/ws/topics/slow");
  await until(() => bus.clientSubscriptions === 1, "the slow client's subscription");
  // The client stops reading its socket: the server's sends pile up.
  client.socket.pause();
  const payload = new TextEncoder().encode("x".repeat(60 * 1024));
  let published = 0;
  while (bus.clientSubscriptions > 0 && published < 2000) {
    bus.publish("slow", payload);
    published++;
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal(bus.clientSubscriptions, 0, `still subscribed after ${published} messages of 60 KiB`);
  assert.ok(published * payload.length > WS_SEND_BUFFER_BYTES_MAX, "the bound was reached first");
  client.socket.resume();
  await client.closed;
});
