import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { runNx } from "./fixtures/wasm/nx-process.ts";
import { examplePath, REPO_ROOT, tempDir } from "./helpers/nx-process.ts";

const root = tempDir("nx-cli-sync-");
after(() => root.remove());

let counter = 0;
/** `nx run` as a user runs it, from the repository root. */
const nx = (args: readonly string[], env: Record<string, string> = {}) =>
  runNx(["run", ...args], { cwd: REPO_ROOT, env, timeoutMs: 30_000 });

function single(example: string, extra: readonly string[]): string[] {
  return [
    examplePath(example),
    "--datastore-path",
    join(root.path, `node-${counter++}`),
    "--listen",
    "127.0.0.1:0",
    "--tls-insecure",
    "--log-level",
    "error",
    "--settle-for",
    "0s",
    ...extra,
  ];
}

describe("nx run: sync flags", { timeout: 120_000 }, () => {
  test("a --print-* flag without --listen is refused before anything runs", async () => {
    const result = await nx([
      examplePath("hello"),
      "--datastore-path",
      join(root.path, "x"),
      "--print-gcounter",
      "k",
    ]);
    assert.equal(result.code, 2);
    assert.equal(
      result.stderr,
      "nx: error: --print-gcounter needs sync: add --listen <host:port> (CRDTs exist only on a node with sync)\n",
    );
    assert.equal(result.stdout, "", "the guest never ran");
  });

  test("sync without TLS material or --tls-insecure is refused with the fix", async () => {
    const result = await nx([
      examplePath("hello"),
      "--datastore-path",
      join(root.path, "y"),
      "--listen",
      "127.0.0.1:0",
    ]);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /^nx: error: sync on 127\.0\.0\.1:0 needs --tls-cert, --tls-key and --tls-ca .*--tls-insecure/,
    );
    assert.equal(result.stderr.trim().split("\n").length, 1);
  });

  test("each family prints in its documented form", async () => {
    const cases: [string, string[], Record<string, string>, RegExp][] = [
      ["distributed_counter", ["--print-gcounter", "visits"], { NX_VISITS: "12" }, /^visits = 12\n$/],
      [
        "distributed_inventory",
        ["--print-pncounter", "inventory/widgets"],
        { NX_STOCK_DELTA: "-3" },
        /^inventory\/widgets = -3\n$/,
      ],
      [
        "distributed_status",
        ["--print-lww-register", "service/status", "--print-lww-register", "never/set"],
        { NX_STATUS: "up" },
        /^service\/status = up \(set by [0-9a-f]{32}\)\nnever\/set = <unset>\n$/,
      ],
      [
        "distributed_settings",
        ["--print-lww-map", "settings"],
        { NX_SETTING: "theme=dark" },
        /^settings = \{theme=dark\}\n$/,
      ],
      ["distributed_tags", ["--print-orset", "tags"], { NX_TAGS: "red,blue" }, /^tags = \[blue, red\]\n$/],
      [
        "distributed_comments",
        ["--print-rga", "comments"],
        { NX_COMMENT: "first!" },
        /^comments = \[first!\]\n$/,
      ],
    ];
    for (const [example, prints, env, expected] of cases) {
      const result = await nx(single(example, prints), env);
      assert.equal(result.code, 0, `${example}: ${result.stderr}`);
      assert.match(result.stdout, expected, example);
    }
  });

  test("--json prints the values as one JSON object", async () => {
    const result = await nx(single("distributed_tags", ["--print-orset", "tags", "--json"]), {
      NX_TAGS: "x,y",
    });
    assert.equal(result.code, 0, result.stderr);
    const body = JSON.parse(result.stdout) as { nodeId: string; values: unknown[] };
    assert.match(body.nodeId, /^[0-9a-f]{32}$/);
    assert.deepEqual(body.values, [{ key: "tags", family: "orset", elements: ["x", "y"] }]);
  });

  test("--settle-for takes a duration and says so when it cannot read one", async () => {
    const result = await nx(single("hello", []).map((a) => (a === "0s" ? "soon" : a)));
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^nx: error: --settle-for: /);
  });
});
