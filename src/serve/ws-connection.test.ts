import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { test } from "node:test";
import type { WebSocket } from "ws";
import { RELEASE_AT_ONCE } from "./release-output.ts";
import { WsConnection } from "./ws-connection.ts";

/** The part of a `ws` socket a connection uses; `send` throws when `failing`. */
class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: string[] = [];
  terminated = false;
  readonly failing: boolean;
  constructor(failing: boolean) {
    super();
    this.failing = failing;
  }
  send(bytes: Uint8Array): void {
    if (this.failing) throw new Error("frame refused");
    this.sent.push(Buffer.from(bytes).toString());
  }
  terminate(): void {
    this.terminated = true;
    this.readyState = 3;
    this.emit("close");
  }
}

test("a frame that throws as it is written drops its own connection; the turn's other frames go out", async () => {
  const failures: unknown[] = [];
  const bad = new FakeSocket(true);
  const good = new FakeSocket(false);
  const badConnection = new WsConnection(bad as unknown as WebSocket, undefined, RELEASE_AT_ONCE, (error) =>
    failures.push(error),
  );
  const goodConnection = new WsConnection(good as unknown as WebSocket, undefined, RELEASE_AT_ONCE, () =>
    assert.fail("the good connection failed"),
  );
  assert.equal(badConnection.send(new TextEncoder().encode("a"), false), 0);
  assert.equal(goodConnection.send(new TextEncoder().encode("b"), false), 0);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(good.sent, ["b"]);
  assert.equal(bad.terminated, true, "the failed connection is dropped (its process ends with it)");
  assert.equal((failures[0] as Error).message, "frame refused");
  assert.equal(
    badConnection.send(new TextEncoder().encode("c"), false),
    -3,
    "a dropped connection answers -3",
  );
});
