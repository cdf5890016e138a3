import assert from "node:assert/strict";
import { test } from "node:test";
import { type LogRecord, recordingLogger } from "../../test/abi/harness.ts";
import { createLogger } from "../observe/create-logger.ts";
import type { Logger } from "../observe/logger.ts";
import { loadGuestModuleFile } from "../wasm/load-guest-module.ts";
import { ModuleCache } from "../wasm/module-cache.ts";
import { type ServeComponent, type ServeComponentOptions, serveComponent } from "./serve-component.ts";
import { SERVE_LIMITS_DEFAULT } from "./serve-limits.ts";
import type { ServeListener } from "./serve-listener.ts";
import { settlesWithin } from "./settles-within.ts";

const logger = createLogger({ level: "error", format: "text" });

async function helloModule() {
  const path = new URL("../../examples/http_hello/build/http_hello.wasm", import.meta.url).pathname;
  return loadGuestModuleFile(path, {
    memoryMaxBytes: 64 * 1024 * 1024,
    cache: new ModuleCache({ directory: undefined, logger }),
    logger,
  });
}

/** Serving http_hello's `GET /hello/:name` on one listener (`where`, `host`), no handler ever run. */
async function helloServe(
  log: Logger,
  listener: { where: string; host: string },
  options: Partial<ServeComponentOptions> = {},
): Promise<ServeComponent> {
  return serveComponent(
    log,
    {
      listeners: [
        {
          where: listener.where,
          listen: { host: listener.host, port: 0 },
          limits: SERVE_LIMITS_DEFAULT,
          routes: [{ method: "GET", path: "/hello/:name", moduleId: "http_hello", handler: "hello" }],
        },
      ],
      modules: [await helloModule()],
      cpuMsPerRequest: 1000,
      shutdownTimeoutMs: 1000,
      profile: "trusted",
      ...options,
    },
    { environment: () => assert.fail("no handler runs") },
  );
}

/** A listener on http://127.0.0.1:8080 with 2 connections open, whose close does what `close` does. */
function fakeListener(close: ServeListener["close"], dropped: string[] = []): ServeListener {
  const url = "http://127.0.0.1:8080";
  return {
    address: { host: "127.0.0.1", port: 8080 },
    url,
    replaceRoutes: () => {},
    close,
    openConnections: 2,
    dropConnections: () => dropped.push(url),
  };
}

test("a route to a module whose processes lack network.serve is refused at start, naming it", async () => {
  const serve = await helloServe(
    logger,
    { where: "[[serve]] #1 (numax.toml)", host: "127.0.0.1" },
    { profile: "trusted-network.serve" },
  );
  await assert.rejects(serve.start(), {
    code: "SERVE_NOT_GRANTED",
    message:
      '[[serve]] #1 (numax.toml): route "GET /hello/:name" = "http_hello#hello": module "http_hello" runs with profile "trusted-network.serve", which does not grant network.serve',
  });
  assert.equal(serve.listeners.length, 0, "no listener was opened");
  await serve.stop();
});

test("plain HTTP on an address other than loopback is served with a warning line", async () => {
  const records: LogRecord[] = [];
  const serve = await helloServe(recordingLogger(records), { where: "--serve", host: "0.0.0.0" });
  try {
    await serve.start();
    const warnings = records.filter((record) => record.level === "warn").map((record) => record.message);
    assert.deepEqual(warnings, [
      "--serve: serving plain HTTP on 0.0.0.0:0, reachable from other machines; set tls_cert and tls_key for HTTPS",
    ]);
  } finally {
    await serve.stop();
  }
});

test("a listener whose close hangs is given up after the drain's bound plus its closing time, with one line", async () => {
  const records: LogRecord[] = [];
  const dropped: string[] = [];
  let drainMs: number | undefined;
  const serve = await helloServe(
    recordingLogger(records),
    { where: "--serve", host: "127.0.0.1" },
    {
      shutdownTimeoutMs: 2000,
      // A close that never ends: no known way is left for a real one, this stands for the unknown.
      startListener: async () =>
        fakeListener((replyWaitMs) => {
          drainMs = replyWaitMs;
          return new Promise(() => {});
        }, dropped),
    },
  );
  await serve.start();
  const startedAt = performance.now();
  assert.ok(await settlesWithin(serve.stopServing(), 10_000), "stopServing returned");
  const waitedMs = performance.now() - startedAt;
  // Half of the 2 s timeout to drain, then a quarter of it (under SERVE_CLOSE_AFTER_DRAIN_MS_MAX) to close.
  assert.equal(drainMs, 1000);
  assert.ok(waitedMs >= 1450 && waitedMs < 3000, `stopServing returned after ${Math.round(waitedMs)} ms`);
  assert.deepEqual(
    records.filter((record) => record.level === "warn").map(({ message, fields }) => ({ message, fields })),
    [
      {
        message: "serving did not close in time: its connections are dropped and the node stops without it",
        fields: { waitedMs: 1500, listeners: "http://127.0.0.1:8080 (2 connections open)" },
      },
    ],
  );
  assert.deepEqual(dropped, ["http://127.0.0.1:8080"]);
  assert.ok(
    await settlesWithin(serve.stop(), 1000),
    "the component's stop does not wait for the same close again",
  );
});

test("a listener that fails to close is thrown by stopServing and by the component's stop", async () => {
  const serve = await helloServe(
    logger,
    { where: "--serve", host: "127.0.0.1" },
    {
      startListener: async () => fakeListener(() => Promise.reject(new Error("cannot close"))),
    },
  );
  await serve.start();
  await assert.rejects(serve.stopServing(), /cannot close/);
  await assert.rejects(serve.stop(), /cannot close/);
});
