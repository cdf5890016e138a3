#!/usr/bin/env node
/**
 * Runs a sync example on several local nodes and prints the values they converged to, and the
 * reactive dashboard on connected nodes until each has seen every other node's ops.
 *
 *   npm run demo:examples                               every example, 3 nodes each
 *   npm run cluster -- distributed_tags                 one example
 *   npm run cluster -- distributed_counter --nodes 5 --json
 *   npm run cluster -- reactive_dashboard
 *
 * Each node is a real `nx run` process on 127.0.0.1 with its own datastore in a temp directory;
 * the TLS example first makes a PKI with `nx cert`. Nodes bind port 0 and the runner reads the
 * addresses they got from their log lines (see startNode): no port is probed free and then lost
 * to another process before a node binds it. For a sync example the nodes first act alone,
 * one after the other, then restart connected to every other node until they all hold every op
 * (see runExample). A reactive example runs on connected nodes from the start until each node has
 * printed what it saw of every other node (see runReactiveExample). Exits 1, naming the example
 * and the nodes, when they do not agree, or do not see each other, in time.
 * Started through run-cluster.mjs, which refuses an older Node in one line.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;
const NX = join(ROOT, "bin/nx.js");
/** The module the connected nodes run: it only logs, so the nodes just sync. */
const HELLO_WASM = join(ROOT, "examples/hello/build/hello.wasm");

/** Longest wait for a node to print the addresses it bound (a busy machine starts nodes slowly). */
const NODE_START_TIMEOUT_MS = 60_000;
/** Longest wait for one node's module run while it is alone (a busy machine starts nodes slowly). */
const PHASE_TIMEOUT_MS = 60_000;
/** Longest wait, once connected, for every node to hold every op before the runner gives up. */
const CONVERGE_TIMEOUT_MS = 60_000;
/** How often the runner reads the nodes' metrics. */
const POLL_INTERVAL_MS = 100;
/** One metrics request; a node that does not answer in time is asked again at the next poll. */
const SCRAPE_TIMEOUT_MS = 2_000;

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
    about: "LWW-Register: every node sets a status; the latest write (node 3's) wins everywhere",
    prints: ["--print-lww-register", "service/status"],
    env: (i) => ({ NX_STATUS: ["up", "degraded", "maintenance", "down", "up"][i % 5] }),
  },
  distributed_settings: {
    about: "LWW-Map: nodes set different fields; nodes 1 and 3 set the same one, and the later write wins",
    prints: ["--print-lww-map", "settings"],
    env: (i) => ({ NX_SETTING: ["theme=dark", "lang=en", "theme=light", "tz=UTC", "font=mono"][i % 5] }),
  },
  distributed_tags: {
    about:
      "ORSet: node 3 adds and removes red while node 1 adds red concurrently: the add node 3 never saw survives",
    prints: ["--print-orset", "tags"],
    env: (i) =>
      [{ NX_TAGS: "red,green" }, { NX_TAGS: "blue" }, { NX_TAGS: "green,red", NX_UNTAG: "red" }][i % 3],
  },
  distributed_comments: {
    about:
      "RGA: every node writes a comment at the head of one shared thread; concurrent ones are ordered newest first",
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

/**
 * A reactive example: its module runs on every node, connected from the start, and stays until
 * stopped. The run waits until every node has printed `seenLine(id)` for every other node's id.
 */
interface ReactiveCluster {
  readonly about: string;
  /** The stdout line a node prints when it sees an op of the node `nodeId`. */
  seenLine(nodeId: string): string;
  /** Stdout lines that count as one remote op each, in the summary. */
  readonly remoteOpLine: RegExp;
}

const REACTIVE_EXAMPLES: Record<string, ReactiveCluster> = {
  reactive_dashboard: {
    about:
      "reactive module: every node counts its ticks in ticks/<node id>; each prints the ops it sees from the others",
    seenLine: (nodeId) => `remote gcounter ticks/${nodeId}`,
    remoteOpLine: /^remote \S+ \S+$/gm,
  },
};

/** Longest wait for every reactive node to have seen every other node's ops. */
const REACTIVE_TIMEOUT_MS = 60_000;

const ALL_EXAMPLES = [...Object.keys(EXAMPLES), ...Object.keys(REACTIVE_EXAMPLES)];

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
    else if (arg === "--all") options.examples.push(...ALL_EXAMPLES);
    else if (arg === "--help" || arg === "-h") {
      process.stdout.write(
        `usage: npm run cluster -- <example...|--all> [--nodes N] [--json]\nexamples: ${ALL_EXAMPLES.join(", ")}\n`,
      );
      process.exit(0);
    } else if (ALL_EXAMPLES.includes(arg)) options.examples.push(arg);
    else fail(`unknown example or flag "${arg}" (examples: ${ALL_EXAMPLES.join(", ")})`);
  }
  if (options.examples.length === 0) options.examples.push(...ALL_EXAMPLES);
  return options;
}

function fail(message: string): never {
  process.stderr.write(`run-cluster: ${message}\n`);
  process.exit(2);
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

/** One `nx run` process with an observability port the runner scrapes. */
interface RunningNode {
  readonly child: ChildProcess;
  /** Where its observability endpoint listens (bound on port 0). */
  readonly metricsPort: number;
  /** Where it listens for peers (`host:port`, bound on port 0). */
  readonly listen: string;
  readonly exited: Promise<NodeResult>;
  /** What the node has printed on stdout so far. */
  stdout(): string;
  /** The node has exited (the runner stops scraping it). */
  readonly done: boolean;
}

/** The log lines that say which ports a node bound. */
const SYNC_LISTEN_LINE = / sync: sync started .*\blisten=(\S+)/;
const OBSERVABILITY_LINE = / observability: listening url=http:\/\/127\.0\.0\.1:(\d+)/;

/**
 * Starts `nx run ARGS --listen 127.0.0.1:0` with its observability endpoint on port 0, and
 * resolves once its log says which ports it bound (`sync started ... listen=`, `observability:
 * listening url=`; logged at `info`, as text whatever the environment's NX_LOG_FORMAT). Rejects, with the node stopped, when it exits or says
 * nothing within NODE_START_TIMEOUT_MS.
 */
async function startNode(
  args: readonly string[],
  env: Record<string, string>,
  children: Set<ChildProcess>,
): Promise<RunningNode> {
  const child = spawn(
    process.execPath,
    // The nodes run side by side: none takes the management API's or the dashboard's default port.
    [
      NX,
      "run",
      ...args,
      "--listen",
      "127.0.0.1:0",
      "--observability-listen",
      "127.0.0.1:0",
      "--management-listen",
      "off",
      "--dashboard-listen",
      "off",
      "--log-level",
      "info",
      // The lines read below are text: an NX_LOG_FORMAT=json in the runner's environment is not.
      "--log-format",
      "text",
    ],
    { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  children.add(child);
  let stdout = "";
  let stderr = "";
  let done = false;
  child.stdout!.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  const exited = new Promise<NodeResult>((resolve) =>
    child.on("exit", (code) => {
      children.delete(child);
      done = true;
      resolve({ code, stdout, stderr });
    }),
  );
  const bound = await new Promise<{ listen: string; metricsPort: number } | string>((resolve) => {
    const timer = setTimeout(
      () => resolve(`said nothing of its ports within ${NODE_START_TIMEOUT_MS / 1000} s`),
      NODE_START_TIMEOUT_MS,
    );
    const settle = (result: { listen: string; metricsPort: number } | string): void => {
      clearTimeout(timer);
      resolve(result);
    };
    let found = false;
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      if (found) return;
      const listen = SYNC_LISTEN_LINE.exec(stderr)?.[1];
      const metricsPort = OBSERVABILITY_LINE.exec(stderr)?.[1];
      if (listen === undefined || metricsPort === undefined) return;
      found = true;
      settle({ listen, metricsPort: Number(metricsPort) });
    });
    void exited.then(({ code }) =>
      settle(`exited (code ${code}) before it listened: ${lastProblem(stderr)}`),
    );
  });
  if (typeof bound === "string") {
    child.kill("SIGKILL");
    await exited;
    throw new Error(bound);
  }
  return {
    child,
    ...bound,
    exited,
    stdout: () => stdout,
    get done() {
      return done;
    },
  };
}

/** {@link startNode} for node `i` (0-based): a failure names the node. */
async function startNodeNumber(
  i: number,
  args: readonly string[],
  env: Record<string, string>,
  children: Set<ChildProcess>,
): Promise<RunningNode> {
  try {
    return await startNode(args, env, children);
  } catch (error) {
    throw new Error(`node ${i + 1} ${(error as Error).message}`);
  }
}

/** `--peer` flags for every node started before: once all have started, every pair is connected. */
function peersOf(nodes: readonly RunningNode[]): string[] {
  return nodes.flatMap((node) => ["--peer", node.listen]);
}

/** SIGTERM: a serving node shuts down gracefully and prints its `--print-*` values. */
function stopNode(node: RunningNode): Promise<NodeResult> {
  if (!node.done) node.child.kill("SIGTERM");
  return node.exited;
}

/** The node's unlabeled and labeled samples (`name{labels}` → value); undefined while it does not answer. */
async function scrape(node: RunningNode): Promise<Map<string, number> | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${node.metricsPort}/metrics`, {
      signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS),
    });
    const samples = new Map<string, number>();
    for (const line of (await response.text()).split("\n")) {
      const match = /^(numax_[a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
      if (match !== null) samples.set(match[1]!, Number(match[2]));
    }
    return samples;
  } catch {
    return undefined;
  }
}

const RUNS_OK = 'numax_module_runs_total{result="ok"}';
const RUNS_PREFIX = "numax_module_runs_total{";

/** Runs ended in any way: `ok`, or how they failed (`trap`, `abort`, `cpu_budget` ...). */
function runsEnded(samples: Map<string, number> | undefined): number {
  let ended = 0;
  for (const [name, value] of samples ?? []) if (name.startsWith(RUNS_PREFIX)) ended += value;
  return ended;
}
const OP_LOG_ENTRIES = "numax_op_log_entries";

/** Calls `check` every POLL_INTERVAL_MS until it returns true or `timeoutMs` passes. */
async function pollUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  return false;
}

/** The last line a node wrote that is not an `INFO` or `DEBUG` log line: why it failed. */
function lastProblem(text: string): string {
  return (
    text
      .trim()
      .split("\n")
      .findLast((line) => !/^\S+ (INFO|DEBUG) /.test(line)) ?? ""
  );
}

interface ExampleResult {
  readonly name: string;
  readonly about: string;
  readonly ok: boolean;
  /** The agreed values, one line each (when ok). */
  readonly values?: readonly string[];
  /** A reactive example: each node's id and the remote ops it printed (when ok). */
  readonly nodes?: readonly { readonly nodeId: string; readonly remoteOps: number }[];
  /** What each node held after acting alone, before the nodes were connected. */
  readonly partitioned?: readonly string[];
  /** What each node printed when it stopped (when the nodes disagree). */
  readonly outputs?: readonly string[];
  readonly error?: string;
}

/**
 * Two phases, so that what the example shows does not depend on timing:
 * 1. partitioned: each node runs the example module alone (no peers), node 1 first, then node 2...,
 *    so its ops are concurrent with every other node's and later nodes write later timestamps;
 * 2. healed: every node restarts on its datastore connected to all others, running only the
 *    `hello` module (which changes nothing), until every node holds all the ops made in phase 1.
 * Agreement is read from each node's `numax_op_log_entries` metric; the values are what the nodes
 * print when they stop.
 */
async function runExample(
  name: string,
  options: Options,
  children: Set<ChildProcess>,
): Promise<ExampleResult> {
  const example = EXAMPLES[name];
  const dir = mkdtempSync(join(tmpdir(), `nx-${name}-`));
  const started: RunningNode[] = [];
  try {
    const tls = example.tls ? makePki(join(dir, "pki"), options.nodes) : undefined;
    const nodeArgs = (i: number) => [
      "--datastore-path",
      join(dir, `node-${i + 1}`),
      ...(tls?.[i] ?? ["--tls-insecure"]),
      ...example.prints,
    ];

    let opsMade = 0;
    const partitioned: string[] = [];
    for (let i = 0; i < options.nodes; i++) {
      const wasm = join(ROOT, "examples", name, "build", `${name}.wasm`);
      const node = await startNodeNumber(i, [wasm, ...nodeArgs(i)], example.env(i), children);
      started.push(node);
      let samples: Map<string, number> | undefined;
      const ran = await pollUntil(async () => {
        samples = await scrape(node);
        return node.done || runsEnded(samples) > 0;
      }, PHASE_TIMEOUT_MS);
      const result = await stopNode(node);
      if (!ran)
        return {
          name,
          about: example.about,
          ok: false,
          error: `node ${i + 1} did not finish its run within ${PHASE_TIMEOUT_MS / 1000} s`,
        };
      if (samples?.get(RUNS_OK) !== 1 || result.code !== 0)
        return {
          name,
          about: example.about,
          ok: false,
          error: `node ${i + 1}: ${lastProblem(result.stderr) || `exit code ${result.code}`}`,
        };
      opsMade += samples.get(OP_LOG_ENTRIES) ?? 0;
      partitioned.push(result.stdout.trim());
    }

    // Each node dials the ones started before it (their ports are known only once they run).
    const nodes: RunningNode[] = [];
    for (let i = 0; i < options.nodes; i++) {
      const args = [HELLO_WASM, ...nodeArgs(i), ...peersOf(nodes), "--reconnect-initial-delay", "100ms"];
      const node = await startNodeNumber(i, args, {}, children);
      nodes.push(node);
      started.push(node);
    }
    const held: (number | undefined)[] = nodes.map(() => undefined);
    const converged = await pollUntil(async () => {
      const all = await Promise.all(nodes.map(scrape));
      all.forEach((samples, i) => {
        held[i] = samples?.get(OP_LOG_ENTRIES);
      });
      return nodes.every((node) => node.done) || held.every((count) => count === opsMade);
    }, CONVERGE_TIMEOUT_MS);
    const results = await Promise.all(nodes.map(stopNode));
    const failed = results.findIndex((r) => r.code !== 0);
    if (failed !== -1)
      return {
        name,
        about: example.about,
        ok: false,
        error: `node ${failed + 1}: ${lastProblem(results[failed]!.stderr) || `exit code ${results[failed]!.code}`}`,
      };
    const outputs = results.map((r) => r.stdout.trim());
    if (!converged) {
      const behind = held
        .map((count, i) =>
          count === opsMade ? undefined : `node ${i + 1} holds ${count ?? "?"} of the ${opsMade} ops`,
        )
        .filter((line) => line !== undefined);
      return {
        name,
        about: example.about,
        ok: false,
        outputs,
        error: `the nodes did not agree within ${CONVERGE_TIMEOUT_MS / 1000} s: ${behind.join(", ")}`,
      };
    }
    const agree = new Set(outputs).size === 1;
    return {
      name,
      about: example.about,
      ok: agree,
      partitioned,
      ...(agree
        ? { values: outputs[0]!.split("\n") }
        : { outputs, error: "every node holds every op, yet their values differ" }),
    };
  } catch (error) {
    return { name, about: example.about, ok: false, error: (error as Error).message };
  } finally {
    await Promise.all(started.map(stopNode));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The node's id from its `/v1/node` (served with --observability-expose-data); undefined while it does not answer. */
async function nodeIdOf(node: RunningNode): Promise<string | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${node.metricsPort}/v1/node`, {
      signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS),
    });
    const body = (await response.json()) as { nodeId?: unknown };
    return typeof body.nodeId === "string" ? body.nodeId : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Every node runs the reactive module, connected to all others from the start, until each has
 * printed `seenLine(id)` for every other node's id (or REACTIVE_TIMEOUT_MS passes: the error
 * names each node and what it has not seen); then SIGTERM, and every node must exit 0.
 */
async function runReactiveExample(
  name: string,
  options: Options,
  children: Set<ChildProcess>,
): Promise<ExampleResult> {
  const example = REACTIVE_EXAMPLES[name];
  const failure = (error: string): ExampleResult => ({ name, about: example.about, ok: false, error });
  const dir = mkdtempSync(join(tmpdir(), `nx-${name}-`));
  const nodes: RunningNode[] = [];
  try {
    const wasm = join(ROOT, "examples", name, "build", `${name}.wasm`);
    for (let i = 0; i < options.nodes; i++) {
      const args = [
        wasm,
        "--datastore-path",
        join(dir, `node-${i + 1}`),
        ...peersOf(nodes),
        "--reconnect-initial-delay",
        "100ms",
        "--tls-insecure",
        "--observability-expose-data",
      ];
      nodes.push(await startNodeNumber(i, args, {}, children));
    }
    const ids: (string | undefined)[] = nodes.map(() => undefined);
    /** Per node, the other nodes (1-based) whose ops it has not printed yet. */
    const unseen = (): number[][] =>
      nodes.map((node, i) =>
        ids
          .map((id, j) =>
            j === i || (id !== undefined && node.stdout().includes(example.seenLine(id))) ? 0 : j + 1,
          )
          .filter((j) => j !== 0),
      );
    const seen = await pollUntil(async () => {
      for (const [i, node] of nodes.entries()) ids[i] ??= await nodeIdOf(node);
      return nodes.some((node) => node.done) || unseen().every((missing) => missing.length === 0);
    }, REACTIVE_TIMEOUT_MS);
    const exitedEarly = nodes.findIndex((node) => node.done);
    const missing = unseen();
    const results = await Promise.all(nodes.map(stopNode));
    if (exitedEarly !== -1) {
      const result = results[exitedEarly]!;
      return failure(
        `node ${exitedEarly + 1} exited early: ${lastProblem(result.stderr) || `exit code ${result.code}`}`,
      );
    }
    if (!seen) {
      const lagging = missing
        .map((others, i) =>
          others.length === 0
            ? undefined
            : `node ${i + 1} printed no \`${example.seenLine("<id>")}\` for node ${others.join(" or ")}`,
        )
        .filter((line) => line !== undefined);
      return failure(
        `not every node saw the others within ${REACTIVE_TIMEOUT_MS / 1000} s: ${lagging.join("; ")}`,
      );
    }
    const failed = results.findIndex((r) => r.code !== 0);
    if (failed !== -1)
      return failure(
        `node ${failed + 1} did not stop cleanly: ${lastProblem(results[failed]!.stderr) || `exit code ${results[failed]!.code}`}`,
      );
    return {
      name,
      about: example.about,
      ok: true,
      nodes: results.map((result, i) => ({
        nodeId: ids[i]!,
        remoteOps: (result.stdout.match(example.remoteOpLine) ?? []).length,
      })),
    };
  } catch (error) {
    return failure((error as Error).message);
  } finally {
    await Promise.all(nodes.map(stopNode));
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
const report: ExampleResult[] = [];
for (const [index, name] of options.examples.entries()) {
  if (!options.json)
    process.stdout.write(
      `[${index + 1}/${options.examples.length}] ${name}: ${(EXAMPLES[name] ?? REACTIVE_EXAMPLES[name]).about}\n`,
    );
  const result =
    name in REACTIVE_EXAMPLES
      ? await runReactiveExample(name, options, children)
      : await runExample(name, options, children);
  report.push(result);
  allAgree &&= result.ok;
  if (options.json) continue;
  result.partitioned?.forEach((out, i) => {
    process.stdout.write(`    node ${i + 1} alone: ${out.replaceAll("\n", "; ")}\n`);
  });
  if (result.ok) {
    for (const line of result.values ?? []) process.stdout.write(`    all ${options.nodes} nodes: ${line}\n`);
    result.nodes?.forEach(({ nodeId, remoteOps }, i) => {
      process.stdout.write(`    node ${i + 1} (${nodeId}): saw every other node, ${remoteOps} remote ops\n`);
    });
    continue;
  }
  result.outputs?.forEach((out, i) => {
    process.stdout.write(`    node ${i + 1} when stopped: ${out.replaceAll("\n", "; ")}\n`);
  });
  process.stdout.write(`    FAILED (${name}): ${result.error}\n`);
}
if (options.json) process.stdout.write(`${JSON.stringify({ nodes: options.nodes, examples: report })}\n`);
else process.stdout.write(allAgree ? "every cluster converged\n" : "some clusters did not converge\n");
process.exitCode = allAgree ? 0 : 1;
