/**
 * The seed's closing test of issue 17: ten modules with different quotas on one real node
 * (`nx run a.wasm b.wasm ... --policy MODULE=FILE`, a child process). Four well-behaved modules
 * make CRDT ops as fast as their `ops_per_sec` lets them; after ABUSE_DELAY_MS six abusers
 * start at once: one spins, one allocates to its cap, one floods ops, one writes at full speed,
 * one spawns without end, one floods a mailbox. Measured in the same run: each well-behaved
 * module's op rate alone (before the abusers start) and alongside them, from its usage in
 * `/v1/modules`; `/health` is timed throughout. Ratios of one run, so a loaded machine slows
 * both phases alike.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import type { ModuleView, NodeView, ProcessView } from "../../src/node/node-introspection.ts";
import { watToWasm } from "../fixtures/wasm/wat-fixtures.ts";
import { managedNodeTracker } from "../helpers/management-node.ts";
import { guestPath, stopNx, tempDir } from "../helpers/nx-process.ts";

/** How long the abusers sleep before they start: the well-behaved modules' time alone. */
const ABUSE_DELAY_MS = 6_000;
/** How long the well-behaved modules are measured alongside the abusers. */
const ABUSE_WINDOW_MS = 8_000;
/** The start of a well-behaved module's time alone that is not measured (its bucket's first burst). */
const WARMUP_MS = 1_500;
const HEALTH_P99_MS_MAX = 50;
/** On a machine where the node alone answers /health slower than HEALTH_P99_MS_MAX: the bound alongside the abusers, relative to alone. */
const HEALTH_P99_LOADED_RATIO_MAX = 1.5;
/** The control of the /health timings: an idle HTTP server that prints its port. */
const CONTROL_SERVER = `require("node:http").createServer((_, res) => res.end("ok")).listen(0, "127.0.0.1", function () { console.log(this.address().port); });`;
/** Period of the test's reads of /v1/modules. */
const SAMPLE_EVERY_MS = 200;
const THROUGHPUT_RATIO_MIN = 0.8;

const nodes = managedNodeTracker();
const dir = tempDir("nx-quota-containment-");
after(async () => {
  await nodes.stopAll();
  dir.remove();
});

/** WAT of a guest whose `run` sleeps `ABUSE_DELAY_MS` (when `delayed`) and then runs `body`. */
function guest(body: string, { delayed = true, imports = "", exports = "" } = {}): string {
  return `(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "nx" "module_id" (func $module_id (param i32 i32) (result i32)))
  ${imports}
  (memory (export "memory") 1)
  (func $sleep (param $ms i64)
    (i64.store (i32.const 0) (i64.const 1))
    (i32.store8 (i32.const 8) (i32.const 0))
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.mul (local.get $ms) (i64.const 1000000)))
    (i64.store (i32.const 32) (i64.const 0))
    (i32.store16 (i32.const 40) (i32.const 0))
    (drop (call $poll (i32.const 0) (i32.const 128) (i32.const 1) (i32.const 256))))
  ${exports}
  (func (export "run")
    (local $id_len i32) (local $pid i32)
    ;; The module's id at 512: the key of its counter.
    (local.set $id_len (call $module_id (i32.const 512) (i32.const 64)))
    ${delayed ? `(call $sleep (i64.const ${ABUSE_DELAY_MS}))` : ""}
    ${body}))`;
}

const INC = `(import "nx" "crdt_gcounter_inc" (func $inc (param i32 i32 i64) (result i32)))`;
const DB_SET = `(import "nx" "db_set" (func $db_set (param i32 i32 i32 i32) (result i32)))`;
const SPAWN = `(import "nx" "proc_spawn" (func $spawn (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "nx" "proc_send" (func $send (param i32 i32 i32) (result i32)))
  (import "nx" "proc_receive_match" (func $receive_match (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (data (i32.const 600) "park")`;
/** A process that waits for a DOWN message that never comes: the data sent to it only fill its mailbox. */
const PARK = `(func (export "park")
    (drop (call $receive_match (i32.const 2) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const -1))))`;
const SPAWN_PARKED =
  "(call $spawn (i32.const 0) (i32.const 0) (i32.const 600) (i32.const 4) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))";

/** Each module: its code and its policy (capabilities and quotas). */
const MODULES: Record<string, { wat: string; policy: string }> = {};
// Well-behaved: one op after the other, each acknowledged (a failed call traps), at the rate
// their quota grants; different quotas.
for (const [name, opsPerSec] of [
  ["steady_a", 40],
  ["steady_b", 60],
  ["steady_c", 80],
  ["steady_d", 100],
] as const) {
  MODULES[name] = {
    wat: guest(
      `(loop $next
        (if (i32.ne (call $inc (i32.const 512) (local.get $id_len) (i64.const 1)) (i32.const 0)) (then unreachable))
        (br $next))`,
      { delayed: false, imports: INC },
    ),
    policy: `[capabilities]\ncrdt.gcounter = ["${name}"]\n[quotas]\nops_per_sec = ${opsPerSec}\n`,
  };
}
MODULES.spinner = {
  wat: guest("(loop $forever (br $forever))"),
  policy: "[quotas]\ncpu_ms_per_run = 100\n",
};
MODULES.allocator = {
  wat: guest("(loop $more (br_if $more (i32.ne (memory.grow (i32.const 16)) (i32.const -1)))) unreachable"),
  policy: "[quotas]\nmemory_max_mb = 8\n",
};
MODULES.op_flooder = {
  wat: guest("(loop $next (drop (call $inc (i32.const 512) (local.get $id_len) (i64.const 1))) (br $next))", {
    imports: INC,
  }),
  policy: '[capabilities]\ncrdt.gcounter = ["op_flooder"]\n[quotas]\nops_per_sec = 50\n',
};
MODULES.writer = {
  wat: guest(
    "(loop $next (drop (call $db_set (i32.const 512) (local.get $id_len) (i32.const 1024) (i32.const 1024))) (br $next))",
    { imports: DB_SET },
  ),
  policy: '[capabilities]\ndb.write = ["writer"]\n[quotas]\nbytes_written_per_sec = 20000\n',
};
MODULES.spawner = {
  wat: guest(`(loop $next (drop ${SPAWN_PARKED}) (br $next))`, { imports: SPAWN, exports: PARK }),
  policy:
    '[capabilities]\nprocesses.spawn = "sandboxed"\n[quotas]\nprocesses_max = 20\ncpu_ms_per_run = 150\n',
};
MODULES.mailer = {
  wat: guest(
    `(local.set $pid ${SPAWN_PARKED})
    (loop $next (drop (call $send (local.get $pid) (i32.const 1024) (i32.const 64))) (br $next))`,
    { imports: SPAWN, exports: PARK },
  ),
  policy:
    '[capabilities]\nprocesses.spawn = "sandboxed"\n[quotas]\nmailbox_max = 100\ncpu_ms_per_run = 150\n',
};
const STEADY = ["steady_a", "steady_b", "steady_c", "steady_d"];

/** The p-th percentile of `values` (nearest rank). */
function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** The op rate of `id` between two samples, per second. */
function rate(from: Sample, to: Sample, id: string): number {
  const ops = (sample: Sample) => sample.modules.find((view) => view.id === id)!.usage.ops;
  return ((ops(to) - ops(from)) * 1000) / (to.atMs - from.atMs);
}

interface Sample {
  readonly atMs: number;
  readonly modules: readonly ModuleView[];
}

test("10 modules with different quotas: abusers are contained, the well-behaved keep their throughput, /health stays fast", {
  timeout: 120_000,
}, async () => {
  const paths: string[] = [];
  const policyFlags: string[] = [];
  for (const [name, { wat, policy }] of Object.entries(MODULES)) {
    const path = join(dir.path, `${name}.wasm`);
    writeFileSync(path, await watToWasm(wat, `${name}.wat`));
    writeFileSync(join(dir.path, `${name}.policy.toml`), policy);
    paths.push(path);
    policyFlags.push("--policy", `${name}=${join(dir.path, `${name}.policy.toml`)}`);
  }
  const node = await nodes.node({
    datastore: join(dir.path, "data"),
    modules: paths,
    args: [
      ...policyFlags,
      "--observability-listen",
      "127.0.0.1:0",
      // Each module's counter is in its own key namespace: <module id>/<key> in the store.
      ...STEADY.flatMap((name) => ["--print-gcounter", `${name}/${name}`]),
    ],
    env: { NX_POLICY_DEFAULT: "deny" },
  });
  const observability = (
    await node.nx.waitFor(/observability: listening url=(http:\/\/127\.0\.0\.1:\d+)/)
  )[1]!;
  const healthUrl = `${observability}/health`;

  // /health, one request after the other, for the whole run; each followed by the same request
  // to a control: an idle HTTP server in a child process of its own, which meets the machine's
  // load (other processes, this test's own delays) but none of the node's work.
  const control = spawn(process.execPath, ["-e", CONTROL_SERVER], { stdio: ["ignore", "pipe", "inherit"] });
  const controlUrl = await new Promise<string>((resolve, reject) => {
    control.stdout!.once("data", (chunk: Buffer) =>
      resolve(`http://127.0.0.1:${chunk.toString().trim()}/health`),
    );
    control.once("exit", () => reject(new Error("the control server exited")));
  });
  const timed = async (url: string): Promise<{ atMs: number; ms: number }> => {
    const started = performance.now();
    await (await fetch(url, { signal: AbortSignal.timeout(5_000) })).text();
    return { atMs: started, ms: performance.now() - started };
  };
  const health: { atMs: number; ms: number }[] = [];
  const controlHealth: { atMs: number; ms: number }[] = [];
  let measuring = true;
  const healthLoop = (async () => {
    while (measuring) {
      health.push(await timed(healthUrl));
      controlHealth.push(await timed(controlUrl));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();

  const samples: Sample[] = [];
  const sample = async (): Promise<Sample> => {
    const atMs = performance.now();
    const modules = (await node.api("GET", "/modules")).body as ModuleView[];
    const taken = { atMs, modules };
    samples.push(taken);
    return taken;
  };
  const byId = (taken: Sample, id: string) => taken.modules.find((view) => view.id === id)!;
  const until = async (done: (taken: Sample) => boolean, timeoutMs: number): Promise<Sample> => {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const taken = await sample();
      if (done(taken)) return taken;
      assert.ok(performance.now() < deadline, "timed out waiting for the node's modules");
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_EVERY_MS));
    }
  };

  try {
    const running = await until((taken) => STEADY.every((id) => byId(taken, id).usage.ops > 0), 30_000);
    const aloneFrom = await until((taken) => taken.atMs >= running.atMs + WARMUP_MS, 10_000);
    // The abusers start together: the op flooder's first op marks the moment.
    let aloneTo: Sample = aloneFrom;
    const abuseFrom = await until((taken) => {
      if (byId(taken, "op_flooder").usage.ops > 0) return true;
      aloneTo = taken;
      return false;
    }, ABUSE_DELAY_MS + 20_000);
    const abuseTo = await until((taken) => taken.atMs >= abuseFrom.atMs + ABUSE_WINDOW_MS, 30_000);
    measuring = false;
    await healthLoop;

    assert.ok(aloneTo.atMs - aloneFrom.atMs >= 1_000, "at least a second alone was measured");
    const figures: string[] = [];
    for (const id of STEADY) {
      const alone = rate(aloneFrom, aloneTo, id);
      const alongside = rate(abuseFrom, abuseTo, id);
      figures.push(
        `${id} ${alone.toFixed(1)} -> ${alongside.toFixed(1)} ops/s (${(alongside / alone).toFixed(3)})`,
      );
      assert.ok(alongside >= THROUGHPUT_RATIO_MIN * alone, figures.join("; "));
    }
    const p99Between = (latencies: readonly { atMs: number; ms: number }[], from: Sample, to: Sample) => {
      const within = latencies.filter(({ atMs }) => atMs >= from.atMs && atMs <= to.atMs).map(({ ms }) => ms);
      return { p99: percentile(within, 99), requests: within.length };
    };
    const healthAlone = p99Between(health, aloneFrom, aloneTo);
    const healthAbused = p99Between(health, abuseFrom, abuseTo);
    const controlAbused = p99Between(controlHealth, abuseFrom, abuseTo);
    figures.push(
      `/health p99 ${healthAlone.p99.toFixed(1)} ms alone (${healthAlone.requests} requests), ${healthAbused.p99.toFixed(1)} ms alongside the abusers (${healthAbused.requests}), the control's ${controlAbused.p99.toFixed(1)} ms meanwhile`,
    );
    process.stdout.write(`# quota containment: ${figures.join("; ")}\n`);
    assert.ok(healthAbused.requests >= 20, figures.join("; "));
    // Under 50 ms; on a machine so loaded that an idle process (the control) or the node alone
    // answers slower than that, the abusers must not make the node slower than the noise of a
    // p99 of a few hundred requests allows.
    const loadedBound = HEALTH_P99_LOADED_RATIO_MAX * Math.max(healthAlone.p99, controlAbused.p99);
    assert.ok(healthAbused.p99 < Math.max(HEALTH_P99_MS_MAX, loadedBound), figures.join("; "));

    // Every abuser met its quota.
    const last = abuseTo;
    const hits = (id: string, quota: string) => byId(last, id).usage.quotaHits[quota] ?? 0;
    assert.ok(hits("spinner", "cpu_ms_per_run") >= 1, "the spinner was stopped at its CPU budget");
    assert.ok(hits("allocator", "memory_max_mb") >= 1, "the allocator was stopped at its memory cap");
    assert.ok(hits("op_flooder", "ops_per_sec") >= 1);
    const floodedSecs = (abuseTo.atMs - abuseFrom.atMs) / 1000;
    // Its bucket's burst (one second's worth), then its rate.
    assert.ok(byId(last, "op_flooder").usage.ops <= 50 * (1 + floodedSecs + 1));
    assert.ok(hits("writer", "bytes_written_per_sec") >= 1);
    assert.ok(byId(last, "writer").usage.bytesWritten <= 20_000 * (1 + floodedSecs + 1));
    assert.ok(hits("spawner", "processes_max") >= 1);
    const processes = (await node.api("GET", "/processes")).body as ProcessView[];
    assert.ok(processes.filter((view) => view.module === "spawner").length <= 20);
    const mailbox = processes.find((view) => view.module === "mailer" && view.label !== "mailer");
    assert.ok(
      mailbox !== undefined && mailbox.mailboxLength <= 100 && mailbox.droppedMessages > 0,
      JSON.stringify(processes.filter((view) => view.module === "mailer")),
    );
    for (const id of STEADY) assert.equal(byId(last, id).state !== "failed", true, `${id} runs on`);

    // The same usage in Prometheus and in /v1/node.
    const exposition = await (await fetch(`${observability}/metrics`)).text();
    const series = (name: string) =>
      Number(
        exposition
          .split("\n")
          .find((line) => line.startsWith(`${name} `))
          ?.split(" ")[1] ?? Number.NaN,
      );
    assert.ok(series('numax_module_quota_hits_total{module="spinner",quota="cpu_ms_per_run"}') >= 1);
    assert.ok(series('numax_module_quota_hits_total{module="writer",quota="bytes_written_per_sec"}') >= 1);
    assert.ok(series('numax_module_ops_total{module="steady_a"}') > 0);
    assert.ok(series('numax_module_bytes_written_total{module="writer"}') > 0);
    const nodeView = (await node.api("GET", "/node")).body as NodeView;
    assert.ok(nodeView.quotas.modules.steady_a!.ops >= byId(last, "steady_a").usage.ops);
    assert.deepEqual(byId(last, "steady_a").quotas, { ops_per_sec: 40 });
    assert.deepEqual(byId(last, "allocator").limits, { cpuMsPerRun: null, memoryMaxMb: 8 });

    // No data lost: every op a well-behaved module had acknowledged is in its counter after
    // the node stopped (it may hold a few more, made after the last sample).
    const acknowledged = await sample();
    // It stops on its own (exit code 1: the abusers' runs failed), not killed for hanging.
    const stopped = await stopNx(node.nx);
    assert.equal(stopped.signal, null, node.nx.stderr());
    for (const id of STEADY) {
      const value = Number(node.nx.stdout().match(new RegExp(`^${id}/${id} = (\\d+)$`, "m"))?.[1]);
      assert.ok(
        value >= byId(acknowledged, id).usage.ops,
        `${id}: ${value} >= ${byId(acknowledged, id).usage.ops}`,
      );
    }
  } finally {
    measuring = false;
    await healthLoop.catch(() => {});
    control.kill();
  }
});

test("a reactive module's callbacks wait for their ops quota too: shutdown's op waits for init's to be paid back", {
  timeout: 60_000,
}, async () => {
  // reactive_probe increments probe/inits in init and probe/shutdowns in shutdown: with one op a
  // second, the shutdown right after init waits about a second inside its callback, then runs.
  const policy = join(dir.path, "probe.policy.toml");
  writeFileSync(
    policy,
    '[capabilities]\ncrdt.gcounter = ["probe/*"]\nenv = ["NX_PROBE_*"]\n[quotas]\nops_per_sec = 1\n',
  );
  const node = await nodes.node({
    datastore: join(dir.path, "probe-data"),
    modules: [guestPath("reactive_probe")],
    args: ["--policy", policy, "--print-gcounter", "reactive_probe/probe/shutdowns"],
    env: { NX_POLICY_DEFAULT: "deny" },
  });
  await node.nx.waitFor(/^init$/m);
  const stopping = performance.now();
  const stopped = await stopNx(node.nx);
  assert.equal(stopped.code, 0, node.nx.stderr());
  assert.match(node.nx.stdout(), /^shutdown$/m);
  assert.match(node.nx.stdout(), /^reactive_probe\/probe\/shutdowns = 1$/m);
  assert.match(
    node.nx.stderr(),
    /module reactive_probe reached its quota ops_per_sec: 1 ops\/s; its calls wait/,
  );
  assert.ok(performance.now() - stopping >= 500, "the shutdown's op waited for its token");
});
