/**
 * The ws_chat example as its README runs it: two nodes (`--listen`/`--peer`/`--tls-insecure`)
 * each serving the module's default routes (`--serve`), real `ws` clients on both. A text frame
 * from one client reaches every client of the room on this node and on the peer (module messages
 * over the sync connection), and no other room's.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { WebSocket } from "ws";
import { examplePath, tempDir } from "../helpers/nx-process.ts";
import { datastoreOf, type SyncNode, syncNodeTracker } from "../helpers/sync-node.ts";

const nodes = syncNodeTracker();
const dir = tempDir("nx-ws-chat-");
let a: { node: SyncNode; url: string };
let b: { node: SyncNode; url: string };

async function served(node: SyncNode): Promise<{ node: SyncNode; url: string }> {
  const match = await node.nx.waitFor(/serving HTTP url=http:\/\/(127\.0\.0\.1:\d+) routes=2\b/);
  return { node, url: `ws://${match[1]!}` };
}

before(async () => {
  const guest = examplePath("ws_chat");
  const args = ["--serve", "127.0.0.1:0"];
  const first = await nodes.node({ datastore: datastoreOf(dir.path, "a"), guest, args });
  const second = await nodes.node({
    datastore: datastoreOf(dir.path, "b"),
    guest,
    args,
    peers: [first.port],
  });
  await first.nx.waitFor(new RegExp(`connected to peer ${second.nodeId}`));
  [a, b] = await Promise.all([served(first), served(second)]);
});

after(async () => {
  await nodes.stopAll();
  dir.remove();
});

interface Client {
  readonly socket: WebSocket;
  /** The next text frame, parsed; undefined after `withinMs`. */
  next(withinMs?: number): Promise<{ topic: string; data: string } | undefined>;
}

function open(url: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { handshakeTimeout: 10_000 });
    const frames: { topic: string; data: string }[] = [];
    const waiters: (() => void)[] = [];
    socket.on("message", (data, binary) => {
      assert.equal(binary, false);
      frames.push(JSON.parse((data as Buffer).toString()) as { topic: string; data: string });
      waiters.shift()?.();
    });
    socket.once("error", reject);
    socket.once("open", () =>
      resolve({
        socket,
        next: async (withinMs = 10_000) => {
          if (frames.length === 0) {
            await new Promise<void>((done) => {
              const timer = setTimeout(done, withinMs);
              waiters.push(() => {
                clearTimeout(timer);
                done();
              });
            });
          }
          return frames.shift();
        },
      }),
    );
  });
}

/** Each client's subscription starts when its handler ran ws_forward: probe until all hear. */
async function untilAllHear(from: Client, room: readonly Client[]): Promise<void> {
  const heard = room.map(() => false);
  for (let probe = 0; !heard.every(Boolean); probe++) {
    assert.ok(probe < 100, "the room never heard its probes");
    from.socket.send(`probe ${probe}`);
    await Promise.all(
      room.map(async (client, i) => {
        if ((await client.next(100)) !== undefined) heard[i] = true;
      }),
    );
  }
}

/** The next frame whose text is `text`, skipping late probes. */
async function nextWith(client: Client, text: string): Promise<{ topic: string; data: string }> {
  for (;;) {
    const frame = await client.next();
    assert.ok(frame !== undefined, `no frame "${text}"`);
    if (frame.data === text) return frame;
  }
}

test("WS /ws/:room: a frame from a client on node A reaches the room's clients on A and on B, not another room's", async () => {
  const room = await Promise.all([
    open(`${a.url}/ws/lobby`),
    open(`${a.url}/ws/lobby`),
    open(`${b.url}/ws/lobby`),
  ]);
  const elsewhere = await open(`${b.url}/ws/other`);
  try {
    await untilAllHear(room[0]!, room);
    room[1]!.socket.send("hello, room");
    for (const client of room)
      assert.deepEqual(await nextWith(client, "hello, room"), { topic: "chat/lobby", data: "hello, room" });
    room[2]!.socket.send("from b");
    for (const client of room)
      assert.deepEqual(await nextWith(client, "from b"), { topic: "chat/lobby", data: "from b" });
    elsewhere.socket.send("only here");
    assert.deepEqual(await nextWith(elsewhere, "only here"), { topic: "chat/other", data: "only here" });
    assert.equal(await elsewhere.next(200), undefined, "another room's frames never arrive");
  } finally {
    for (const client of [...room, elsewhere]) client.socket.close();
  }
});

test("GET /: the chat page, over /ws/lobby", async () => {
  const page = await fetch(`${a.url.replace(/^ws/, "http")}/`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(page.status, 200);
  assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
  assert.match(await page.text(), /"\/ws\/lobby"/);
});
