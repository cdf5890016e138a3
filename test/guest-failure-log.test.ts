/**
 * A guest that fails is logged once, at `warn`, with `module`, `function` and `kind`
 * (docs/observability.md), whether the node runs once, settles or serves; a guest stopped by a
 * signal says so and names the function it was running. Real `nx run` child processes.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { EXIT_RUN_FAILED } from "../src/cli/exit-codes.ts";
import { type NxResult, runNx } from "./fixtures/wasm/nx-process.ts";
import { writeFixture } from "./fixtures/wasm/wat-fixtures.ts";

let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "nx-guest-failure-log-"));
  await writeFixture(dir, "trap-unreachable");
  await writeFixture(dir, "print-then-spin");
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface JsonRecord {
  readonly level: string;
  readonly component?: string;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** The JSON log records on stderr and its other lines. */
function splitStderr(result: NxResult): { records: JsonRecord[]; lines: string[] } {
  const records: JsonRecord[] = [];
  const lines: string[] = [];
  for (const line of result.stderr.split("\n")) {
    if (line.startsWith("{")) records.push(JSON.parse(line) as JsonRecord);
    else if (line !== "") lines.push(line);
  }
  return { records, lines };
}

const SYNC = ["--listen", "127.0.0.1:0", "--tls-insecure"];

describe("a trapping guest", () => {
  for (const [mode, extra] of [
    ["without sync", []],
    ["with sync and --settle-for", [...SYNC, "--settle-for", "0s"]],
  ] as const) {
    test(`${mode}: one warn record, then the nx: error line`, async () => {
      const result = await runNx(
        [
          "run",
          "trap-unreachable.wasm",
          "--datastore-path",
          `data-${extra.length}`,
          "--log-format",
          "json",
          ...extra,
        ],
        { cwd: dir },
      );
      assert.equal(result.code, EXIT_RUN_FAILED);
      const { records, lines } = splitStderr(result);
      const failures = records.filter((record) => record.component === "wasm");
      assert.deepEqual(
        failures.map(({ level, msg, module, function: fn, kind }) => ({ level, msg, module, fn, kind })),
        [
          {
            level: "warn",
            msg: "guest failed",
            module: "trap-unreachable",
            fn: "give_up",
            kind: "unreachable",
          },
        ],
      );
      assert.deepEqual(lines, [
        "nx: error: trap-unreachable.wasm: guest trapped: unreachable executed in function give_up",
      ]);
    });
  }
});

test("SIGTERM while a serving node's guest spins: one line naming the signal, module and function", async () => {
  let signalled = false;
  const result = await runNx(["run", "print-then-spin.wasm", "--datastore-path", "data-serve", ...SYNC], {
    cwd: dir,
    onStdout: (text, pid) => {
      if (signalled || !text.includes("spinning")) return;
      signalled = true;
      // Let the guest get back into its loop before the signal.
      setTimeout(() => process.kill(pid, "SIGTERM"), 200);
    },
  });
  assert.ok(signalled, `the guest never printed; stderr: ${result.stderr}`);
  assert.equal(result.code, EXIT_RUN_FAILED);
  const warn = result.stderr.split("\n").filter((line) => / WARN {2}wasm: /.test(line));
  assert.equal(warn.length, 1, result.stderr);
  assert.match(
    warn[0]!,
    / WARN {2}wasm: stopped by SIGTERM while running print-then-spin\.run module=print-then-spin function=run kind=killed$/,
  );
  assert.doesNotMatch(result.stderr, /undefined/);
});
