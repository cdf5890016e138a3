/**
 * docs/guides/collaborative-todo.md as a reader runs it: every ```sh block, in order, in one bash
 * (the nodes in its background), with the guide's ports and /tmp paths swapped for free ports and
 * a temporary directory. A command followed by `# ` lines must print exactly those lines (`<id>`
 * stands for a todo id, `<node>` for a NodeId). Every ```ts block must be in the example's source,
 * verbatim.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { guideBlocks, runGuide } from "../helpers/guide-runner.ts";
import { REPO_ROOT } from "../helpers/nx-process.ts";

const GUIDE = "docs/guides/collaborative-todo.md";
const SOURCES = "examples/collaborative_todo/assembly";
/** The whole guide, nodes started and stopped included, on a busy 2-core machine. */
const GUIDE_TIMEOUT_MS = 120_000;

const guide = readFileSync(join(REPO_ROOT, GUIDE), "utf8");

test("every ts excerpt of the guide is in the example's source", () => {
  const sources = readdirSync(join(REPO_ROOT, SOURCES))
    .map((name) => readFileSync(join(REPO_ROOT, SOURCES, name), "utf8"))
    .join("\n");
  const excerpts = guideBlocks(guide, "ts");
  assert.ok(excerpts.length >= 5);
  for (const excerpt of excerpts) assert.ok(sources.includes(excerpt), `not in ${SOURCES}:\n${excerpt}`);
});

test(
  "every command of the guide runs and prints what the guide shows",
  { timeout: GUIDE_TIMEOUT_MS + 30_000 },
  () =>
    runGuide({
      guide: GUIDE,
      tmpPrefix: "/tmp/nx-todo-guide",
      placeholders: { "<id>": "[0-9a-f]{20}", "<node>": "[0-9a-f]{32}" },
      timeoutMs: GUIDE_TIMEOUT_MS,
      checkedAtLeast: 10,
    }),
);
