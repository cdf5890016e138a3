/**
 * `npm run demo` (examples/collaborative_todo/demo.mjs) end to end: it prints one URL per node
 * once the three real nodes serve and are connected; a todo added on one is listed by the
 * others; Ctrl-C (SIGINT) stops every node, removes their datastores and exits 0.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { pollUntil, REPO_ROOT } from "../helpers/nx-process.ts";

const URLS =
  /^collaborative todo on 3 connected nodes \(data in (\S+)\); Ctrl-C stops them:\n(?: {2}node \d \([0-9a-f]{32}\): http:\/\/127\.0\.0\.1:\d+\/\n){3}$/;

test("npm run demo: three connected nodes, their URLs, Ctrl-C stops them all", async () => {
  const demo = spawn(process.execPath, ["examples/collaborative_todo/demo.mjs"], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  demo.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  demo.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => demo.on("exit", resolve));
  try {
    await pollUntil(
      async () => stdout,
      (out) => URLS.test(out) || demo.exitCode !== null,
      60_000,
    );
    const printed = URLS.exec(stdout);
    assert.ok(printed !== null, `no URLs printed:\n${stdout}${stderr}`);
    const dataDir = printed[1]!;
    const urls = [...stdout.matchAll(/(http:\/\/\S+)\//g)].map((m) => m[1]!);
    const created = await fetch(`${urls[0]}/api/todos`, {
      method: "POST",
      body: JSON.stringify({ title: "from the demo" }),
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(created.status, 201);
    const listed = async (url: string) =>
      (await (await fetch(`${url}/api/todos`, { signal: AbortSignal.timeout(10_000) })).json()) as {
        title: string;
      }[];
    for (const url of urls.slice(1)) {
      const todos = await pollUntil(
        () => listed(url),
        (t) => t.length === 1,
        10_000,
      );
      assert.deepEqual(
        todos.map((t) => t.title),
        ["from the demo"],
      );
    }
    demo.kill("SIGINT");
    assert.equal(await exited, 0, stderr);
    assert.equal(existsSync(dataDir), false, "the datastores are removed");
  } finally {
    // SIGTERM, not SIGKILL: the demo then stops its nodes too.
    if (demo.exitCode === null && demo.signalCode === null) {
      demo.kill("SIGTERM");
      await exited;
    }
  }
});
