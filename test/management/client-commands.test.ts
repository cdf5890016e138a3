/**
 * The `nx` client commands against real nodes (child processes) through their management API:
 * tables for people, `--json` for scripts, the local config's defaults, and the exit codes
 * docs/cli.md documents (1 the node answered an error, 3 unreachable, 4 token refused).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { PeerView } from "../../src/node/node-introspection.ts";
import { type ManagedNode, managedNodeTracker } from "../helpers/management-node.ts";
import { examplePath, freePort, guestPath, NX_BIN, pollUntil, tempDir } from "../helpers/nx-process.ts";

const nodes = managedNodeTracker();
const dir = tempDir("nx-client-");
after(async () => {
  await nodes.stopAll();
  dir.remove();
});

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function nx(args: readonly string[], cwd?: string): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [NX_BIN, ...args],
      { cwd, timeout: 30_000, encoding: "utf8" },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe("nx client commands", () => {
  let a: ManagedNode;
  let b: ManagedNode;
  let target: string[];
  before(async () => {
    [a, b] = await Promise.all([
      nodes.node({
        datastore: join(dir.path, "a"),
        modules: [guestPath("reactive_probe"), guestPath("proc_idle"), examplePath("distributed_counter")],
      }),
      nodes.node({ datastore: join(dir.path, "b"), modules: [guestPath("reactive_probe")] }),
    ]);
    target = ["--node", a.url, "--token-file", join(a.datastore, "management.token")];
  });

  test("nx status: a table naming the node; --json is the API's node, modules and peers", async () => {
    const table = await nx(["status", ...target]);
    assert.equal(table.code, 0, table.stderr);
    const node = (await a.api("GET", "/node")).body as { nodeId: string };
    assert.match(table.stdout, new RegExp(`^node\\s+${node.nodeId}$`, "m"));
    assert.match(table.stdout, /^modules\s+.*reactive_probe \(running\)/m);
    const json = await nx(["status", ...target, "--json"]);
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as { node: { nodeId: string }; modules: { id: string }[] };
    assert.equal(parsed.node.nodeId, node.nodeId);
    assert.deepEqual(parsed.modules.map((module) => module.id).sort(), [
      "distributed_counter",
      "proc_idle",
      "reactive_probe",
    ]);
  });

  test("nx ps: a header and one line per live process; --json the API's list", async () => {
    const api = (await a.api("GET", "/processes")).body as { pid: string }[];
    const table = await nx(["ps", ...target]);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split("\n");
    assert.match(lines[0]!, /^PID\s+NAME\s+MODULE\s+STATUS\s+MAILBOX\s+REDUCTIONS\s+MEMORY\s+LINKS$/);
    for (const { pid } of api)
      assert.ok(
        lines.some((line) => line.startsWith(`${pid} `)),
        `${pid} listed`,
      );
    const json = JSON.parse((await nx(["ps", ...target, "--json"])).stdout) as { pid: string }[];
    assert.ok(json.length > 0);
    assert.ok(json.every((process) => typeof process.pid === "string"));
  });

  test("nx peers add dials a peer, nx peers lists it connected, nx peers remove drops it", async () => {
    const address = `127.0.0.1:${b.syncPort}`;
    const added = await nx(["peers", "add", address, ...target]);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, new RegExp(`^added peer ${address} `));
    const connected = (peers: PeerView[]) =>
      peers.some((peer) => peer.address === address && peer.state === "connected");
    assert.ok(
      connected(
        await pollUntil(async () => (await a.api("GET", "/peers")).body as PeerView[], connected, 15_000),
      ),
      "the added peer connected",
    );
    const table = await nx(["peers", ...target]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(
      table.stdout,
      new RegExp(`^${address.replaceAll(".", "\\.")}\\s+\\w+…?\\s+connected\\s`, "m"),
    );
    const json = JSON.parse((await nx(["peers", ...target, "--json"])).stdout) as PeerView[];
    assert.ok(json.some((peer) => peer.address === address && peer.state === "connected"));
    const removed = await nx(["peers", "remove", address, ...target]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stdout, `removed peer ${address}\n`);
  });

  test("nx keys lists keys and families (by prefix, in pages, --all); nx get shows one with its last writer", async () => {
    await a.nx.waitFor(/distributed_counter: node \w+ added 1 visit/);
    const table = await nx(["keys", ...target]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^KEY\s+FAMILY$/m);
    assert.match(table.stdout, /^probe\/inits\s+gcounter$/m);
    assert.match(table.stdout, /^visits\s+gcounter$/m);
    const prefixed = JSON.parse((await nx(["keys", "vis", ...target, "--json"])).stdout);
    assert.deepEqual(prefixed, { keys: [{ key: "visits", family: "gcounter" }], nextCursor: null });
    const firstPage = await nx(["keys", ...target, "--limit", "1"]);
    assert.match(firstPage.stdout, /^\(more: --cursor \S+, or --all\)$/m);
    const all = JSON.parse((await nx(["keys", ...target, "--limit", "1", "--all", "--json"])).stdout);
    assert.deepEqual(all, (await a.api("GET", "/keys")).body);
    const nodeId = ((await a.api("GET", "/node")).body as { nodeId: string }).nodeId;
    const one = await nx(["get", "visits", ...target]);
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, /^family\s+gcounter$/m);
    assert.match(one.stdout, /^value\s+"1"$/m);
    assert.match(one.stdout, new RegExp(`^last writer\\s+${nodeId}$`, "m"));
    const json = JSON.parse((await nx(["get", "visits", ...target, "--json"])).stdout);
    assert.deepEqual(json, (await a.api("GET", "/keys/visits")).body);
    const missing = await nx(["get", "no/such/key", ...target]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^nx: error: the node answered 404 NOT_FOUND: /);
  });

  test("defaults come from the local numax.toml: [management] listen and the token file beside the datastore", async () => {
    const cwd = join(dir.path, "client-cwd");
    const port = new URL(a.url).port;
    const { mkdirSync } = await import("node:fs");
    mkdirSync(cwd, { recursive: true });
    writeFileSync(
      join(cwd, "numax.toml"),
      `[storage]\ndatastore_path = "${a.datastore}"\n\n[management]\nlisten = "127.0.0.1:${port}"\n`,
    );
    const status = await nx(["status", "--json"], cwd);
    assert.equal(status.code, 0, status.stderr);
    assert.ok((JSON.parse(status.stdout) as { node: { nodeId: string } }).node.nodeId.length > 0);
  });

  test("exit 4 and one line when the node refuses the token", async () => {
    const wrong = join(dir.path, "wrong.token");
    writeFileSync(wrong, "not-the-token\n", { mode: 0o600 });
    const result = await nx(["ps", "--node", a.url, "--token-file", wrong]);
    assert.equal(result.code, 4);
    assert.equal(result.stdout, "");
    assert.match(
      result.stderr,
      /^nx: error: the node at http:\/\/127\.0\.0\.1:\d+ refused the token from .*wrong\.token \(401\)/,
    );
    assert.equal(result.stderr.trimEnd().split("\n").length, 1);
  });

  test("exit 3 and one line naming the URL when nothing listens there", async () => {
    const port = await freePort();
    const result = await nx([
      "status",
      "--node",
      `http://127.0.0.1:${port}`,
      "--token-file",
      join(a.datastore, "management.token"),
    ]);
    assert.equal(result.code, 3);
    assert.match(
      result.stderr,
      new RegExp(`^nx: error: cannot reach the node at http://127\\.0\\.0\\.1:${port}: connection refused`),
    );
  });

  test("exit 1 with the API's error code when the node answers an error; exit 2 without a token file", async () => {
    const missing = await nx(["peers", "remove", "127.0.0.1:1", ...target]);
    assert.equal(missing.code, 1, missing.stderr);
    assert.match(missing.stderr, /^nx: error: the node answered 404 NOT_FOUND: /);
    const readOnly = await nx([
      "peers",
      "add",
      "127.0.0.1:1",
      "--node",
      a.url,
      "--token-file",
      join(a.datastore, "management-read.token"),
    ]);
    assert.equal(readOnly.code, 1);
    assert.match(readOnly.stderr, /403 FORBIDDEN_READ_ONLY/);
    const noFile = await nx(["status", "--node", a.url, "--token-file", join(dir.path, "absent.token")]);
    assert.equal(noFile.code, 2);
    assert.match(noFile.stderr, /^nx: error: no token file at .*absent\.token/);
  });
});
