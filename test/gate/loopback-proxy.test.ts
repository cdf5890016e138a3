/** The partition gate's TCP proxy, over real sockets on 127.0.0.1. */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { LoopbackProxy } from "../../bench/gate/loopback-proxy.ts";

let echo: Server;
let echoPort: number;
let proxy: LoopbackProxy;

function connect(port: number): Promise<Socket> {
  const socket = createConnection({ host: "127.0.0.1", port });
  return once(socket, "connect").then(() => socket);
}

/** Sends `text` and resolves with what comes back, or with "closed" when the connection ends first. */
function roundTrip(socket: Socket, text: string): Promise<string> {
  return new Promise((resolve) => {
    let received = "";
    const onData = (chunk: Buffer) => {
      received += chunk.toString();
      if (received.length >= text.length) {
        socket.off("data", onData);
        resolve(received);
      }
    };
    socket.on("data", onData);
    socket.once("close", () => resolve("closed"));
    socket.once("error", () => resolve("closed"));
    socket.write(text);
  });
}

describe("LoopbackProxy", () => {
  before(async () => {
    echo = createServer((socket) => {
      socket.on("error", () => socket.destroy());
      socket.pipe(socket);
    });
    await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
    echoPort = (echo.address() as { port: number }).port;
    proxy = await LoopbackProxy.start({ targetPort: echoPort });
  });
  after(async () => {
    await proxy.close();
    await new Promise((resolve) => echo.close(resolve));
  });

  test("forwards bytes both ways", async () => {
    const socket = await connect(proxy.port);
    assert.notEqual(proxy.port, echoPort);
    assert.equal(await roundTrip(socket, "hello through the proxy"), "hello through the proxy");
    socket.destroy();
  });

  test("cut drops open connections and refuses new ones; heal forwards again", async () => {
    const open = await connect(proxy.port);
    assert.equal(await roundTrip(open, "before"), "before");
    const closed = once(open, "close");
    proxy.cut();
    assert.equal(proxy.isCut, true);
    await closed;
    assert.equal(proxy.openConnections, 0);

    const refusedBefore = proxy.refusedTotal;
    const during = await connect(proxy.port);
    assert.equal(await roundTrip(during, "during"), "closed");
    assert.equal(proxy.refusedTotal, refusedBefore + 1);

    proxy.heal();
    const healed = await connect(proxy.port);
    assert.equal(await roundTrip(healed, "after"), "after");
    healed.destroy();
  });

  test("a target that is not listening closes the client's connection", async () => {
    const port = (await LoopbackProxy.start({ targetPort: 1 })) as LoopbackProxy;
    try {
      const socket = await connect(port.port);
      assert.equal(await roundTrip(socket, "x"), "closed");
    } finally {
      await port.close();
    }
  });
});
