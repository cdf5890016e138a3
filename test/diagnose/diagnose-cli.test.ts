import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { NodeId } from "../../src/identity/node-id.ts";
import { restoreSnapshot } from "../../src/snapshot/restore-snapshot.ts";
import { openLmdbBackend } from "../../src/store/lmdb-backend.ts";
import { openReplicatedState } from "../../src/sync/replica/replicated-state.ts";
import { NX_BIN, REPO_ROOT, tempDir } from "../helpers/nx-process.ts";

const GOLDEN = join(REPO_ROOT, "test/fixtures/snapshot/v1.nxsnap");
const root = tempDir("nx-diagnose-cli-");
after(() => root.remove());

function nx(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [NX_BIN, ...args],
      { cwd: REPO_ROOT, timeout: 30_000 },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? -1), stdout, stderr });
      },
    );
  });
}

function oneErrorLine(stderr: string): void {
  assert.equal(stderr.trimEnd().split("\n").length, 1, stderr);
}

describe("nx inspect and nx diff: output and exact exit codes", { timeout: 60_000 }, () => {
  test("inspect: 0 found, 1 no CRDT under the key, 2 bad input", async () => {
    const a = join(root.path, "inspect");
    await restoreSnapshot(GOLDEN, { datastorePath: a, sameIdentity: true });
    const found = await nx(["inspect", "hits", "--datastore-path", a]);
    assert.equal(found.code, 0, found.stderr);
    assert.match(found.stdout, /^hits \(gcounter\) = "5"\n {2}1 cell, 0 tombstones\n/);
    const json = await nx(["inspect", "greeting", "--datastore-path", a, "--json"]);
    assert.equal((JSON.parse(json.stdout) as { value: string }[])[0]!.value, "hello");
    const missing = await nx(["inspect", "nope", "--datastore-path", a]);
    assert.equal(missing.code, 1);
    oneErrorLine(missing.stderr);
    for (const args of [
      ["inspect", "hits", "--datastore-path", join(root.path, "nowhere")],
      ["inspect", "hits", "--datastore-path", a, "--family", "counter"],
      ["inspect", "hits"],
    ]) {
      const bad = await nx(args);
      assert.equal(bad.code, 2, args.join(" "));
      oneErrorLine(bad.stderr);
    }
  });

  test("diff: 0 the same, 1 differs listing the keys and how, 2 bad input", async () => {
    const a = join(root.path, "diff-a");
    const b = join(root.path, "diff-b");
    await restoreSnapshot(GOLDEN, { datastorePath: a, sameIdentity: true });
    await restoreSnapshot(GOLDEN, { datastorePath: b, sameIdentity: true });
    const same = await nx(["diff", a, b]);
    assert.equal(same.code, 0, same.stderr);
    assert.match(same.stdout, /the replicated state is the same\n$/);

    const backend = await openLmdbBackend({ path: b });
    const replica = openReplicatedState({ backend, nodeId: "0123456789abcdef0123456789abcdef" as NodeId });
    replica.gcounterInc("hits", 2n);
    replica.lwwSet("only-b", new TextEncoder().encode("x"));
    await replica.close();
    await backend.close();
    const differs = await nx(["diff", a, b]);
    assert.equal(differs.code, 1, differs.stderr);
    assert.match(differs.stdout, /^hits \(gcounter\): A has "5", B has "7"$/m);
    assert.match(differs.stdout, /^only-b \(lww-register\): only in B: "x"$/m);
    assert.match(differs.stdout, /^2 keys differ$/m);
    const json = JSON.parse((await nx(["diff", a, b, "--json"])).stdout) as {
      differences: { key: string }[];
    };
    assert.deepEqual(
      json.differences.map((d) => d.key),
      ["hits", "only-b"],
    );

    for (const args of [
      ["diff", a, join(root.path, "nowhere")],
      ["diff", a],
    ]) {
      const bad = await nx(args);
      assert.equal(bad.code, 2, args.join(" "));
      oneErrorLine(bad.stderr);
    }
  });
});
