/**
 * The clients of the serve benchmark's SSE and WebSocket figures, in a process of their own (so
 * they do not share the server's event loop), printing one JSON line on stdout:
 *
 *   serve-clients.ts sse BASE TOPIC CLIENTS PUBLISHES
 *     opens CLIENTS event streams on BASE/topics/TOPIC, then publishes PUBLISHES times with
 *     POST BASE/publish/TOPIC, each time measuring from just before the POST to the moment the
 *     last stream has the event: {"latencies_ms":[...]}
 *   serve-clients.ts ws URL CONNECTIONS WARMUP_SEC DURATION_SEC
 *     each connection sends a text frame and sends again when its echo arrives (one frame in
 *     flight per connection); counts echoes during DURATION_SEC after WARMUP_SEC, and all of
 *     them from the first connection to the last (the server's CPU per echo is taken over that):
 *     {"messages_per_sec":N,"messages_total":N}
 */

import { type ClientRequest, request } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { WebSocket } from "ws";

/** How long every stream may take to show one publish before the run fails. */
const DELIVERY_TIMEOUT_MS = 30_000;
/** Between warm-up publishes, sent until every stream shows one (its forward is in place). */
const WARM_UP_PUBLISH_MS = 200;
const WS_MESSAGE = "echo bench message";

interface Stream {
  text: string;
  readonly request: ClientRequest;
}

/** The event being waited for: the streams that lack it yet, and what to call once none do. */
let awaited: { readonly line: string; readonly pending: Set<Stream>; readonly done: () => void } | undefined;

/** Checks only the stream a chunk came to, so one publish costs each stream one check. */
function onChunk(stream: Stream): void {
  if (awaited === undefined || !awaited.pending.has(stream) || !stream.text.includes(awaited.line)) return;
  awaited.pending.delete(stream);
  if (awaited.pending.size === 0) awaited.done();
}

function openStream(url: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`GET ${url} answered ${res.statusCode}`));
      const stream: Stream = { text: "", request: req };
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        stream.text += chunk;
        onChunk(stream);
      });
      res.on("error", () => {});
      resolve(stream);
    });
    req.on("error", reject);
    req.end();
  });
}

/** Resolves once every stream's text holds `line`. */
function everyStreamHas(streams: readonly Stream[], line: string): Promise<void> {
  const pending = new Set(streams.filter((stream) => !stream.text.includes(line)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      awaited = undefined;
      reject(new Error(`${pending.size} of ${streams.length} streams lack "${line.trim()}"`));
    }, DELIVERY_TIMEOUT_MS);
    const done = (): void => {
      clearTimeout(timer);
      awaited = undefined;
      resolve();
    };
    if (pending.size === 0) return done();
    awaited = { line, pending, done };
  });
}

async function publish(base: string, topic: string, payload: string): Promise<void> {
  const response = await fetch(`${base}/publish/${topic}`, { method: "POST", body: payload });
  if (response.status !== 204) throw new Error(`POST /publish/${topic} answered ${response.status}`);
}

async function sse(base: string, topic: string, clients: number, publishes: number): Promise<void> {
  const streams = await Promise.all(
    Array.from({ length: clients }, () => openStream(`${base}/topics/${topic}`)),
  );
  // A stream's headers can arrive before its process forwards the topic: publish until all show one.
  const warm = everyStreamHas(streams, "data: warm\n");
  let warmedUp = false;
  void warm.then(
    () => (warmedUp = true),
    () => {},
  );
  while (!warmedUp) {
    await publish(base, topic, "warm");
    await Promise.race([warm, sleep(WARM_UP_PUBLISH_MS)]);
  }
  const latencies: number[] = [];
  for (let i = 0; i < publishes; i++) {
    for (const stream of streams) stream.text = "";
    const delivered = everyStreamHas(streams, `data: p${i}\n`);
    const start = performance.now();
    await publish(base, topic, `p${i}`);
    await delivered;
    latencies.push(performance.now() - start);
  }
  for (const stream of streams) stream.request.destroy();
  process.stdout.write(`${JSON.stringify({ latencies_ms: latencies })}\n`);
}

async function ws(url: string, connections: number, warmUpSec: number, durationSec: number): Promise<void> {
  let echoes = 0;
  const sockets = await Promise.all(
    Array.from(
      { length: connections },
      () =>
        new Promise<WebSocket>((resolve, reject) => {
          const socket = new WebSocket(url);
          socket.on("open", () => resolve(socket));
          socket.on("error", reject);
          socket.on("message", () => {
            echoes++;
            socket.send(WS_MESSAGE);
          });
        }),
    ),
  );
  for (const socket of sockets) socket.send(WS_MESSAGE);
  await sleep(warmUpSec * 1000);
  const startEchoes = echoes;
  const start = performance.now();
  await sleep(durationSec * 1000);
  const rate = ((echoes - startEchoes) * 1000) / (performance.now() - start);
  for (const socket of sockets) socket.terminate();
  process.stdout.write(`${JSON.stringify({ messages_per_sec: rate, messages_total: echoes })}\n`);
}

const [mode, target, ...rest] = process.argv.slice(2);
const numbers = rest.map(Number);
if (mode === "sse") await sse(target!, rest[0]!, numbers[1]!, numbers[2]!);
else if (mode === "ws") await ws(target!, numbers[0]!, numbers[1]!, numbers[2]!);
else throw new Error(`usage: serve-clients.ts sse|ws ... (got ${mode})`);
