import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { resolveConfig } from "../config/resolve.ts";
import { hlcFromPhysicalMs } from "../crdt/hybrid-clock.ts";
import { NODE_B, opFrom, text } from "../crdt/testing/test-ops.ts";
import type { LogFields, Logger } from "../observe/logger.ts";
import { silentLogger } from "../observe/logger.ts";
import type { ReplicatedState } from "../sync/replica/replicated-state.ts";
import { createDeterminism, DETERMINISTIC_EPOCH_MS } from "./determinism.ts";
import { startNumaxNode } from "./numax-node.ts";

/** A logger that keeps the `node` component's lifecycle lines: `started <name>` / `stopped <name>`. */
function lifecycleRecorder(lines: string[], component = ""): Logger {
  const record = (message: string, fields?: LogFields) => {
    if (component === "node") lines.push(`${message.replace("component ", "")} ${String(fields?.component)}`);
  };
  const noop = () => {};
  return {
    trace: noop,
    debug: record,
    info: noop,
    warn: noop,
    error: noop,
    isLevelEnabled: () => true,
    child: (name) => lifecycleRecorder(lines, component === "" ? name : `${component}.${name}`),
  };
}

async function readiness(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${url}/ready?verbose=1`, { signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: await response.json() };
}

describe("startNumaxNode", () => {
  test("starts its parts after their dependencies and stops them in reverse, the endpoint last", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "numax-node-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const { config } = await resolveConfig({
      flags: {
        "storage.datastore_path": join(dir, "data"),
        "network.listen": "127.0.0.1:0",
        "tls.insecure": true,
        "observability.listen": "127.0.0.1:0",
        "management.listen": "127.0.0.1:0",
        "dashboard.listen": "127.0.0.1:0",
      },
      env: {},
      configPath: undefined,
    });
    const lines: string[] = [];
    const node = await startNumaxNode({
      config,
      logger: lifecycleRecorder(lines),
      needsStore: false,
      version: () => "0.0.0",
      management: { listenIsDefault: false },
      dashboard: { listenIsDefault: false },
    });
    t.after(() => node.close());
    const started = [
      "tls",
      "store",
      "metrics",
      "replica",
      "sync",
      "output-gate",
      "events",
      "management",
      "dashboard",
      "observability",
    ];
    assert.deepEqual(
      lines,
      started.map((name) => `started ${name}`),
    );
    const ready = await readiness(node.observability!.url);
    assert.equal(ready.status, 200);
    assert.deepEqual((ready.body as { checks: unknown }).checks, {
      running: true,
      storeOpen: true,
      storeWritable: true,
      hydrated: true,
      syncListening: true,
    });
    await node.close();
    assert.deepEqual(
      lines.slice(started.length),
      [...started].reverse().map((name) => `stopped ${name}`),
    );
    // The endpoint closes after every part stopped (afterStop); the management API and the
    // dashboard stopped first.
    await assert.rejects(readiness(node.observability!.url));
    await assert.rejects(fetch(`${node.management!.server!.url}/api/v1/health`));
    await assert.rejects(fetch(`${node.dashboard!.server!.url}/login`));
    await node.close(); // closing again does nothing
    assert.equal(lines.length, 2 * started.length);
  });

  test("a node without sync or store reports not ready once its shutdown begins", async (t) => {
    const { config } = await resolveConfig({
      flags: { "observability.listen": "127.0.0.1:0" },
      env: {},
      configPath: undefined,
    });
    const node = await startNumaxNode({
      config,
      logger: silentLogger,
      needsStore: false,
      version: () => "0.0.0",
    });
    t.after(() => node.close());
    assert.deepEqual(await readiness(node.observability!.url), {
      status: 200,
      body: { status: "ready", checks: { running: true } },
    });
    await node.beginStop();
    assert.equal((await readiness(node.observability!.url)).status, 503);
  });

  test("a node without sync, store or endpoint has only its output gate and event bus", async () => {
    const { config } = await resolveConfig({ flags: {}, env: {}, configPath: undefined });
    const lines: string[] = [];
    const node = await startNumaxNode({
      config,
      logger: lifecycleRecorder(lines),
      needsStore: false,
      version: () => "0.0.0",
    });
    assert.equal(node.guestStore, undefined);
    assert.equal(node.crdt, undefined);
    assert.ok(node.outputGate);
    await node.close();
    assert.deepEqual(lines, [
      "started output-gate",
      "started events",
      "stopped events",
      "stopped output-gate",
    ]);
  });

  test("with --deterministic, compaction measures the tombstone horizon on the node's clock, not the virtual HLC", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "numax-node-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const { config } = await resolveConfig({
      flags: {
        "storage.datastore_path": join(dir, "data"),
        "network.listen": "127.0.0.1:0",
        "tls.insecure": true,
      },
      env: {},
      configPath: undefined,
    });
    const node = await startNumaxNode({
      config,
      logger: silentLogger,
      needsStore: false,
      version: () => "0.0.0",
      determinism: createDeterminism(0n),
    });
    t.after(() => node.close());
    const replica = node.crdt as ReplicatedState;
    // A writer's add arrives (stamped at virtual time, as a replayed op would be), then is removed here.
    replica.applyRemote([
      opFrom(NODE_B, 1, hlcFromPhysicalMs(DETERMINISTIC_EPOCH_MS), { type: "orset_add", element: text("w") }),
    ]);
    replica.orsetRemove("k", text("w"));
    replica.flush();
    assert.deepEqual(replica.orsetElements("k"), []);
    // B was heard just now: it may still send writes concurrent with the remove.
    assert.equal(node.sync!.compact(), 0);
    assert.equal(node.sync!.compact(), 0);
    assert.equal(replica.stats().tombstonesCollected, 0);
  });
});
