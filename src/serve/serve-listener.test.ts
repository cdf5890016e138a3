import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { test } from "node:test";
import { silentLogger } from "../observe/logger.ts";
import { RouteTable } from "./route-table.ts";
import { SERVE_LIMITS_DEFAULT } from "./serve-limits.ts";
import { startServeListener } from "./serve-listener.ts";

test("a response its handler finished before the listener closes is written before the connections close", async () => {
  let listener: Awaited<ReturnType<typeof startServeListener>> | undefined;
  let closed: Promise<void> | undefined;
  listener = await startServeListener({
    listen: { host: "127.0.0.1", port: 0 },
    routes: new RouteTable([{ method: "GET", path: "/done", moduleId: "app", handler: "done" }]),
    limits: SERVE_LIMITS_DEFAULT,
    logger: silentLogger,
    runHandler: (_route, request) => {
      request.write(new TextEncoder().encode("written"));
      // The node starts shutting down in the turn the handler returned in: its response is
      // deferred to the end of that turn (turn-writes.ts), and must not be cut off.
      const outcome = Promise.resolve({ ok: true } as const);
      closed = outcome.then(() => listener!.close());
      return { outcome, stop: () => {} };
    },
  });
  const { port } = listener.address;
  const answer = await new Promise<{ status: number | undefined; body: string } | Error>((resolve) => {
    const req = httpRequest({ host: "127.0.0.1", port, path: "/done", timeout: 10_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode, body }));
      res.on("error", resolve);
    });
    req.on("timeout", () => req.destroy(new Error("no answer within 10 s")));
    req.on("error", resolve);
    req.end();
  });
  await closed;
  assert.deepEqual(answer, { status: 200, body: "written" });
});
