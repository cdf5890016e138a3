/**
 * Event-stream clients that come and go, many times, against a real node (`nx run
 * examples/http_hello/build/http_hello.wasm --serve`): every stream's process ends when its
 * client leaves (the node's open-stream count is back to 0 after each round) and the node's
 * memory stays bounded. Each stream's handler (`GET /events`) is killed while it waits in
 * `proc_receive` between two ticks: a process killed there used to keep its instance and memory
 * for the node's lifetime (a stack parked on a promise that never settles), about 100 KB a
 * stream, which this many streams turn into well over the bound below.
 */
import assert from "node:assert/strict";
import { type ClientRequest, request } from "node:http";
import { test } from "node:test";
import { helloServeNode } from "../helpers/hello-serve-node.ts";
import { pollUntil } from "../helpers/nx-process.ts";

/** Streams open at once in a round, and rounds: before the measure, then measured. */
const STREAMS_PER_ROUND = 50;
const WARM_UP_ROUNDS = 20;
const MEASURED_ROUNDS = 30;
/**
 * Most the node's resident memory may grow over the measured rounds' 1 500 streams. The warm-up
 * rounds' 1 000 streams take it to where it stays (from ~120 MB to 170-190 MB, with the heap at
 * 20-40 MB throughout: freed instances' memory is returned lazily); then it moves by 8-17 MB
 * alone, and reached 50.6 MB once inside a whole `npm test` run (other files' load delays the
 * node's collections), still far below the ~150 MB that streams keeping their instances add.
 */
const RSS_GROWTH_BYTES_MAX = 64 * 1024 * 1024;

const node = helloServeNode("nx-sse-disconnects-");

/** The node's value of `series` (a series without labels) in its /metrics. */
async function metric(series: string): Promise<number> {
  const text = await (
    await fetch(`${node.observed}/metrics`, { signal: AbortSignal.timeout(10_000) })
  ).text();
  const line = text.split("\n").find((candidate) => candidate.startsWith(`${series} `));
  assert.ok(line !== undefined, `${series} in /metrics`);
  return Number(line.slice(series.length + 1));
}

/** Opens `GET /events` and resolves once its first event came (its process is running). */
function openTicking(): Promise<ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = request(`${node.served}/events`, { agent: false, timeout: 20_000 }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`GET /events answered ${res.statusCode}`));
      res.setEncoding("utf8");
      let text = "";
      res.on("data", (chunk: string) => {
        text += chunk;
        if (text.includes("data: tick 0\n")) resolve(req);
      });
      res.on("error", () => {});
    });
    req.on("error", reject);
    req.end();
  });
}

/** One round: streams open, each shows a tick, all go away; resolves once the node counts none open. */
async function round(): Promise<void> {
  const streams = await Promise.all(Array.from({ length: STREAMS_PER_ROUND }, openTicking));
  for (const stream of streams) stream.destroy();
  const open = await pollUntil(
    () => metric("numax_http_sse_streams"),
    (count) => count === 0,
    20_000,
  );
  assert.equal(open, 0, "every stream's process ended with its client");
}

test(`${WARM_UP_ROUNDS + MEASURED_ROUNDS} rounds of ${STREAMS_PER_ROUND} event streams opening and going away: no process outlives its client, memory bounded`, {
  timeout: 240_000,
}, async () => {
  for (let i = 0; i < WARM_UP_ROUNDS; i++) await round();
  const before = await metric("process_resident_memory_bytes");
  for (let i = 0; i < MEASURED_ROUNDS; i++) await round();
  const grown = (await metric("process_resident_memory_bytes")) - before;
  assert.ok(
    grown < RSS_GROWTH_BYTES_MAX,
    `resident memory grew by ${(grown / 2 ** 20).toFixed(1)} MiB over ${MEASURED_ROUNDS * STREAMS_PER_ROUND} streams`,
  );
  // The node still serves new streams and requests.
  (await openTicking()).destroy();
  assert.equal((await fetch(`${node.served}/hello/after`)).status, 200);
});
