import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { BuildOutcome } from "./build-guest-project.ts";
import { DevRebuilds } from "./dev-rebuilds.ts";

/** A DevRebuilds whose builds end when the test says, and a node that counts its reloads. */
function harness() {
  const lines: string[] = [];
  const pending: ((outcome: BuildOutcome) => void)[] = [];
  const rebuilds = new DevRebuilds({
    label: "app.wasm",
    build: () => new Promise<BuildOutcome>((resolve) => pending.push(resolve)),
    say: (line) => lines.push(line),
    describeError: (error) => String(error),
  });
  const node = {
    reloads: 0,
    reload: async () => {
      node.reloads++;
      return { reloadMs: 3 };
    },
  };
  const endBuild = (outcome: BuildOutcome) => pending.shift()!(outcome);
  return { rebuilds, node, lines, endBuild };
}

const built = { ok: true, buildMs: 10 } as const;

describe("nx dev's rebuilds", () => {
  test("a build that began before the node started and ended after it is reloaded", async () => {
    const { rebuilds, node, lines, endBuild } = harness();
    rebuilds.launched();
    const rebuilding = rebuilds.rebuild();
    rebuilds.started(node);
    endBuild(built);
    assert.equal(await rebuilding, true);
    assert.equal(node.reloads, 1);
    assert.deepEqual(lines, ["built app.wasm in 10 ms, reloaded in 3 ms"]);
  });

  test("a build that ended while the node started is reloaded once the node runs", async () => {
    const { rebuilds, node, lines, endBuild } = harness();
    rebuilds.launched();
    const rebuilding = rebuilds.rebuild();
    endBuild(built);
    await rebuilding;
    assert.equal(node.reloads, 0);
    rebuilds.started(node);
    await Promise.resolve();
    assert.equal(node.reloads, 1);
    assert.deepEqual(lines, ["built app.wasm in 10 ms, reloaded in 3 ms"]);
  });

  test("before the launch a build only says it built; a failure while running keeps the code", async () => {
    const { rebuilds, node, lines, endBuild } = harness();
    const first = rebuilds.rebuild();
    endBuild(built);
    await first;
    rebuilds.launched();
    rebuilds.started(node);
    const second = rebuilds.rebuild();
    endBuild({ ok: false, output: "main.c:1:1: error" });
    assert.equal(await second, false);
    assert.equal(node.reloads, 0, "nothing built while starting: nothing to reload");
    assert.deepEqual(lines, [
      "built app.wasm in 10 ms",
      "build failed (the node goes on with the code it runs):\n  main.c:1:1: error",
    ]);
  });

  test("a change during a build makes one more build after it", async () => {
    const { rebuilds, node, endBuild } = harness();
    rebuilds.launched();
    rebuilds.started(node);
    const rebuilding = rebuilds.rebuild();
    assert.equal(await rebuilds.rebuild(), false, "the second call only asks for another build");
    endBuild(built);
    await new Promise((resolve) => setImmediate(resolve));
    endBuild(built);
    assert.equal(await rebuilding, true);
    assert.equal(node.reloads, 2);
  });
});
