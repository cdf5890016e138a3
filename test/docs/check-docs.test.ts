import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import {
  checkCommands,
  checkDocs,
  checkLimits,
  checkLinks,
  checkMetrics,
  checkMetricsDocumented,
  checkNames,
  checkNpmScripts,
  checkTestFiles,
  checkValueTables,
  type Doc,
  type Finding,
  formatFinding,
  loadFacts,
  parseQuantities,
  REPOSITORY_ROOT,
} from "../../scripts/check-docs.ts";
import { findConfigKey } from "../../src/config/schema.ts";
import { MAILBOX_CAPACITY_DEFAULT } from "../../src/kernel/kernel-options.ts";
import { MESSAGE_DEPTH_MAX } from "../../src/kernel/message-copy.ts";
import { DEFAULT_SYNC_ENGINE_OPTIONS } from "../../src/sync/sync-engine.ts";
import { OWN_HISTORY_WAIT_MS } from "../../src/sync/sync-service.ts";

/**
 * scripts/check-docs.ts in CI: the repository's docs name only error codes, constants, metrics,
 * `nx` commands and flags, limit values and links that exist. Each check is also shown catching a
 * false claim, so that a check that quietly stops matching anything fails here.
 */
const facts = await loadFacts(REPOSITORY_ROOT);
const doc = (...lines: string[]): Doc => ({ path: "docs/probe.md", lines });
const claims = (findings: readonly Finding[]): string[] => findings.map((f) => `${f.line} ${f.claim}`);

describe("check-docs", () => {
  test("every claim the docs make that it can check holds", async () => {
    const findings = await checkDocs(REPOSITORY_ROOT);
    assert.deepEqual(
      findings.map(formatFinding),
      [],
      "false claims in the docs (run: npx node scripts/check-docs.ts)",
    );
  });

  test("runs as a script: exit 0 and one summary line on this repository", () => {
    const script = fileURLToPath(new URL("../../scripts/check-docs.ts", import.meta.url));
    const result = spawnSync(process.execPath, [script], { encoding: "utf8", timeout: 60_000 });
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^check-docs: every claim checked holds\n$/);
  });

  test("names an error code that does not exist, and a constant named nowhere", () => {
    // Built here, so that this file (which the check reads as a source) does not name it.
    const nowhere = ["NAMED", "NOWHERE", "AT", "ALL"].join("_");
    const findings = checkNames(
      doc(
        "fails with `KERNEL_NO_SUCH_THING`, or STORE_BOGUS in prose",
        `\`KERNEL_MESSAGE_TOO_DEEP\` and \`${nowhere}\` and \`KERNEL_*\``,
      ),
      facts,
    );
    assert.deepEqual(claims(findings), ["1 KERNEL_NO_SUCH_THING", "1 STORE_BOGUS", `2 ${nowhere}`]);
    assert.equal(
      formatFinding(findings[0]),
      "docs/probe.md:1: KERNEL_NO_SUCH_THING: no such error code in src/",
    );
  });

  test("names a metric metrics.ts does not declare; histogram series count as declared", () => {
    const findings = checkMetrics(
      doc("`numax_ops_applied_total`, numax_propagation_latency_seconds_bucket and numax_imaginary_total"),
      facts,
    );
    assert.deepEqual(claims(findings), ["1 numax_imaginary_total"]);
    const undocumented = checkMetricsDocumented(doc("only numax_ops_applied_total here"), facts);
    assert.ok(claims(undocumented).includes("1 numax_peers_connected"));
  });

  test("names an nx subcommand or flag that does not exist, in code blocks and inline code", () => {
    const findings = checkCommands(
      doc(
        "Run `nx run --listen 127.0.0.1:0 app.wasm` or `nx config init/validate/show` or `nx run -vv a.wasm`.",
        "Not a command: `nx` host functions, `nx: error: ...`.",
        "`nx frobnicate` and `nx config init --outptu x`",
        "```sh",
        "nx run app.wasm \\",
        "  --peer 10.0.0.1:9000 --no-such-flag",
        "```",
        "```ts",
        "nx run --ignored-in-typescript",
        "```",
      ),
      facts,
    );
    assert.deepEqual(
      findings.map((f) => `${f.line} ${f.problem.replace(/ \(it has: .*\)$/, "")}`),
      [
        '3 "nx" has no subcommand "frobnicate"',
        '3 "nx config init" has no flag --outptu',
        '5 "nx run" has no flag --no-such-flag',
      ],
    );
  });

  test("shows a limit that differs from its constant, option default or config default", () => {
    // Built from the code's values, so that a changed default does not break this test.
    const maxPeers = findConfigKey("limits.max_peers")?.default as number;
    const socketTimeoutMs = findConfigKey("limits.socket_timeout_secs")?.default as number;
    const batchOpsMax = DEFAULT_SYNC_ENGINE_OPTIONS.batchOpsMax;
    const findings = checkLimits(
      doc(
        "| bound | default | set by | at the bound |",
        "| --- | --- | --- | --- |",
        `| mailbox | ${MAILBOX_CAPACITY_DEFAULT} | \`MAILBOX_CAPACITY_DEFAULT\` | shed (\`droppedMessages\`) |`,
        `| mailbox | ${MAILBOX_CAPACITY_DEFAULT + 1} | \`MAILBOX_CAPACITY_DEFAULT\` | shed |`,
        `| wait | ${OWN_HISTORY_WAIT_MS / 1000} s | \`OWN_HISTORY_WAIT_MS\` | warn |`,
        `| wait | ${OWN_HISTORY_WAIT_MS / 1000} min | \`OWN_HISTORY_WAIT_MS\` | warn |`,
        `| peers | ${maxPeers + 1} | \`limits.max_peers\` | refused |`,
        `| timeout | ${socketTimeoutMs / 1000} s | \`limits.socket_timeout_secs\` | dropped |`,
        `| batch | ${batchOpsMax} | \`batchOpsMax\` | split |`,
        `| batch | ${batchOpsMax * 2} | \`batchOpsMax\` | split |`,
        `| depth | ${MESSAGE_DEPTH_MAX} | \`MESSAGE_DEPTH_MAX\` | a \`KERNEL_*\` error |`,
      ),
      facts,
    );
    assert.deepEqual(
      findings.map((finding) => finding.line),
      [4, 6, 7, 10, 11],
    );
    assert.match(
      formatFinding(findings[0]),
      new RegExp(
        `MAILBOX_CAPACITY_DEFAULT is ${MAILBOX_CAPACITY_DEFAULT} in src/kernel/kernel-options\\.ts$`,
      ),
    );
    assert.match(formatFinding(findings[4]), /KERNEL_\*: name the exact error code$/);
  });

  test("shows an npm script package.json does not have", () => {
    const findings = checkNpmScripts(
      doc("`npm run demo`, `npm run -s build:cli` and `npm run demo:all`"),
      facts,
    );
    assert.deepEqual(claims(findings), ["1 npm run demo:all"]);
  });

  test("pairs a number with a constant of another value in a table of codes", () => {
    const findings = checkValueTables(
      doc("| code | name |", "| --- | --- |", "| `-3` | `ERR_INTERNAL` |", "| `-4` | `ERR_INTERNAL` |"),
      facts,
    );
    assert.deepEqual(claims(findings), ["4 `-4` `ERR_INTERNAL`"]);
  });

  test("cites a test file that does not exist", () => {
    const findings = checkTestFiles(
      doc(
        "`test/docs/check-docs.test.ts`, `message-copy.test.ts`, `<name>.test.ts`, `test/sync-*.test.ts`",
        "`test/no-such.test.ts` and `no-such-either.test.ts`",
      ),
      facts,
    );
    assert.deepEqual(claims(findings), ["2 test/no-such.test.ts", "2 no-such-either.test.ts"]);
  });

  test("reads numbers with their units", () => {
    assert.deepEqual(parseQuantities("100 000 writes or 64 MiB"), [
      { value: 100_000, dimension: "count" },
      { value: 64 * 1024 * 1024, dimension: "bytes" },
    ]);
    assert.deepEqual(parseQuantities("1 restart in 5 s"), [
      { value: 1, dimension: "count" },
      { value: 5000, dimension: "ms" },
    ]);
  });

  test("links to a file or a heading that does not exist", () => {
    const findings = checkLinks(
      doc(
        "[ok](LIMITS.md#actors) [ok](../README.md) [web](https://example.com/x) [self](#nothing-here)",
        "[gone](no-such-file.md) [bad anchor](LIMITS.md#no-such-heading)",
        "```md",
        "[inside a code block](nowhere.md)",
        "```",
      ),
      facts,
    );
    assert.deepEqual(
      findings.map((f) => `${f.line} ${f.problem}`),
      [
        "1 docs/probe.md does not exist",
        "2 docs/no-such-file.md does not exist",
        "2 docs/LIMITS.md has no heading #no-such-heading",
      ],
    );
  });
});
