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
import type { NumaxNode } from "../../src/node/numax-node.ts";
import type { LogRecord } from "../abi/harness.ts";
import { startReloadNode } from "./reload-node.ts";
import { versionedGuest } from "./versioned-guest.ts";

const utf8 = new TextEncoder();

/** A serving node running `app` (v1) whose loader, once `hold` is called, waits until released. */
async function nodeWithHeldLoader(dir: string, records: LogRecord[]) {
  const appPath = join(dir, "app.wasm");
  writeFileSync(appPath, await versionedGuest({ version: "v1" }));
  let held: { reached: () => void; released: Promise<void> } | undefined;
  const node = await startReloadNode({
    dir,
    appPath,
    records,
    loaded: async () => {
      held?.reached();
      await held?.released;
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
