/**
 * What clients of a serving node see when it stops (docs/serving.md#handlers): the listener stops
 * taking connections at the signal, before the modules end (it used to stay open while they ran
 * their `shutdown` and sync stopped), and WebSockets are closed with 1001 (going away), not cut
 * (1006). Real `nx` nodes, real TCP, HTTP and WebSocket clients.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { request } from "node:http";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { describe, it } from "node:test";
import { WebSocket } from "ws";
import { examplePath, guestPath, startNx, stopNx, tempDir } from "../helpers/nx-process.ts";

/** `method` `path` on its own connection; resolves with the status or the error that ended it. */
function ask(base: string, path: string, method = "GET"): Promise<number | NodeJS.ErrnoException> {
  return new Promise((resolve) => {
    const req = request(`${base}${path}`, { method, agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode!));
    });
    req.on("timeout", () => req.destroy(new Error("no answer within 10 s")));
    req.on("error", resolve);
    req.end();
  });
}

/** A keep-alive connection that has had one request answered and now sits idle. */
async function idleKeepAlive(listener: string): Promise<Socket> {
  const [host, port] = listener.split(":");
  const socket = connect(Number(port), host);
  await once(socket, "connect");
  socket.write(`PUT /ack/1 HTTP/1.1\r\nHost: ${listener}\r\nContent-Length: 0\r\n\r\n`);
  let seen = "";
  while (!seen.includes("\r\n\r\n")) seen += String((await once(socket, "data"))[0]);
  assert.match(seen, /^HTTP\/1\.1 204 /);
  return socket;
}

describe("a serving node that stops", { timeout: 120_000 }, () => {
  it("reports not ready, refuses new connections and closes idle ones before its modules end", async () => {
    const dir = tempDir("nx-serve-shutdown-order-");
    // The probe's `shutdown` spins: the modules take half the timeout to end after the signal.
    // ack_server's store gives /ready its `storeOpen` check.
    const nx = startNx(
      [
        "run",
        guestPath("ack_server"),
        guestPath("reactive_probe"),
        "--serve",
        "127.0.0.1:0",
        "--shutdown-timeout",
        "8s",
        "--observability-listen",
        "127.0.0.1:0",
        "--datastore-path",
        join(dir.path, "data"),
      ],
      { NX_PROBE_FAIL_IN: "shutdown", NX_PROBE_FAIL_HOW: "loop" },
    );
    try {
      const listener = (await nx.waitFor(/serving HTTP url=http:\/\/(127\.0\.0\.1:\d+)/, 30_000))[1]!;
      const base = `http://${listener}`;
      const observed = (await nx.waitFor(/observability: listening url=(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
      await nx.waitFor(/^(\[reactive_probe\] )?init$/m);
      assert.equal(await ask(base, "/ack/0", "PUT"), 204);
      const idle = await idleKeepAlive(listener);
      const idleClosed = once(idle, "close");
      nx.child.kill("SIGTERM");
      // The module's `shutdown` runs (and spins) only once serving has stopped.
      await nx.waitFor(/^(\[reactive_probe\] )?shutdown$/m);
      const during = await ask(base, "/ack/2", "PUT");
      const ready = await ask(observed, "/ready");
      assert.equal(nx.child.exitCode, null, "the node is still ending its modules");
      assert.equal((during as NodeJS.ErrnoException).code, "ECONNREFUSED", `got ${String(during)}`);
      assert.equal(ready, 503, "not ready once shutdown has begun");
      await Promise.race([
        idleClosed,
        nx.exited.then(() => assert.fail("the idle connection stayed open until the node exited")),
      ]);
      await nx.exited;
    } finally {
      await stopNx(nx);
      dir.remove();
    }
  });

  it("closes its WebSockets with 1001 (going away) after the frames they were sent", async () => {
    const dir = tempDir("nx-serve-shutdown-ws-");
    const nx = startNx([
      "run",
      examplePath("http_hello"),
      "--serve",
      "127.0.0.1:0",
      "--datastore-path",
      join(dir.path, "data"),
    ]);
    try {
      const listener = (await nx.waitFor(/serving HTTP url=http:\/\/(127\.0\.0\.1:\d+)/, 30_000))[1]!;
      const ws = new WebSocket(`ws://${listener}/ws/echo`);
      const frames: string[] = [];
      ws.on("message", (data) => frames.push(String(data)));
      const closed = once(ws, "close") as Promise<[number, Buffer]>;
      await once(ws, "open");
      ws.send("one");
      await new Promise<void>((resolve) => ws.once("message", () => resolve()));
      nx.child.kill("SIGTERM");
      const [code, reason] = await closed;
      assert.deepEqual(frames, ["one"]);
      assert.equal(code, 1001, `closed with ${code} ${String(reason)}`);
      assert.equal(String(reason), "the node is shutting down");
      assert.equal((await nx.exited).code, 0, nx.stderr());
    } finally {
      await stopNx(nx);
      dir.remove();
    }
  });
});
