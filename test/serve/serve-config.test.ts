/**
 * `[[serve]]` listeners from numax.toml with real requests to real listeners: HTTPS with `nx
 * cert` material, a cap on concurrent requests (503 with Retry-After, no queue), and the one
 * line a node refuses a bad serving configuration with (unknown module, unknown handler,
 * address in use).
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { connect, createServer, Socket } from "node:net";
import { join } from "node:path";
import { after, test } from "node:test";
import { examplePath, nxCert, REPO_ROOT, startNx, stopNx, tempDir } from "../helpers/nx-process.ts";

const dir = tempDir("nx-serve-config-");
after(() => dir.remove());

function configFile(name: string, text: string): string {
  const path = join(dir.path, name);
  writeFileSync(path, text);
  return path;
}

function startServing(config: string) {
  return startNx([
    "run",
    examplePath("http_hello"),
    "--config",
    config,
    "--datastore-path",
    join(dir.path, `data-${config.replace(/\W/g, "")}`),
  ]);
}

test("HTTPS with nx cert material: the client verifies the chain against the CA", async () => {
  nxCert(["ca", "--out", join(dir.path, "ca")]);
  nxCert(["node", "--ca-dir", join(dir.path, "ca"), "--name", "web", "--out", join(dir.path, "web")]);
  const config = configFile(
    "https.toml",
    `[[serve]]
listen = "127.0.0.1:0"
tls_cert = "${join(dir.path, "web/node.crt")}"
tls_key = "${join(dir.path, "web/node.key")}"

[serve.routes]
"GET /greet/:name" = "http_hello#hello"
`,
  );
  const nx = startServing(config);
  try {
    const url = (await nx.waitFor(/serving HTTP url=(https:\/\/127\.0\.0\.1:\d+)/))[1]!;
    const ca = readFileSync(join(dir.path, "ca/ca.crt"));
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        `${url}/greet/tls`,
        // The node certificate names the node, not 127.0.0.1: the chain is what is checked here.
        { ca, checkServerIdentity: () => undefined, timeout: 10_000 },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            body += chunk;
          });
          res.on("end", () => resolve({ status: res.statusCode!, body }));
        },
      );
      req.on("error", reject);
      req.end();
    });
    assert.deepEqual(answer, { status: 200, body: "hello tls" });
  } finally {
    assert.equal((await stopNx(nx)).code, 0, nx.stderr());
  }
});

test("past max_concurrent_requests a request gets 503 with Retry-After at once; the listener's CPU budget", async () => {
  const config = configFile(
    "cap.toml",
    `[[serve]]
listen = "127.0.0.1:0"
max_concurrent_requests = 1
cpu_ms_per_request = 300

[serve.routes]
"GET /spin" = "http_hello#spin"
"GET /hello/:name" = "http_hello#hello"
`,
  );
  const nx = startServing(config);
  try {
    const base = (await nx.waitFor(/serving HTTP url=(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    let spinning = true;
    const spin = fetch(`${base}/spin`, { signal: AbortSignal.timeout(10_000) }).finally(() => {
      spinning = false;
    });
    // While the spinning handler holds the only slot, every other request is refused at once.
    let refused: Response | undefined;
    while (spinning && refused === undefined) {
      const response = await fetch(`${base}/hello/x`, { signal: AbortSignal.timeout(10_000) });
      if (response.status === 503) refused = response;
      else await response.arrayBuffer();
    }
    assert.ok(refused !== undefined, "a request was refused while /spin ran");
    assert.equal(refused.headers.get("retry-after"), "1");
    assert.equal((await spin).status, 500);
    // The listener's own CPU budget, not the node's default of 1 s.
    await nx.waitFor(
      /handler=spin kind=cpu_budget failure="CPU budget exceeded after \d+ ms \(cpu_ms_per_run = 300\)/,
    );
    assert.equal((await fetch(`${base}/hello/y`)).status, 200);
  } finally {
    assert.equal((await stopNx(nx)).code, 0, nx.stderr());
  }
});

async function refusal(config: string): Promise<string> {
  const nx = startServing(config);
  const exit = await nx.exited;
  assert.equal(exit.code, 2, nx.stderr());
  const lines = nx
    .stderr()
    .split("\n")
    .filter((line) => line.startsWith("nx: error:"));
  assert.equal(lines.length, 1, nx.stderr());
  return lines[0]!;
}

test("a route to an unknown module or handler, or a busy address, is refused with one line (exit 2)", async () => {
  const route = (target: string) =>
    configFile(
      `route-${target.replace(/\W/g, "")}.toml`,
      `[[serve]]\nlisten = "127.0.0.1:0"\n[serve.routes]\n"GET /x" = "${target}"\n`,
    );
  assert.match(
    await refusal(route("nope#hello")),
    /^nx: error: \[\[serve\]\] #1 \(.*\): route "GET \/x" = "nope#hello" names module "nope", which this run does not load \(loaded: http_hello\)$/,
  );
  assert.match(
    await refusal(route("http_hello#missing")),
    /does not export "missing" as a handler \(an exported function \(\) -> \(\), not run, routes or a callback\)$/,
  );
  assert.match(await refusal(route("http_hello#run")), /does not export "run" as a handler/);
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
  const port = (busy.address() as { port: number }).port;
  try {
    const config = configFile(
      "busy.toml",
      `[[serve]]\nlisten = "127.0.0.1:${port}"\n[serve.routes]\n"GET /x" = "http_hello#hello"\n`,
    );
    assert.match(
      await refusal(config),
      new RegExp(`^nx: error: cannot serve HTTP on 127\\.0\\.0\\.1:${port}: the address is in use`),
    );
  } finally {
    busy.close();
  }
});

test("slow clients get 408, connections past max_connections 503, a handler past request_timeout 503", async () => {
  const config = configFile(
    "slow.toml",
    `[[serve]]
listen = "127.0.0.1:0"
request_timeout = "1s"
max_connections = 2

[serve.routes]
"GET /spin" = "http_hello#spin"
"GET /hello/:name" = "http_hello#hello"
`,
  );
  // A CPU budget longer than the request timeout: the wall clock stops /spin first.
  const nx = startNx([
    "run",
    examplePath("http_hello"),
    "--config",
    config,
    "--cpu-ms-per-run",
    "20000",
    "--datastore-path",
    join(dir.path, "data-slow"),
  ]);
  const sockets: Socket[] = [];
  try {
    const base = (await nx.waitFor(/serving HTTP url=(http:\/\/127\.0\.0\.1:(\d+))/))[1]!;
    const port = Number(new URL(base).port);
    // A slowloris: half a request head, then nothing.
    const slow = connect(port, "127.0.0.1");
    sockets.push(slow);
    await once(slow, "connect");
    slow.write("GET /hello/slow HTTP/1.1\r\nHost: x\r\n");
    let answer = "";
    slow.on("data", (chunk: Buffer) => {
      answer += chunk.toString();
    });
    const started = performance.now();
    await once(slow, "close");
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.ok(performance.now() - started < 5_000, "closed within a few seconds of request_timeout");

    // Two idle connections fill max_connections: a request on a third is refused.
    for (let i = 0; i < 2; i++) {
      const idle = connect(port, "127.0.0.1");
      sockets.push(idle);
      await once(idle, "connect");
    }
    const refused = await fetch(`${base}/hello/x`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get("retry-after"), "1");
    for (const socket of sockets) socket.destroy();
    sockets.length = 0;

    // The wall clock of a request stops a handler its CPU budget has not stopped yet.
    const spinStarted = performance.now();
    let spin: Response | undefined;
    // The closed connections may take a moment to leave the count.
    for (;;) {
      spin = await fetch(`${base}/spin`, { signal: AbortSignal.timeout(10_000) });
      if (!(await spin.clone().text()).includes("too many connections")) break;
    }
    assert.equal(spin.status, 503);
    assert.equal(spin.headers.get("retry-after"), "1");
    assert.ok(performance.now() - spinStarted < 8_000);
    await nx.waitFor(/handler=spin kind=stopped/);
    assert.equal((await fetch(`${base}/hello/after`)).status, 200);
  } finally {
    for (const socket of sockets) socket.destroy();
    assert.equal((await stopNx(nx)).code, 0, nx.stderr());
  }
});

test("an idle keep-alive connection is closed after idle_timeout", async () => {
  const config = configFile(
    "idle.toml",
    `[[serve]]\nlisten = "127.0.0.1:0"\nidle_timeout = "300ms"\n[serve.routes]\n"GET /hello/:name" = "http_hello#hello"\n`,
  );
  const nx = startServing(config);
  const socket = new Socket();
  try {
    const base = (await nx.waitFor(/serving HTTP url=(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    socket.connect(Number(new URL(base).port), "127.0.0.1");
    await once(socket, "connect");
    let answer = "";
    socket.on("data", (chunk: Buffer) => {
      answer += chunk.toString();
    });
    socket.write("GET /hello/idle HTTP/1.1\r\nHost: x\r\n\r\n");
    const answered = performance.now();
    await once(socket, "close");
    assert.match(answer, /^HTTP\/1\.1 200 [\s\S]*\r\n\r\nhello idle$/);
    // Node closes an idle connection within idle_timeout plus its check interval (1 s at most).
    assert.ok(
      performance.now() - answered < 3_000,
      `closed ${performance.now() - answered} ms after the answer`,
    );
  } finally {
    socket.destroy();
    assert.equal((await stopNx(nx)).code, 0, nx.stderr());
  }
});

test("--serve with no module declaring default routes is refused with one line", async () => {
  const nx = startNx([
    "run",
    join(REPO_ROOT, "examples/hello/build/hello.wasm"),
    "--serve",
    "127.0.0.1:0",
    "--datastore-path",
    join(dir.path, "data-no-routes"),
  ]);
  const exit = await nx.exited;
  assert.equal(exit.code, 2, nx.stderr());
  assert.match(
    nx.stderr(),
    /^nx: error: --serve: no routes to serve \(a module declares default routes with a "routes" export calling route_add/m,
  );
  assert.doesNotMatch(nx.stderr(), /hello from hello/, "the module never ran");
});

test("--serve and [[serve]] listen together; SIGTERM stops a running handler and the node exits 0", async () => {
  const config = configFile(
    "both.toml",
    `[[serve]]
listen = "127.0.0.1:0"
max_concurrent_requests = 1
[serve.routes]
"GET /spin" = "http_hello#spin"
"GET /greet/:name" = "http_hello#hello"
`,
  );
  const nx = startNx([
    "run",
    examplePath("http_hello"),
    "--config",
    config,
    "--serve",
    "127.0.0.1:0",
    "--cpu-ms-per-run",
    "60000",
    "--datastore-path",
    join(dir.path, "data-both"),
  ]);
  try {
    await nx.waitFor(/serving until SIGINT or SIGTERM/);
    const urls = [...nx.stderr().matchAll(/serving HTTP url=(http:\/\/127\.0\.0\.1:\d+)/g)].map((m) => m[1]!);
    assert.equal(urls.length, 2, nx.stderr());
    const [configured, flag] = urls as [string, string];
    assert.equal((await fetch(`${flag}/hello/both`)).status, 200, "--serve: the default routes");
    assert.equal((await fetch(`${configured}/hello/both`)).status, 404, "[[serve]]: its own routes only");
    const spin = fetch(`${configured}/spin`, { signal: AbortSignal.timeout(30_000) }).then(
      (response) => response.status,
      () => "closed",
    );
    // The spinning handler holds the listener's only slot once it runs.
    while ((await fetch(`${configured}/greet/x`)).status !== 503);
    const stopped = performance.now();
    const exit = await stopNx(nx);
    assert.equal(exit.code, 0, nx.stderr());
    assert.ok(performance.now() - stopped < 10_000, "the spinning handler did not hold the shutdown");
    assert.ok(["closed", 500, 503].includes(await spin), String(await spin));
  } finally {
    await stopNx(nx);
  }
});
