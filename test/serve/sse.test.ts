/**
 * Server-sent events from `nx run examples/http_hello/build/http_hello.wasm` with real HTTP
 * clients on real listeners: the tick stream of `--serve` (the interface), one publish
 * reaching many concurrent streams, the cap on streams (503), and a client going away ending
 * its process (its slot under the cap comes back).
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { type ClientRequest, request } from "node:http";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { examplePath, type NxProcess, startNx, stopNx, tempDir } from "../helpers/nx-process.ts";

/** Concurrent streams of the fan-out test: what runs well within 20 s on a shared 2-core machine. */
const FAN_OUT_CLIENTS = 1000;
const CAPPED_STREAMS = 3;

const dir = tempDir("nx-sse-");
let nx: NxProcess;
/** `--serve`: the example's default routes. */
let quick: string;
/** `[[serve]]` with room for the fan-out. */
let wide: string;
/** `[[serve]]` with max_sse_streams = 3. */
let capped: string;

before(async () => {
  const config = join(dir.path, "numax.toml");
  writeFileSync(
    config,
    `[[serve]]
listen = "127.0.0.1:0"
max_sse_streams = ${FAN_OUT_CLIENTS}
max_connections = ${FAN_OUT_CLIENTS + 16}

[serve.routes]
"GET /topics/*" = "http_hello#topic"
"POST /publish/*" = "http_hello#publish"
"GET /wide/events" = "http_hello#ticks"

[[serve]]
listen = "127.0.0.1:0"
max_sse_streams = ${CAPPED_STREAMS}

[serve.routes]
"GET /events" = "http_hello#ticks"
"GET /topics/*" = "http_hello#topic"
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
    nx.waitFor(new RegExp(`serving HTTP url=(http://127\\.0\\.0\\.1:\\d+) routes=${routes}\\b`));
  quick = (await url(9))[1]!;
  wide = (await url(3))[1]!;
  capped = (await url(2))[1]!;
});

after(async () => {
  // Streams still open when the node stops are ended, not cut: their clients see the end.
  const streams = await Promise.all([open(`${quick}/events`), open(`${wide}/topics/shutdown`)]);
  await streams[0]!.waitFor("data: tick 0");
  const exit = await stopNx(nx);
  assert.deepEqual(await Promise.all(streams.map((stream) => stream.ended)), ["end", "end"]);
  dir.remove();
  assert.equal(exit.code, 0, nx.stderr());
});

interface Stream {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  /** Everything received so far. */
  text(): string;
  /** Resolves once `text()` includes `what`. */
  waitFor(what: string): Promise<void>;
  /** Resolves once the response is over: "end" when it ended, "cut" when its connection broke first. */
  readonly ended: Promise<"end" | "cut">;
  close(): void;
}

/** A GET whose answer is read as it comes (node:http, no pooling: one connection each). */
function open(url: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    let text = "";
    const waiters = new Set<() => void>();
    const req: ClientRequest = request(url, { agent: false, timeout: 20_000 }, (res) => {
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
        for (const waiter of [...waiters]) waiter();
      });
      res.on("error", () => {});
      const ended = new Promise<"end" | "cut">((done) =>
        res.once("close", () => done(res.complete ? "end" : "cut")),
      );
      resolve({
        ended,
        status: res.statusCode!,
        headers: res.headers,
        text: () => text,
        waitFor: (what) =>
          new Promise<void>((done) => {
            const check = (): void => {
              if (!text.includes(what)) return;
              waiters.delete(check);
              done();
            };
            waiters.add(check);
            check();
          }),
        close: () => req.destroy(),
      });
    });
    req.on("error", reject);
    req.end();
  });
}

async function publish(topic: string, body: string): Promise<void> {
  const response = await fetch(`${wide}/publish/${topic}`, {
    method: "POST",
    body,
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(response.status, 204);
}

test("GET /events (--serve) streams text/event-stream: data: tick 0, data: tick 1, ... every 100 ms", async () => {
  const stream = await open(`${quick}/events`);
  try {
    assert.equal(stream.status, 200);
    assert.equal(stream.headers["content-type"], "text/event-stream; charset=utf-8");
    assert.equal(stream.headers["cache-control"], "no-cache");
    const started = performance.now();
    await stream.waitFor("data: tick 3\n\n");
    assert.ok(stream.text().startsWith("data: tick 0\n\ndata: tick 1\n\ndata: tick 2\n\ndata: tick 3\n\n"));
    // Ticks 1..3 come 100 ms apart: at least 300 ms after the head, give or take a timer's grain.
    assert.ok(performance.now() - started >= 250, `${performance.now() - started} ms`);
  } finally {
    stream.close();
  }
});

test(`one publish reaches ${FAN_OUT_CLIENTS} concurrent SSE clients`, async () => {
  const streams: Stream[] = [];
  try {
    for (let i = 0; i < FAN_OUT_CLIENTS; i += 100) {
      streams.push(...(await Promise.all(Array.from({ length: 100 }, () => open(`${wide}/topics/fan/out`)))));
    }
    assert.ok(streams.every((stream) => stream.status === 200));
    // A stream's head comes before its handler's sse_forward: probes until every one forwards.
    let probes = 0;
    while (!streams.every((stream) => stream.text().includes("data: probe"))) {
      await publish("fan/out", `probe ${probes++}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const started = performance.now();
    await publish("fan/out", "the news");
    await Promise.all(streams.map((stream) => stream.waitFor("event: fan/out\ndata: the news\n\n")));
    const ms = performance.now() - started;
    console.log(`fan-out: one publish reached ${FAN_OUT_CLIENTS} SSE clients in ${ms.toFixed(0)} ms`);
  } finally {
    for (const stream of streams) stream.close();
  }
});

test("past max_sse_streams a stream gets 503 with Retry-After; a client going away ends its process and frees its slot", async () => {
  for (let round = 0; round < 10; round++) {
    const streams: Stream[] = [];
    for (let i = 0; i < CAPPED_STREAMS; i++) {
      // The previous round's processes end once their clients went away: until then, 503.
      const deadline = performance.now() + 10_000;
      let stream = await open(`${capped}/${i % 2 === 0 ? "events" : "topics/capped"}`);
      while (stream.status === 503 && performance.now() < deadline) {
        stream.close();
        await new Promise((resolve) => setTimeout(resolve, 20));
        stream = await open(`${capped}/events`);
      }
      assert.equal(stream.status, 200, `stream ${i} of round ${round}`);
      streams.push(stream);
    }
    const refused = await fetch(`${capped}/events`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get("retry-after"), "1");
    assert.equal(await refused.text(), "service unavailable: too many event streams\n");
    for (const stream of streams) stream.close();
  }
  assert.doesNotMatch(
    nx.stderr(),
    /WARN {2}serve: request handler failed/,
    "a client going away is no failure",
  );
});
