/**
 * WebSockets from `nx run examples/http_hello/build/http_hello.wasm` with real `ws` clients on
 * real listeners: echo with concurrent clients (text and binary), a handler that traps closing
 * only its own connection (1011), the cap on connections (503 at the upgrade), and a client
 * closing ending its process (its slot under the cap, held until the process ends, comes back).
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { WebSocket } from "ws";
import { examplePath, type NxProcess, startNx, stopNx, tempDir } from "../helpers/nx-process.ts";

const CLIENTS = 50;
const CAPPED = 3;

const dir = tempDir("nx-ws-");
let nx: NxProcess;
/** `--serve`: the example's default routes. */
let quick: string;
/** `[[serve]]` with max_websockets = 3. */
let capped: string;

before(async () => {
  const config = join(dir.path, "numax.toml");
  writeFileSync(
    config,
    `[[serve]]
listen = "127.0.0.1:0"
max_websockets = ${CAPPED}

[serve.routes]
"WS /echo" = "http_hello#wsEcho"
`,
  );
  nx = startNx([
    "run",
    examplePath("http_hello"),
    "--serve",
    "127.0.0.1:0",
    "--config",
    config,
    "--datastore-path",
    join(dir.path, "data"),
  ]);
  const url = (routes: number) =>
    nx.waitFor(new RegExp(`serving HTTP url=http://(127\\.0\\.0\\.1:\\d+) routes=${routes}\\b`));
  quick = `ws://${(await url(9))[1]!}`;
  capped = `ws://${(await url(1))[1]!}`;
});

after(async () => {
  // A connection still open when the node stops is closed, and the node exits cleanly.
  const open = await connect(`${quick}/ws/echo`);
  assert.ok(typeof open !== "number");
  const exit = await stopNx(nx);
  await open.closed;
  dir.remove();
  assert.equal(exit.code, 0, nx.stderr());
});

interface Client {
  readonly socket: WebSocket;
  /** The next frame: its data and whether it was binary. */
  next(): Promise<{ data: Buffer; binary: boolean }>;
  /** Resolves with the close code. */
  readonly closed: Promise<number>;
}

/** An open connection, or the HTTP status that refused the upgrade (a 503 checked for Retry-After). */
function connect(url: string): Promise<Client | number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { handshakeTimeout: 10_000 });
    const frames: { data: Buffer; binary: boolean }[] = [];
    const waiters: (() => void)[] = [];
    socket.on("message", (data, binary) => {
      frames.push({ data: data as Buffer, binary });
      waiters.shift()?.();
    });
    const closed = new Promise<number>((done) => socket.once("close", (code) => done(code)));
    socket.once("unexpected-response", (_req, res) => {
      if (res.statusCode === 503) assert.equal(res.headers["retry-after"], "1");
      resolve(res.statusCode!);
      socket.terminate();
    });
    socket.once("error", reject);
    socket.once("open", () =>
      resolve({
        socket,
        closed,
        next: async () => {
          if (frames.length === 0) await new Promise<void>((done) => waiters.push(done));
          return frames.shift()!;
        },
      }),
    );
  });
}

async function open(url: string): Promise<Client> {
  const client = await connect(url);
  assert.ok(typeof client !== "number", `upgrade refused with ${client}`);
  return client;
}

test(`WS /ws/echo echoes text and binary frames to ${CLIENTS} concurrent clients, each its own`, async () => {
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => open(`${quick}/ws/echo`)));
  try {
    await Promise.all(
      clients.map(async (client, i) => {
        for (let n = 0; n < 3; n++) {
          client.socket.send(`hello ${i} ${n}`);
          assert.deepEqual(await client.next(), { data: Buffer.from(`hello ${i} ${n}`), binary: false });
        }
        const bytes = Buffer.from([0, 255, i, 10, 13]);
        client.socket.send(bytes);
        assert.deepEqual(await client.next(), { data: bytes, binary: true });
      }),
    );
  } finally {
    for (const client of clients) client.socket.close();
  }
  await Promise.all(clients.map((client) => client.closed));
});

test("a handler that traps closes its own connection with 1011; the others keep echoing", async () => {
  const [doomed, other] = await Promise.all([open(`${quick}/ws/echo`), open(`${quick}/ws/echo`)]);
  try {
    doomed.socket.send("boom");
    assert.equal(await doomed.closed, 1011);
    other.socket.send("still here");
    assert.equal((await other.next()).data.toString(), "still here");
    await nx.waitFor(
      /WARN {2}serve: WebSocket handler failed module=http_hello handler=wsEcho kind=unreachable/,
    );
  } finally {
    other.socket.close();
  }
});

/** How an upgrade that must be refused was answered: its status and Allow header. */
function refused(url: string): Promise<{ status: number; allow: string | undefined }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { handshakeTimeout: 10_000 });
    socket.once("unexpected-response", (_req, res) => {
      resolve({ status: res.statusCode!, allow: res.headers.allow });
      socket.terminate();
    });
    socket.once("open", () => reject(new Error(`${url} accepted the upgrade`)));
    socket.once("error", reject);
  });
}

test("only a WS route takes an upgrade: elsewhere 404, or 405 with Allow; a plain GET of a WS route is 426", async () => {
  assert.deepEqual(await refused(`${quick}/hello/ada`), { status: 405, allow: "GET" });
  assert.deepEqual(await refused(`${quick}/echo`), { status: 405, allow: "POST" });
  assert.deepEqual(await refused(`${quick}/nope`), { status: 404, allow: undefined });
  const http = quick.replace("ws:", "http:");
  const plain = await fetch(`${http}/ws/echo`);
  assert.equal(plain.status, 426);
  assert.equal(plain.headers.get("upgrade"), "websocket");
  await plain.arrayBuffer();
  const post = await fetch(`${http}/ws/echo`, { method: "POST" });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET");
  await post.arrayBuffer();
  // The plain routes still answer plain requests.
  assert.equal(await (await fetch(`${http}/hello/ada`)).text(), "hello ada");
});

test("past max_websockets an upgrade gets 503; a client closing ends its process and frees its slot", async () => {
  for (let round = 0; round < 5; round++) {
    const clients: Client[] = [];
    for (let i = 0; i < CAPPED; i++) {
      // The previous round's processes end once their clients closed: until then, 503.
      const deadline = performance.now() + 10_000;
      let client = await connect(`${capped}/echo`);
      while (client === 503 && performance.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        client = await connect(`${capped}/echo`);
      }
      assert.ok(typeof client !== "number", `connection ${i} of round ${round}: ${client}`);
      clients.push(client);
    }
    assert.equal(await connect(`${capped}/echo`), 503);
    assert.equal(await connect(`${capped}/nope`), 404, "a path without a route, as any request");
    for (const client of clients) client.socket.close();
    await Promise.all(clients.map((client) => client.closed));
  }
  assert.doesNotMatch(
    nx.stderr(),
    /WebSocket handler failed module=http_hello handler=wsEcho kind=stopped/,
    "a client closing is no failure",
  );
});
