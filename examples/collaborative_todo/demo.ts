/**
 * `npm run demo`: the collaborative todo list on three connected local nodes, until Ctrl-C.
 *
 *   npm run demo                      prints the three URLs once the nodes are connected
 *
 * Each node is a real `nx run` process on 127.0.0.1 (`--listen`, a `--peer` for every other node,
 * `--tls-insecure`, `--serve` on a free port) with its own datastore in a temp directory, which
 * is removed when the nodes stop. Ctrl-C (SIGINT) or SIGTERM stops every node gracefully and
 * exits 0; a node that exits on its own ends the demo with its last log line and exit 1.
 * Started through demo.mjs, which refuses an older Node in one line.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = new URL("../..", import.meta.url).pathname;
const NX = join(ROOT, "bin/nx.js");
const WASM = join(ROOT, "examples/collaborative_todo/build/collaborative_todo.wasm");
/** Longest wait for every node to serve and to be connected to every other one. */
const START_TIMEOUT_MS = 60_000;
const NODES = 3;

interface DemoNode {
  readonly child: ChildProcess;
  /** What the node logged so far (stderr). */
  log(): string;
  readonly exited: Promise<number | null>;
}

function fail(message: string): never {
  process.stderr.write(`todo-demo: ${message}\n`);
  process.exit(2);
}

/** `count` distinct free ports: all are held open together, so none is handed out twice. */
async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  await Promise.all(
    servers.map((server) => new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))),
  );
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  return ports;
}

function startNode(args: readonly string[]): DemoNode {
  const child = spawn(process.execPath, [NX, "run", WASM, ...args], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    log += chunk.toString();
  });
  return {
    child,
    log: () => log,
    exited: new Promise((resolve) => child.on("exit", (code) => resolve(code))),
  };
}

function lastLine(text: string): string {
  return text.trim().split("\n").at(-1) ?? "";
}

if (process.argv.length > 2) fail("npm run demo takes no arguments: it starts 3 nodes until Ctrl-C");
const dir = mkdtempSync(join(tmpdir(), "nx-todo-demo-"));
const ports = await freePorts(2 * NODES);
const nodes = ports
  .slice(0, NODES)
  .map((port, i) =>
    startNode([
      "--datastore-path",
      join(dir, `node-${i + 1}`),
      "--listen",
      `127.0.0.1:${port}`,
      ...ports.slice(0, NODES).flatMap((p) => (p === port ? [] : ["--peer", `127.0.0.1:${p}`])),
      "--reconnect-initial-delay",
      "100ms",
      "--reconnect-max-delay",
      "1s",
      "--tls-insecure",
      "--serve",
      `127.0.0.1:${ports[NODES + i]}`,
    ]),
  );

let stopping = false;
async function stop(code: number): Promise<never> {
  stopping = true;
  for (const node of nodes) node.child.kill("SIGTERM");
  await Promise.all(nodes.map((node) => node.exited));
  rmSync(dir, { recursive: true, force: true });
  process.exit(code);
}
process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));
nodes.forEach((node, i) => {
  void node.exited.then((code) => {
    if (stopping) return;
    process.stderr.write(`todo-demo: node ${i + 1} exited (code ${code}): ${lastLine(node.log())}\n`);
    void stop(1);
  });
});

/** A node is ready once it serves and has logged a connection to every other node. */
function ready(node: DemoNode): boolean {
  const log = node.log();
  return (
    /serving HTTP url=/.test(log) && new Set(log.match(/connected to peer [0-9a-f]+/g)).size >= NODES - 1
  );
}
const deadline = performance.now() + START_TIMEOUT_MS;
while (!nodes.every(ready)) {
  if (performance.now() > deadline) {
    process.stderr.write(
      `todo-demo: the nodes were not all serving and connected within ${START_TIMEOUT_MS / 1000} s\n`,
    );
    await stop(1);
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
}
process.stdout.write(`collaborative todo on ${NODES} connected nodes (data in ${dir}); Ctrl-C stops them:\n`);
nodes.forEach((node, i) => {
  const url = /serving HTTP url=(\S+)/.exec(node.log())![1];
  const nodeId = /sync started nodeId=([0-9a-f]+)/.exec(node.log())![1];
  process.stdout.write(`  node ${i + 1} (${nodeId}): ${url}/\n`);
});
