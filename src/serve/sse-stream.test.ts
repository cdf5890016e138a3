/**
 * SseStream.endAtShutdown against real sockets: a client that is not reading is cut once the
 * stream's end is written (also when the end was written before the node began to stop), a
 * client that reads gets the end. test/serve/sse-stalled-client.test.ts does it on a real node.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type ServerResponse } from "node:http";
import { connect, type Socket } from "node:net";
import { test } from "node:test";
import { RELEASE_AT_ONCE } from "./release-output.ts";
import { settlesWithin } from "./settles-within.ts";
import { SseStream } from "./sse-stream.ts";

const EVENT_DATA = "x".repeat(64 * 1024);

/** A stream on a real connection whose client reads the head, then reads on or stops reading. */
async function openStream(
  reading: boolean,
): Promise<{ stream: SseStream; res: ServerResponse; client: Socket; close(): void }> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const responded = once(server, "request") as Promise<[unknown, ServerResponse]>;
  const client = connect((server.address() as { port: number }).port, "127.0.0.1");
  client.write("GET /events HTTP/1.1\r\nHost: test\r\n\r\n");
  const [, res] = await responded;
  const stream = new SseStream(res, { status: 200, headers: [] }, undefined, RELEASE_AT_ONCE, () => {});
  await once(client, "data");
  if (reading) client.resume();
  else client.pause();
  return {
    stream,
    res,
    client,
    close: () => {
      client.destroy();
      server.closeAllConnections();
      server.close();
    },
  };
}

/** Sends events until the node holds bytes the client's connection did not take. */
async function backUp(stream: SseStream, res: ServerResponse): Promise<void> {
  while ((res.socket?.writableLength ?? 0) === 0) {
    assert.equal(stream.send("fill", EVENT_DATA), 0);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

for (const endedBefore of [false, true]) {
  test(`a client that stopped reading is cut at shutdown${endedBefore ? " (its end written before)" : ""}`, async () => {
    const { stream, res, close } = await openStream(false);
    try {
      await backUp(stream, res);
      // The handler returned before the node stopped: its end waits behind what the client does not take.
      const ended = endedBefore ? stream.end() : undefined;
      assert.ok(await settlesWithin(stream.endAtShutdown(), 2_000), "not waited for");
      assert.ok(stream.stalled);
      assert.ok(res.destroyed);
      if (ended !== undefined) assert.ok(await settlesWithin(ended, 1_000));
    } finally {
      close();
    }
  });
}

test("a client that reads gets the stream's end at shutdown, not a cut", async () => {
  const { stream, res, client, close } = await openStream(true);
  try {
    let received = "";
    client.setEncoding("utf8");
    client.on("data", (chunk: string) => {
      received += chunk;
    });
    for (let i = 0; i < 8; i++) assert.equal(stream.send("more", EVENT_DATA), 0);
    await stream.endAtShutdown();
    assert.equal(stream.stalled, false);
    assert.ok(res.writableFinished, "the end was written");
    // The chunked body's last chunk: the client saw the end.
    while (!received.endsWith("0\r\n\r\n")) await once(client, "data");
    assert.equal(received.split("event: more\n").length - 1, 8);
  } finally {
    close();
  }
});

test("a client that reads but is behind at shutdown (bytes queued in the node) is cut too", async () => {
  const { stream, res, client, close } = await openStream(false);
  try {
    await backUp(stream, res);
    // It reads on, slowly: one chunk, then a pause. The node cannot tell it from a client that
    // stopped, and does not wait for it (docs/serving.md#handlers).
    client.on("data", () => {
      client.pause();
      setTimeout(() => client.resume(), 50);
    });
    client.resume();
    assert.ok(await settlesWithin(stream.endAtShutdown(), 2_000), "not waited for");
    assert.ok(stream.stalled);
    assert.ok(res.destroyed);
  } finally {
    close();
  }
});
