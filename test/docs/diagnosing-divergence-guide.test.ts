/**
 * docs/guides/diagnosing-divergence.md as a reader runs it (test/helpers/guide-runner.ts): a
 * divergence made on purpose, found with nx diff, nx inspect, nx oplog export and nx replay,
 * then fixed; every command's output checked.
 */
import { test } from "node:test";
import { runGuide } from "../helpers/guide-runner.ts";

/** Five node runs and a dozen commands, on a busy 2-core machine. */
const GUIDE_TIMEOUT_MS = 120_000;

test("the divergence guide runs and prints what it shows", { timeout: GUIDE_TIMEOUT_MS + 30_000 }, () =>
  runGuide({
    guide: "docs/guides/diagnosing-divergence.md",
    tmpPrefix: "/tmp/nx-divergence",
    placeholders: {
      "<node>": "[0-9a-f]{32}",
      "<time>": "\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z",
      "<size>": "[\\d.]+ (?:B|KiB|MiB|GiB)",
    },
    timeoutMs: GUIDE_TIMEOUT_MS,
    checkedAtLeast: 10,
  }),
);
