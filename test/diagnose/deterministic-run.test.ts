import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { guestPath, NX_BIN, REPO_ROOT, tempDir } from "../helpers/nx-process.ts";

const DICE = guestPath("dice_roller");
const root = tempDir("nx-deterministic-");
after(() => root.remove());

function nx(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [NX_BIN, ...args],
      { cwd: REPO_ROOT, timeout: 60_000, env: { ...process.env, NX_POLICY_DEFAULT: "trusted" } },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? -1), stdout, stderr });
      },
    );
  });
}

/** One run of the dice guest on a new datastore: what it printed. */
async function roll(name: string, flags: readonly string[]): Promise<string> {
  const result = await nx([
    "run",
    DICE,
    "--datastore-path",
    join(root.path, name),
    "--listen",
    "127.0.0.1:0",
    "--tls-insecure",
    "--management-listen",
    "off",
    "--dashboard-listen",
    "off",
    "--settle-for",
    "0s",
    ...flags,
  ]);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

describe("--deterministic: seeded randomness and virtual time (real processes)", { timeout: 120_000 }, () => {
  test("one seed: the same guest output and the same replicated state, bit for bit; a replay of the op-log too", async () => {
    const first = await roll("seed-7-a", ["--deterministic", "--seed", "7"]);
    const second = await roll("seed-7-b", ["--deterministic", "--seed", "7"]);
    assert.match(first, /^roll 0: [1-6] at \d+\nroll 1: [1-6] at \d+\nroll 2: [1-6] at \d+\n$/);
    assert.equal(second, first);
    const same = await nx(["diff", join(root.path, "seed-7-a"), join(root.path, "seed-7-b")]);
    assert.equal(same.code, 0, same.stdout + same.stderr);

    const other = await roll("seed-8", ["--deterministic", "--seed", "8"]);
    assert.notEqual(other, first);
    assert.equal((await nx(["diff", join(root.path, "seed-7-a"), join(root.path, "seed-8")])).code, 1);
    // Without the mode, two runs differ (node ids, clocks): what the mode takes away.
    await roll("free-a", []);
    await roll("free-b", []);
    assert.equal((await nx(["diff", join(root.path, "free-a"), join(root.path, "free-b")])).code, 1);

    const oplog = join(root.path, "seed-7.oplog");
    const exported = await nx(["oplog", "export", oplog, "--datastore-path", join(root.path, "seed-7-a")]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, /^exported 7 ops of node [0-9a-f]{32} to /);
    const replayed = await nx(["replay", oplog, join(root.path, "replayed"), "--deterministic"]);
    assert.equal(replayed.code, 0, replayed.stderr);
    assert.match(replayed.stdout, /: 7 applied, 0 already seen\n$/);
    const diff = await nx(["diff", join(root.path, "seed-7-a"), join(root.path, "replayed")]);
    assert.equal(diff.code, 0, diff.stdout);
  });

  test("bad input: one line and exit 2", async () => {
    const cases: [string[], RegExp][] = [
      [["run", DICE, "--seed", "7"], /--seed needs --deterministic/],
      [["run", DICE, "--deterministic", "--seed", "x"], /--seed "x": expected an integer/],
      [
        [
          "run",
          DICE,
          "--listen",
          "127.0.0.1:0",
          "--tls-insecure",
          "--peer",
          "127.0.0.1:9",
          "--deterministic",
        ],
        /--deterministic runs a node alone/,
      ],
      [["replay", join(root.path, "none.oplog"), join(root.path, "r")], /cannot read it/],
      [["replay", DICE, join(root.path, "r")], /not an op-log export/],
    ];
    for (const [args, message] of cases) {
      const result = await nx(args);
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trimEnd().split("\n").length, 1, result.stderr);
    }
  });
});
