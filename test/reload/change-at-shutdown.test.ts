/**
 * A module add or reload still under way when the node begins to stop (docs/hot-reload.md,
 * "Changes at shutdown"): in process against a real node (LMDB on disk, HTTP on a real socket),
 * its loader held until shutdown has begun as `nx run` begins it at a signal (not ready and no
 * changes, serving drained, the modules interrupted). The change is refused and its code never
 * runs; it used to be put in place and started after the other modules were told to end.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { resolveConfig } from "../../src/config/resolve.ts";
import { type NumaxNode, startNumaxNode } from "../../src/node/numax-node.ts";
import { SERVE_LIMITS_DEFAULT } from "../../src/serve/serve-limits.ts";
import {
  type GuestModule,
  loadGuestModuleBytes,
  loadGuestModuleFile,
} from "../../src/wasm/load-guest-module.ts";
import { ModuleCache } from "../../src/wasm/module-cache.ts";
import { type LogRecord, recordingLogger } from "../abi/harness.ts";
import { versionedGuest } from "./versioned-guest.ts";

const utf8 = new TextEncoder();

/** A serving node running `app` (v1) whose loader, once `hold` is called, waits until released. */
async function nodeWithHeldLoader(dir: string, records: LogRecord[]) {
  const appPath = join(dir, "app.wasm");
  writeFileSync(appPath, await versionedGuest({ version: "v1" }));
  const { config } = await resolveConfig({
    flags: { "storage.datastore_path": join(dir, "data") },
    env: {},
    configPath: undefined,
  });
  const logger = recordingLogger(records, ["info", "warn", "error"]);
  const options = {
    memoryMaxBytes: 64 * 1024 * 1024,
    cache: new ModuleCache({ directory: undefined, logger }),
    logger,
  };
  let held: { reached: () => void; released: Promise<void> } | undefined;
  const loadModule = async (source: {
    path: string;
    bytes?: Uint8Array;
    moduleId: string;
  }): Promise<GuestModule> => {
    const module =
      source.bytes === undefined
        ? await loadGuestModuleFile(source.path, options)
        : await loadGuestModuleBytes(source.bytes, source.path, options);
    if (held !== undefined) {
      held.reached();
      await held.released;
    }
    return { ...module, moduleId: source.moduleId };
  };
  const node = await startNumaxNode({
    config,
    logger,
    needsStore: true,
    version: "0.0.0",
    runsUntilStopped: true,
    modules: {
      modules: [await loadGuestModuleFile(appPath, options)],
      moduleSettings: new Map(),
      shutdownTimeoutMs: 5000,
      loadModule,
    },
    serve: {
      listeners: [
        {
          where: "--serve",
          listen: { host: "127.0.0.1", port: 0 },
          limits: SERVE_LIMITS_DEFAULT,
          routes: undefined,
        },
      ],
      cpuMsPerRequest: 1000,
      shutdownTimeoutMs: 5000,
      profile: "trusted",
    },
  });
  const stored = (key: string): boolean => node.guestStore!.exists(utf8.encode(key));
  await until(() => stored("init-v1"));
  /** The next load waits, once it has read the code, until `release` is called. */
  const hold = () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const reached = new Promise<void>((resolve) => {
      held = { reached: resolve, released };
    });
    return { reached, release };
  };
  return { node, stored, hold };
}

/** What `nx run` does at SIGINT/SIGTERM (src/node/run-modules.ts), up to the modules' end. */
async function beginShutdown(node: NumaxNode): Promise<void> {
  await node.beginStop();
  await node.serve?.stopServing();
  node.modules!.interrupt("SIGTERM");
  await node.modules!.ended;
}

for (const change of ["add", "reload"] as const) {
  test(`a module ${change} under way at the signal is refused with one line and its code never runs`, async () => {
    const dir = mkdtempSync(join(tmpdir(), `nx-${change}-at-shutdown-`));
    const records: LogRecord[] = [];
    const { node, stored, hold } = await nodeWithHeldLoader(dir, records);
    try {
      const host = node.modules!;
      const loader = hold();
      const bytes = await versionedGuest({ version: "v2", prefix: change === "add" ? "/late" : "" });
      const pending = change === "add" ? host.add({ id: "late", bytes }) : host.reload("app", bytes);
      await loader.reached;
      // The signal comes while the new code loads; the loader finishes only once shutdown began.
      const stopped = beginShutdown(node);
      loader.release();
      await assert.rejects(pending, { code: "MODULE_HOST_STOPPED" });
      await stopped;
      const module = change === "add" ? "late" : "app";
      assert.deepEqual(
        records.filter((record) => record.level === "warn").map((record) => record.message),
        [`${change} of module ${module} refused: the node is shutting down: its modules cannot change`],
      );
      assert.ok(!stored("init-v2"), "the new code's init never ran");
      assert.ok(stored("shutdown-v1"), "the old code ended with the node");
      assert.deepEqual(
        node.modules!.loaded().map((loaded) => [loaded.id, loaded.reloads]),
        [["app", 0]],
      );
    } finally {
      await node.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error("timed out waiting for a condition");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
