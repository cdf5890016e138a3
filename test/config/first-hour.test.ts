/**
 * The configuration as a newcomer meets it, in real `nx` child processes run in a scratch
 * working directory: `nx config init` writes ./numax.toml, `nx run` reads it (and says so),
 * `nx config validate --json` answers machines, and a mistyped NX_ variable is pointed out.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { EXIT_OK, EXIT_USAGE } from "../../src/cli/exit-codes.ts";
import { renderConfigTemplate } from "../../src/config/config-template.ts";
import { type NxResult, runNx } from "../fixtures/wasm/nx-process.ts";
import { writeFixture } from "../fixtures/wasm/wat-fixtures.ts";

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "nx-first-hour-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** `nx ...` in the scratch directory, without the NX_ variables of the test's own environment. */
function nx(args: readonly string[], env: Record<string, string> = {}): Promise<NxResult> {
  const unset = Object.fromEntries(
    Object.keys(process.env)
      .filter((name) => name.startsWith("NX_"))
      .map((name) => [name, ""]),
  );
  return runNx(args, { cwd: dir, env: { ...unset, ...env }, timeoutMs: 30_000 });
}

const TEMPLATE = renderConfigTemplate();
const INFO_LINE = /^\S+ INFO {2}configuration read from (.+) \(found in the working directory\)$/m;

describe("nx config init", () => {
  test("writes ./numax.toml, refuses to overwrite it without --force", async () => {
    const first = await nx(["config", "init"]);
    assert.equal(first.code, EXIT_OK, first.stderr);
    assert.equal(
      first.stdout,
      "wrote numax.toml: nx run and nx config read it when run in this directory without --config\n",
    );
    assert.equal(readFileSync(join(dir, "numax.toml"), "utf8"), TEMPLATE);

    writeFileSync(join(dir, "numax.toml"), "# mine\n");
    const again = await nx(["config", "init"]);
    assert.equal(again.code, EXIT_USAGE);
    assert.equal(
      again.stderr,
      "nx: error: numax.toml already exists; pass --force to overwrite it (or --stdout to print the template)\n",
    );
    assert.equal(readFileSync(join(dir, "numax.toml"), "utf8"), "# mine\n", "left alone");

    const forced = await nx(["config", "init", "--force"]);
    assert.equal(forced.code, EXIT_OK, forced.stderr);
    assert.equal(readFileSync(join(dir, "numax.toml"), "utf8"), TEMPLATE);
  });

  test("--stdout and -o - print the template and write nothing; -o FILE still writes FILE", async () => {
    for (const args of [["--stdout"], ["-o", "-"]]) {
      const run = await nx(["config", "init", ...args]);
      assert.equal(run.code, EXIT_OK, run.stderr);
      assert.equal(run.stdout, TEMPLATE, args.join(" "));
    }
    assert.equal(existsSync(join(dir, "numax.toml")), false);
    const named = await nx(["config", "init", "-o", "node1.toml"]);
    assert.equal(named.stdout, "wrote node1.toml\n");
    assert.equal(readFileSync(join(dir, "node1.toml"), "utf8"), TEMPLATE);
  });
});

describe("nx run and ./numax.toml", () => {
  test("reads ./numax.toml without --config and says so in one info line", async () => {
    await writeFixture(dir, "hello");
    writeFileSync(join(dir, "numax.toml"), '[storage]\ndatastore_path = "./from-file"\n');
    const run = await nx(["run", "hello.wasm"]);
    assert.equal(run.code, EXIT_OK, run.stderr);
    assert.equal(run.stderr.match(INFO_LINE)?.[1], join(dir, "numax.toml"));
    assert.ok(existsSync(join(dir, "from-file", "module-cache")), "the file's datastore_path was used");
    assert.ok(!existsSync(join(dir, "nx-data")), "not the default");
  });

  test("--config wins over ./numax.toml, silently; a bad ./numax.toml names itself", async () => {
    await writeFixture(dir, "hello");
    writeFileSync(join(dir, "numax.toml"), '[storage]\ndatastore_path = "./from-default"\n');
    writeFileSync(join(dir, "other.toml"), '[storage]\ndatastore_path = "./from-other"\n');
    const run = await nx(["run", "hello.wasm", "--config", "other.toml"]);
    assert.equal(run.code, EXIT_OK, run.stderr);
    assert.doesNotMatch(run.stderr, INFO_LINE);
    assert.ok(existsSync(join(dir, "from-other")));
    assert.ok(!existsSync(join(dir, "from-default")));

    writeFileSync(join(dir, "numax.toml"), "[limits]\nmax_peers = 0\n");
    const bad = await nx(["run", "hello.wasm"]);
    assert.equal(bad.code, EXIT_USAGE);
    assert.equal(
      bad.stderr,
      "nx: error: invalid configuration (1 problem):\n  limits.max_peers (numax.toml): must be between 1 and 1024, got 0\n",
    );
  });
});

describe("nx config validate --json", () => {
  test("one JSON object on stdout; exit 0 when valid, 2 when not", async () => {
    writeFileSync(join(dir, "numax.toml"), '[network]\nserialization_format = "bincode"\n');
    const valid = await nx(["config", "validate", "--json"]);
    assert.equal(valid.code, EXIT_OK, valid.stderr);
    assert.deepEqual(JSON.parse(valid.stdout), {
      ok: true,
      configPath: "numax.toml",
      issues: [],
      notes: [
        `network.serialization_format "bincode" (the Rust seed's binary format) is read as "msgpack", Numax's binary format (numax.toml)`,
      ],
    });

    writeFileSync(join(dir, "bad.toml"), "[limits]\nmax_peers = 0\n[netwrok]\n");
    const invalid = await nx(["config", "validate", "--config", "bad.toml", "--json"]);
    assert.equal(invalid.code, EXIT_USAGE);
    assert.equal(invalid.stderr, "");
    assert.deepEqual(JSON.parse(invalid.stdout), {
      ok: false,
      configPath: "bad.toml",
      issues: [
        {
          kind: "out-of-range",
          subject: "limits.max_peers",
          source: "file",
          via: "bad.toml",
          message: "must be between 1 and 1024, got 0",
        },
        {
          kind: "unknown-section",
          subject: "[netwrok]",
          source: "file",
          via: "bad.toml",
          message: "unknown section; did you mean [network]?",
        },
      ],
      notes: [],
    });

    const missing = await nx(["config", "validate", "--config", "nope.toml", "--json"]);
    assert.equal(missing.code, EXIT_USAGE);
    assert.equal(JSON.parse(missing.stdout).issues[0].kind, "unreadable");
  });

  test("without --config and without ./numax.toml: one usage line", async () => {
    const run = await nx(["config", "validate", "--json"]);
    assert.equal(run.code, EXIT_USAGE);
    assert.equal(
      run.stderr,
      "nx: error: no numax.toml in the working directory: pass --config FILE (nx config init writes one)\n",
    );
  });
});

describe("a mistyped NX_ variable", () => {
  test("nx run warns once, naming the variable it probably meant; guests' NX_ names pass quietly", async () => {
    await writeFixture(dir, "hello");
    const run = await nx(["run", "hello.wasm"], { NX_LISTN: "127.0.0.1:0", NX_NAME: "for the guest" });
    assert.equal(run.code, EXIT_OK, run.stderr);
    const warnings = run.stderr.split("\n").filter((line) => / WARN /.test(line));
    assert.deepEqual(
      warnings.map((line) => line.replace(/^\S+ WARN {2}/, "")),
      [
        "NX_LISTN is not a configuration variable; did you mean NX_LISTEN? (the node ignores it; guests still see it)",
      ],
    );
  });

  test("nx config show --effective warns on stderr", async () => {
    const run = await nx(["config", "show", "--effective"], { NX_LOG_LEVL: "debug" });
    assert.equal(run.code, EXIT_OK, run.stderr);
    assert.equal(
      run.stderr,
      "nx: warning: NX_LOG_LEVL is not a configuration variable; did you mean NX_LOG_LEVEL? (the node ignores it; guests still see it)\n",
    );
  });
});
