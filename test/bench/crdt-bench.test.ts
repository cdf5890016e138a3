/**
 * The crdt benchmark's inputs: the editing trace is found from a worktree as well as from the
 * main checkout, and the Yjs sequential reference does the same work as our RGA (each insert
 * finds its parent by id), so it grows linearly like ours.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { findEditingTrace, rgaSequential } from "../../bench/crdt.ts";
import { tempDir } from "../helpers/nx-process.ts";

test("the editing trace is found in shared/data of any directory above the repository", (t) => {
  const dir = tempDir("nx-crdt-bench-");
  t.after(dir.remove);
  const root = dir.path;
  const trace = join(root, "shared", "data", "editing-traces", "seph-blog1.json.gz");
  mkdirSync(join(root, "shared", "data", "editing-traces"), { recursive: true });
  writeFileSync(trace, "");
  const mainCheckout = join(root, "main");
  const worktree = join(root, "wt", "perf");
  mkdirSync(mainCheckout);
  mkdirSync(worktree, { recursive: true });
  assert.equal(findEditingTrace(mainCheckout, {}), trace);
  assert.equal(findEditingTrace(worktree, {}), trace);
  assert.equal(findEditingTrace(worktree, { NX_EDITING_TRACE: "/elsewhere.json.gz" }), "/elsewhere.json.gz");
});

test("the Yjs sequential-insert reference applies every insert and stays linear", () => {
  const small = rgaSequential(2_000);
  const large = rgaSequential(20_000);
  assert.equal(large.inserts, 20_000);
  // Ten times the inserts; Y.Array insert(i) took about 50x longer here (quadratic), this reference about 10x.
  assert.ok(large.yjs_ms < 30 * Math.max(small.yjs_ms, 1), `yjs ${small.yjs_ms} ms then ${large.yjs_ms} ms`);
});
