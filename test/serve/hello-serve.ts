/**
 * The serving component in this test's process, serving `routes` of the http_hello example on
 * one listener of 127.0.0.1 with the given event bus: for tests that look inside the node (its
 * bus subscriptions) while real clients talk to a real socket.
 */
import assert from "node:assert/strict";
import type { NodeEventBus } from "../../src/events/node-event-bus.ts";
import { createLogger } from "../../src/observe/create-logger.ts";
import type { Route } from "../../src/serve/route-entry.ts";
import { type ServeComponent, serveComponent } from "../../src/serve/serve-component.ts";
import { SERVE_LIMITS_DEFAULT } from "../../src/serve/serve-limits.ts";
import { loadGuestModuleFile } from "../../src/wasm/load-guest-module.ts";
import { ModuleCache } from "../../src/wasm/module-cache.ts";
import { recordingEnvironment } from "../abi/harness.ts";
import { examplePath } from "../helpers/nx-process.ts";

/** Started; the caller stops it. `port` is the listener's. */
export async function serveHello(
  routes: readonly Route[],
  bus: NodeEventBus,
): Promise<{ serve: ServeComponent; port: number }> {
  const logger = createLogger({ level: "error", format: "text" });
  const module = await loadGuestModuleFile(examplePath("http_hello"), {
    memoryMaxBytes: 64 * 1024 * 1024,
    cache: new ModuleCache({ directory: undefined, logger }),
    logger,
  });
  const serve = serveComponent(
    logger,
    {
      listeners: [
        { where: "--serve", listen: { host: "127.0.0.1", port: 0 }, limits: SERVE_LIMITS_DEFAULT, routes },
      ],
      modules: [module],
      cpuMsPerRequest: 1000,
      shutdownTimeoutMs: 2000,
      profile: "trusted",
    },
    { environment: () => recordingEnvironment().env },
    () => bus,
  );
  await serve.start();
  return { serve, port: serve.listeners[0]!.address.port };
}

/** Resolves once `condition` holds; fails the test after 10 s naming `what`. */
export async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (!condition()) {
    if (performance.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
