#!/usr/bin/env node
/**
 * Runs a sync example on several local nodes and prints the values they converged to.
 *
 *   npm run demo                                   every sync example, 3 nodes each
 *   node examples/run-cluster.ts distributed_tags  one example
 *   node examples/run-cluster.ts distributed_counter --nodes 5 --json
 *
 * Each node is a real `nx run` process on 127.0.0.1 with its own datastore in a temp directory,
 * connected to every other node; the TLS example first makes a PKI with `nx cert`. Exits 1 when
 * the nodes do not agree.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;
const NX = join(ROOT, "bin/nx.js");

interface ExampleCluster {
  /** What the run shows, in one line. */
  readonly about: string;
  /** `--print-*` flags: every node prints these when it stops. */
  readonly prints: readonly string[];
  /** Environment of node `i` (0-based). */
  env(i: number): Record<string, string>;
  readonly tls?: boolean;
}

const EXAMPLES: Record<string, ExampleCluster> = {
  distributed_counter: {
    about: "GCounter: node i adds i+1 visits",
    prints: ["--print-gcounter", "visits"],
    env: (i) => ({ NX_VISITS: String(i + 1) }),
  },
  distributed_inventory: {
    about: "PNCounter: nodes add and remove stock concurrently",
    prints: ["--print-pncounter", "inventory/widgets"],
    env: (i) => ({ NX_STOCK_DELTA: ["10", "-3", "5", "-1", "2"][i % 5] }),
  },
  distributed_status: {
    about: "LWW-Register: every node sets a status; the latest write wins everywhere",
    prints: ["--print-lww-register", "service/status"],
    env: (i) => ({ NX_STATUS: ["up", "degraded", "maintenance", "down", "up"][i % 5] }),
  },
  distributed_settings: {
    about: "LWW-Map: nodes set different fields (and one the same field)",
    prints: ["--print-lww-map", "settings"],
    env: (i) => ({ NX_SETTING: ["theme=dark", "lang=en", "theme=light", "tz=UTC", "font=mono"][i % 5] }),
  },
  distributed_tags: {
    about: "ORSet: nodes add tags; a concurrent add survives a remove",
    prints: ["--print-orset", "tags"],
    env: (i) => [{ NX_TAGS: "red,green" }, { NX_TAGS: "blue" }, { NX_TAGS: "green", NX_UNTAG: "red" }][i % 3],
  },
  distributed_comments: {
    about: "RGA: every node appends a comment to one shared thread",
    prints: ["--print-rga", "comments"],
    env: (i) => ({ NX_COMMENT: `hello from node ${i + 1}` }),
  },
  vote_tally_tls: {
    about: "GCounters over mutual TLS with a NodeId allowlist made by `nx cert`",
    prints: ["--print-gcounter", "votes/yes", "--print-gcounter", "votes/no"],
    env: (i) => ({ NX_VOTE: i % 3 === 1 ? "no" : "yes" }),
    tls: true,
  },
};

interface Options {
  examples: string[];
  nodes: number;
  json: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { examples: [], nodes: 3, json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--nodes") {
      options.nodes = Number(argv[++i]);
      if (!Number.isInteger(options.nodes) || options.nodes < 2 || options.nodes > 10) {
        fail("--nodes takes a whole number from 2 to 10");
      }
    } else if (arg === "--json") options.json = true;
    else if (arg === "--all") options.examples.push(...Object.keys(EXAMPLES));
    else if (arg === "--help" || arg === "-h") {
      process.stdout.write(
        `usage: node examples/run-cluster.ts <example...|--all> [--nodes N] [--json]\nexamples: ${Object.keys(EXAMPLES).join(", ")}\n`,
      );
      process.exit(0);
    } else if (arg in EXAMPLES) options.examples.push(arg);
    else fail(`unknown example or flag "${arg}" (examples: ${Object.keys(EXAMPLES).join(", ")})`);
  }
  if (options.examples.length === 0) options.examples.push(...Object.keys(EXAMPLES));
  return options;
}

function fail(message: string): never {
  process.stderr.write(`run-cluster: ${message}\n`);
  process.exit(2);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no free port");
  return address.port;
}

function nxCert(args: readonly string[]): { nodeId?: string } {
  return JSON.parse(execFileSync(process.execPath, [NX, "cert", ...args, "--json"], { encoding: "utf8" }));
}

/** Makes a CA and one certificate per node; returns each node's TLS flags (with the allowlist). */
function makePki(dir: string, nodes: number): string[][] {
  nxCert(["ca", "--out", join(dir, "ca")]);
  const ids: string[] = [];
  for (let i = 0; i < nodes; i++) {
    ids.push(
      nxCert([
        "node",
        "--ca-dir",
        join(dir, "ca"),
        "--name",
        `node-${i + 1}`,
        "--out",
        join(dir, `node-${i + 1}`),
      ]).nodeId!,
    );
  }
  return ids.map((_, i) => {
    const certs = join(dir, `node-${i + 1}`);
    return [
      "--tls-cert",
      join(certs, "node.crt"),
      "--tls-key",
      join(certs, "node.key"),
      "--tls-ca",
      join(certs, "ca.crt"),
      "--allowed-peers",
      ids.join(","),
    ];
  });
}

interface NodeResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runNode(
  args: readonly string[],
  env: Record<string, string>,
  children: Set<ChildProcess>,
): Promise<NodeResult> {
  const child = spawn(process.execPath, [NX, "run", ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) =>
    child.on("exit", (code) => {
      children.delete(child);
      resolve({ code, stdout, stderr });
    }),
  );
}

async function runExample(name: string, options: Options, children: Set<ChildProcess>) {
  const example = EXAMPLES[name];
  const dir = mkdtempSync(join(tmpdir(), `nx-${name}-`));
  try {
    const ports = await Promise.all(Array.from({ length: options.nodes }, freePort));
    const tls = example.tls ? makePki(join(dir, "pki"), options.nodes) : undefined;
    const wasm = join(ROOT, "examples", name, "build", `${name}.wasm`);
    const results = await Promise.all(
      ports.map((port, i) =>
        runNode(
          [
            wasm,
            "--datastore-path",
            join(dir, `node-${i + 1}`),
            "--listen",
            `127.0.0.1:${port}`,
            ...ports.filter((p) => p !== port).flatMap((p) => ["--peer", `127.0.0.1:${p}`]),
            ...(tls?.[i] ?? ["--tls-insecure"]),
            "--log-level",
            "error",
            "--reconnect-initial-delay",
            "100ms",
            "--wait-before-run",
            "5s",
            "--settle-for",
            "1500ms",
            ...example.prints,
          ],
          example.env(i),
          children,
        ),
      ),
    );
    const failed = results.find((r) => r.code !== 0);
    if (failed !== undefined)
      return { name, ok: false, error: failed.stderr.trim().split("\n").at(-1) ?? "failed" };
    const outputs = results.map((r) => r.stdout.trim());
    return {
      name,
      about: example.about,
      ok: new Set(outputs).size === 1,
      values: outputs[0].split("\n"),
      outputs,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const options = parseArgs(process.argv.slice(2));
const children = new Set<ChildProcess>();
const stopAll = () => {
  for (const child of children) child.kill("SIGTERM");
  process.exit(130);
};
process.on("SIGINT", stopAll);
process.on("SIGTERM", stopAll);

let allAgree = true;
const report = [];
for (const [index, name] of options.examples.entries()) {
  if (!options.json)
    process.stdout.write(`[${index + 1}/${options.examples.length}] ${name}: ${EXAMPLES[name].about}\n`);
  const result = await runExample(name, options, children);
  report.push(result);
  allAgree &&= result.ok;
  if (options.json) continue;
  if ("error" in result) process.stdout.write(`    FAILED: ${result.error}\n`);
  else if (result.ok) {
    for (const line of result.values) process.stdout.write(`    all ${options.nodes} nodes: ${line}\n`);
  } else {
    result.outputs.forEach((out, i) => {
      process.stdout.write(`    node ${i + 1}: ${out.replaceAll("\n", "; ")}\n`);
    });
    process.stdout.write("    the nodes DISAGREE\n");
  }
}
if (options.json) process.stdout.write(`${JSON.stringify({ nodes: options.nodes, examples: report })}\n`);
else process.stdout.write(allAgree ? "every cluster converged\n" : "some clusters did not converge\n");
process.exitCode = allAgree ? 0 : 1;
