/**
 * An event-stream client that stopped reading, when its node stops (docs/serving.md#handlers): its
 * stream is cut at once rather than waited for, so the modules' `shutdown` begins without waiting
 * half of `--shutdown-timeout` for a client that will never take the stream's end; a client that
 * reads gets its end, and writes acknowledged before the signal are on disk after the stop. Real
 * `nx` node, real TCP clients.
 *
 * The stalled client holds its stream where the node has bytes queued for it (its connection's
 * socket buffers are full) but fewer than SSE_STREAM_BUFFER_BYTES_MAX, past which the node closes
 * a slow client anyway. How much the socket buffers take depends on the machine, so a first
 * stalled stream is filled until the node closes it, which measures it.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { request } from "node:http";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { SSE_STREAM_BUFFER_BYTES_MAX } from "../../src/serve/sse-stream.ts";
import { openLmdbBackend } from "../../src/store/lmdb-backend.ts";
import { examplePath, guestPath, startNx, stopNx, tempDir } from "../helpers/nx-process.ts";

const utf8 = new TextEncoder();
/** Each published message: well under MESSAGE_PAYLOAD_MAX_BYTES. */
const PAYLOAD = "x".repeat(60_000);
/** Most bytes published to one stream before the node must have closed it. */
const PUBLISHED_BYTES_MAX = 256 * 1024 * 1024;

test("a stream whose client stopped reading is cut at shutdown; the modules end without waiting for it", {
  timeout: 180_000,
}, async () => {
  const dir = tempDir("nx-sse-stalled-");
  const nx = startNx([
    "run",
    examplePath("http_hello"),
    guestPath("ack_server"),
    guestPath("reactive_probe"),
    "--serve",
    "127.0.0.1:0",
    "--observability-listen",
    "127.0.0.1:0",
    "--shutdown-timeout",
    "20s",
    "--datastore-path",
    join(dir.path, "data"),
  ]);
  const sockets: Socket[] = [];
  try {
    const listener = (await nx.waitFor(/serving HTTP url=http:\/\/(127\.0\.0\.1:\d+)/, 30_000))[1]!;
    const observed = (await nx.waitFor(/observability: listening url=(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    await nx.waitFor(/^(\[reactive_probe\] )?init$/m);
    const openStreams = async (): Promise<number> => {
      const text = await (await fetch(`${observed}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
      return Number(/^numax_http_sse_streams (\d+)$/m.exec(text)![1]);
    };
    const publish = async (topic: string): Promise<void> => {
      const response = await fetch(`http://${listener}/publish/${topic}`, {
        method: "POST",
        body: PAYLOAD,
        signal: AbortSignal.timeout(10_000),
      });
      assert.equal(response.status, 204, await response.text());
    };
    /** A client that reads the stream's head and then nothing more. */
    const stalledStream = async (topic: string): Promise<Socket> => {
      const socket = connect(Number(listener.split(":")[1]), "127.0.0.1");
      sockets.push(socket);
      await once(socket, "connect");
      socket.write(`GET /topics/${topic} HTTP/1.1\r\nHost: ${listener}\r\n\r\n`);
      let head = "";
      while (!head.includes("\r\n\r\n")) head += String((await once(socket, "data"))[0]);
      assert.match(head, /^HTTP\/1\.1 200 /);
      socket.pause();
      return socket;
    };
    /** Bytes of one published message as an event (its name and data lines). */
    const eventBytes = (topic: string) => `event: ${topic}\ndata: ${PAYLOAD}\n\n`.length;

    // How much a stalled client's connection takes: publish until the node closes the stream.
    const before = await openStreams();
    await stalledStream("calibrate");
    let taken = 0;
    while ((await openStreams()) > before) {
      assert.ok(taken < PUBLISHED_BYTES_MAX, "the node never closed a client that does not read");
      await publish("calibrate");
      taken += eventBytes("calibrate");
    }
    const socketBuffersBytes = taken - SSE_STREAM_BUFFER_BYTES_MAX;

    // A client that reads, and one that stopped with about a third of the bound queued in the node.
    const readBytes: number[] = [];
    const reader = new Promise<string>((resolve) => {
      const req = request(`http://${listener}/topics/stalled`, { agent: false }, (res) => {
        let bytes = 0;
        res.on("data", (chunk: Buffer) => {
          bytes += chunk.length;
          readBytes[0] = bytes;
        });
        res.on("end", () => resolve("end"));
        res.on("error", (error) => resolve(String(error)));
      });
      req.on("error", (error) => resolve(String(error)));
      req.end();
    });
    await stalledStream("stalled");
    while ((await openStreams()) < before + 2) await new Promise((resolve) => setTimeout(resolve, 20));
    let published = 0;
    while (published < socketBuffersBytes + SSE_STREAM_BUFFER_BYTES_MAX / 3) {
      await publish("stalled");
      published += eventBytes("stalled");
    }
    assert.equal(await openStreams(), before + 2, "both streams are still open before the signal");
    // Writes acknowledged before the signal (204s) must be on disk after the stop.
    for (let n = 0; n < 10; n++) {
      const response = await fetch(`http://${listener}/ack/${n}`, {
        method: "PUT",
        signal: AbortSignal.timeout(10_000),
      });
      assert.equal(response.status, 204);
    }

    const signalledAt = performance.now();
    nx.child.kill("SIGTERM");
    await nx.waitFor(/^(\[reactive_probe\] )?shutdown$/m, 30_000);
    const shutdownAfterMs = performance.now() - signalledAt;
    assert.ok(
      shutdownAfterMs < 5_000,
      `the modules' shutdown began ${Math.round(shutdownAfterMs)} ms after the signal (the drain waits up to 10 s)`,
    );
    assert.equal(await reader, "end", "the client that reads gets the stream's end");
    assert.equal(readBytes[0], published, "and every event before it");
    assert.equal((await nx.exited).code, 0, nx.stderr());
    assert.match(
      nx.stderr(),
      /INFO {2}serve: event streams cut: their clients were not reading what was sent streams=1\n/,
    );
    const store = await openLmdbBackend({ path: join(dir.path, "data") });
    try {
      for (let n = 0; n < 10; n++)
        assert.ok(store.get(utf8.encode(`ack/${n}`)) !== undefined, `ack/${n} is on disk`);
    } finally {
      await store.close();
    }
  } finally {
    for (const socket of sockets) socket.destroy();
    await stopNx(nx);
    dir.remove();
  }
});
