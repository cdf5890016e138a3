import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import { freePort, type NxProcess, startNx, stopNx, tempDir } from "../helpers/nx-process.ts";

/**
 * Runs the commands of docs/observability.md's "The HTTP endpoint" section against a real node:
 * the `nx run` line of its first example (on free ports, with a datastore of its own), then the
 * check script of its second, which must pass while the node serves.
 */

const DOC = new URL("../../docs/observability.md", import.meta.url);
const REPO_ROOT = new URL("../../", import.meta.url).pathname;

function shellBlocksOf(section: string): string[][] {
  const text = readFileSync(DOC, "utf8");
  const start = text.indexOf(`## ${section}`);
  assert.ok(start >= 0, `docs/observability.md has a "## ${section}" section`);
  const end = text.indexOf("\n## ", start + 1);
  const body = text.slice(start, end < 0 ? undefined : end);
  return [...body.matchAll(/```sh\n([\s\S]*?)```/g)].map(([, block]) =>
    block.split("\n").filter((line) => line.trim() !== "" && !line.trimStart().startsWith("#")),
  );
}

const root = tempDir("nx-observability-doc-");
let node: NxProcess | undefined;
after(async () => {
  if (node !== undefined) await stopNx(node, 3000);
  root.remove();
});

describe("docs/observability.md", { timeout: 60_000 }, () => {
  test("the endpoint example keeps serving, and the doc's check passes against it", async () => {
    const [runBlock, checkBlock] = shellBlocksOf("The HTTP endpoint (opt-in)");
    const [runLine] = runBlock!;
    assert.match(runLine!, /^npx nx run /);
    const [syncPort, httpPort] = [await freePort(), await freePort()];
    const onFreePorts = (line: string) =>
      line.replaceAll(":9000", `:${syncPort}`).replaceAll(":9100", `:${httpPort}`).replace(/#.*$/, "").trim();
    const args = onFreePorts(runLine!).split(/\s+/).slice(2);
    node = startNx([...args, "--datastore-path", `${root.path}/data`]);
    await node.waitFor(/observability: listening/);
    await node.waitFor(/sync started/);

    const [checkLine] = checkBlock!;
    const [script, ...checkArgs] = onFreePorts(checkLine!).split(/\s+/);
    assert.equal(script, "scripts/check-observability.sh");
    const url = checkArgs[0] ?? `http://127.0.0.1:${httpPort}`;
    const outcome = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile("sh", [script!, url], { cwd: REPO_ROOT, timeout: 30_000 }, (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number(error.code ?? -1), stdout, stderr }),
      );
    });
    assert.equal(outcome.code, 0, outcome.stderr);
    assert.match(outcome.stdout, /check-observability: all checks passed/);
    assert.equal(node.child.exitCode, null, "the node still serves");
  });
});
