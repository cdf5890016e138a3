/**
 * `http_fetch` in a real node (`nx run`): `[modules.<id>] http_fetch_hosts` in numax.toml lets a
 * module reach a local server; without it the same module is refused, no connection is made, and
 * the node logs one line naming module and host.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { writeFixture } from "../fixtures/wasm/wat-fixtures.ts";
import { REPO_ROOT, startNx, stopNx, tempDir } from "../helpers/nx-process.ts";

/** The AssemblyScript SDK's fetch.get through the same node (sdk/assemblyscript/tests/fetch_probe.ts). */
const FETCH_PROBE = join(REPO_ROOT, "sdk/assemblyscript/tests/build/fetch_probe.wasm");

const dir = tempDir("nx-http-fetch-");
let server: Server;
let host: string;
let guest: string;
let connections = 0;

before(async () => {
  server = createServer((_request, response) => {
    response
      .writeHead(200, { "content-type": "text/plain", "x-numax": "yes" })
      .end("hello from the server\n");
  });
  server.on("connection", () => {
    connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  guest = await writeFixture(dir.path, "http-fetch");
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  dir.remove();
});

async function run(config: string, datastore: string, wasm = guest) {
  const path = join(dir.path, `${datastore}.toml`);
  writeFileSync(path, config);
  const nx = startNx(["run", wasm, "--config", path, "--datastore-path", join(dir.path, datastore)], {
    NX_FETCH_URL: `http://${host}/`,
  });
  const exit = await Promise.race([
    nx.exited,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error("nx did not end")), 30_000)),
  ]).finally(() => stopNx(nx));
  return { exit, stdout: nx.stdout(), stderr: nx.stderr() };
}

test("a host listed in http_fetch_hosts is fetched", async () => {
  const result = await run(`[modules.http-fetch]\nhttp_fetch_hosts = ["${host}"]\n`, "allowed");
  assert.equal(result.exit.code, 0, result.stderr);
  assert.equal(result.stdout, "hello from the server\n");
});

test("without http_fetch_hosts the host is denied, unreached, and logged once with module and host", async () => {
  const before = connections;
  const result = await run("", "denied");
  assert.equal(result.exit.code, 0, result.stderr);
  assert.equal(result.stdout, "fetch failed: -6\n");
  assert.equal(connections, before);
  const lines = result.stderr.split("\n").filter((line) => line.includes("http_fetch denied"));
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0]!, /http-fetch/);
  assert.ok(lines[0]!.includes(host), lines[0]);
});

test("the AssemblyScript SDK's fetch.get hands over status, headers and body, or the error", async () => {
  const allowed = await run(
    `[modules.fetch_probe]\nhttp_fetch_hosts = ["${host}"]\n`,
    "sdk-allowed",
    FETCH_PROBE,
  );
  assert.equal(allowed.exit.code, 0, allowed.stderr);
  assert.equal(allowed.stdout, "status 200\nyes\nhello from the server\n\n");
  const denied = await run("", "sdk-denied", FETCH_PROBE);
  assert.equal(denied.exit.code, 0, denied.stderr);
  assert.equal(denied.stdout, "failed ERR_FETCH_DENIED\n");
});
