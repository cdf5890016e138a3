/**
 * Reactive modules on one real node (`nx run` child processes): the callbacks of
 * docs/design/event-model.md with the AssemblyScript probe and its C twin, the guardrails (a
 * callback that traps, spins or allocates without bound is restarted with `init` again, given up
 * past the restart intensity, while another module goes on) and a durable `shutdown`.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { compileWat } from "../abi/harness.ts";
import {
  getJson,
  guestPath,
  type NxProcess,
  pollUntil,
  startNx,
  stopNx,
  tempDir,
} from "../helpers/nx-process.ts";

const PROBES = ["reactive_probe", "reactive_probe_c"] as const;
const running = new Set<NxProcess>();
const dirs: { remove(): void }[] = [];
after(async () => {
  await Promise.all([...running].map((nx) => stopNx(nx, 3000)));
  for (const dir of dirs) dir.remove();
});

function node(args: readonly string[], env: Record<string, string> = {}): NxProcess {
  const nx = startNx(args, env);
  running.add(nx);
  return nx;
}

function scratch(): string {
  const dir = tempDir("nx-reactive-");
  dirs.push(dir);
  return dir.path;
}

function lines(nx: NxProcess): string[] {
  return nx
    .stdout()
    .split("\n")
    .filter((line) => line !== "");
}

function count(nx: NxProcess, pattern: RegExp): number {
  return (nx.stdout().match(new RegExp(pattern, "gm")) ?? []).length;
}

/** A second reactive module that only ticks, printing `alive <n>`: the one that must go on. */
async function tickerModule(dir: string): Promise<string> {
  const bytes = await compileWat(`(module
    (import "nx" "tick_every" (func $tick_every (param i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 100) "alive\\n")
    (func (export "init") (drop (call $tick_every (i32.const 50))))
    (func (export "on_tick")
      (i32.store (i32.const 0) (i32.const 100))
      (i32.store (i32.const 4) (i32.const 6))
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`);
  const path = join(dir, "ticker.wasm");
  writeFileSync(path, bytes);
  return path;
}

for (const probe of PROBES) {
  describe(`${probe}: one node`, () => {
    test("init, ticks, local messages in order, then shutdown on SIGTERM (exit 0)", async () => {
      const nx = node(["run", guestPath(probe), "--datastore-path", join(scratch(), "data")], {
        NX_PROBE_TICK_MS: "50",
        NX_PROBE_SUBSCRIBE: "probe/*",
        NX_PROBE_PUBLISH_TOPIC: "probe/numbers",
        NX_PROBE_PUBLISH_COUNT: "3",
      });
      await nx.waitFor(/(message probe\/numbers 3 -\n[\s\S]*){2}/);
      const { code } = await stopNx(nx);
      running.delete(nx);
      assert.equal(code, 0, nx.stderr());
      const out = lines(nx);
      assert.equal(out[0], "init");
      assert.equal(out.at(-1), "shutdown");
      assert.equal(count(nx, /^init$/), 1);
      // Every tick publishes 1, 2, 3; the module receives them after the tick, in order.
      const firstTick = out.indexOf("tick");
      assert.deepEqual(out.slice(firstTick, firstTick + 4), [
        "tick",
        "message probe/numbers 1 -",
        "message probe/numbers 2 -",
        "message probe/numbers 3 -",
      ]);
    });
  });
}

for (const how of ["trap", "loop", "alloc"] as const) {
  test(`a callback that fails by ${how} is restarted with init again, given up past the intensity; the other module goes on`, async () => {
    const dir = scratch();
    const ticker = await tickerModule(dir);
    const nx = node(
      [
        "run",
        guestPath("reactive_probe"),
        ticker,
        "--datastore-path",
        join(dir, "data"),
        "--cpu-ms-per-run",
        "100",
        "--memory-max-mb",
        "16",
      ],
      { NX_PROBE_TICK_MS: "20", NX_PROBE_FAIL_IN: "on_tick", NX_PROBE_FAIL_HOW: how },
    );
    await nx.waitFor(/given up after more than 5 restarts/, 60_000);
    const alive = count(nx, /^\[ticker\] alive$/);
    // The given-up module is not restarted again, and the ticker still ticks after it.
    await nx.waitFor(new RegExp(`(\\[ticker\\] alive\\n[\\s\\S]*){${alive + 3}}`), 10_000);
    assert.equal(
      count(nx, /^\[reactive_probe\] init$/),
      6,
      "the first start and 5 restarts, each calling init",
    );
    assert.match(
      nx.stderr(),
      new RegExp(
        `its supervisor restarts it .*kind=${how === "loop" ? "cpu_budget" : how === "alloc" ? "memory_cap" : "unreachable"}`,
      ),
    );
    const { code } = await stopNx(nx);
    running.delete(nx);
    assert.equal(code, 1, "a module given up fails the run");
  });
}

test('restart = "temporary": a callback that traps ends the module at once, not restarted; the other module goes on', async () => {
  const dir = scratch();
  const ticker = await tickerModule(dir);
  writeFileSync(join(dir, "numax.toml"), '[modules.reactive_probe]\nrestart = "temporary"\n');
  const nx = node(
    [
      "run",
      guestPath("reactive_probe"),
      ticker,
      "--datastore-path",
      join(dir, "data"),
      "--config",
      join(dir, "numax.toml"),
    ],
    { NX_PROBE_TICK_MS: "20", NX_PROBE_FAIL_IN: "on_tick", NX_PROBE_FAIL_HOW: "trap" },
  );
  await nx.waitFor(/reactive_probe\.wasm: guest trapped/, 30_000);
  const alive = count(nx, /^\[ticker\] alive$/);
  await nx.waitFor(new RegExp(`(\\[ticker\\] alive\\n[\\s\\S]*){${alive + 3}}`), 10_000);
  assert.equal(count(nx, /^\[reactive_probe\] init$/), 1, "never started again");
  assert.doesNotMatch(nx.stderr(), /its supervisor restarts it/);
  const { code } = await stopNx(nx);
  running.delete(nx);
  assert.equal(code, 1, "the failed module fails the run");
});

test("a module whose queue never empties (it publishes to itself) leaves the node its timers, other modules and signals", async () => {
  const dir = scratch();
  const ticker = await tickerModule(dir);
  const flood = join(dir, "flood.wasm");
  // Every message publishes the next one to itself: its queue always holds one event.
  writeFileSync(
    flood,
    await compileWat(`(module
      (import "nx" "msg_subscribe" (func $subscribe (param i32 i32) (result i32)))
      (import "nx" "msg_publish" (func $publish (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 0) "flood")
      (func $next (drop (call $publish (i32.const 0) (i32.const 5) (i32.const 0) (i32.const 0))))
      (func (export "init") (drop (call $subscribe (i32.const 0) (i32.const 5))) (call $next))
      (func (export "on_message") (param i32 i32) (call $next)))`),
  );
  const nx = node(["run", flood, ticker, "--datastore-path", join(dir, "data")]);
  await nx.waitFor(/(\[ticker\] alive\n[\s\S]*){3}/, 20_000);
  const stopStarted = performance.now();
  const { code } = await stopNx(nx);
  running.delete(nx);
  assert.equal(code, 0, nx.stderr());
  assert.ok(performance.now() - stopStarted < 5_000, "SIGTERM is handled while the flood goes on");
});

test("a reactive module's shutdown writes are durable: the next start sees them", async () => {
  const dir = scratch();
  const args = [
    "run",
    guestPath("reactive_probe"),
    "--datastore-path",
    join(dir, "data"),
    "--listen",
    "127.0.0.1:0",
    "--tls-insecure",
  ];
  const first = node(args);
  await first.waitFor(/^init$/m);
  assert.equal((await stopNx(first)).code, 0, first.stderr());
  running.delete(first);
  assert.match(first.stdout(), /shutdown\n$/);
  // A second run over the same datastore prints the counters once its own init and shutdown
  // wrote too: 2 means the first run's shutdown write survived its exit.
  const reader = node([
    ...args,
    "--settle-for",
    "10ms",
    "--print-gcounter",
    "probe/shutdowns",
    "--print-gcounter",
    "probe/inits",
  ]);
  const { code } = await reader.exited;
  running.delete(reader);
  assert.equal(code, 0, reader.stderr());
  assert.match(reader.stdout(), /^probe\/shutdowns = 2$/m);
  assert.match(reader.stdout(), /^probe\/inits = 2$/m);
});

test("a full queue drops the oldest events and counts them; /v1/node lists the module and its state", async () => {
  const dir = scratch();
  // init subscribes to its own topic and publishes 3000 messages before any can be delivered:
  // the queue keeps the newest 1024.
  const bytes = await compileWat(`(module
    (import "nx" "msg_subscribe" (func $sub (param i32 i32) (result i32)))
    (import "nx" "msg_publish" (func $pub (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "flood")
    (global $seen (mut i32) (i32.const 0))
    (func (export "init") (local $i i32)
      (drop (call $sub (i32.const 0) (i32.const 5)))
      (loop $more
        (drop (call $pub (i32.const 0) (i32.const 5) (i32.const 0) (i32.const 0)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $more (i32.lt_u (local.get $i) (i32.const 3000)))))
    (func (export "on_message") (param i32 i32)
      (global.set $seen (i32.add (global.get $seen) (i32.const 1)))))`);
  const path = join(dir, "flood.wasm");
  writeFileSync(path, bytes);
  const nx = node([
    "run",
    path,
    "--datastore-path",
    join(dir, "data"),
    "--observability-listen",
    "127.0.0.1:0",
    "--observability-expose-data",
  ]);
  const url = (await nx.waitFor(/observability: listening url=(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
  const metric = async (series: string): Promise<number> => {
    const text = await (await fetch(`${url}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith(series));
    return line === undefined ? 0 : Number(line.split(" ").at(-1));
  };
  const delivered = 'numax_module_events_total{module="flood",kind="message"}';
  assert.equal(
    await pollUntil(
      () => metric(delivered),
      (n) => n >= 1024,
      20_000,
    ),
    1024,
  );
  assert.equal(await metric('numax_module_events_dropped_total{module="flood",kind="message"}'), 3000 - 1024);
  assert.ok(
    (await metric('numax_module_callback_seconds_count{module="flood",callback="on_message"}')) >= 1024,
  );
  const body = (await (await fetch(`${url}/v1/node`)).json()) as { modules: unknown[] };
  assert.deepEqual(body.modules, [{ id: "flood", reactive: true, state: "running", queuedEvents: 0 }]);
  assert.equal((await stopNx(nx)).code, 0, nx.stderr());
  running.delete(nx);
});

test("/v1/node: a one-shot module that ended is listed as ended while the node serves", async () => {
  const nx = node([
    "run",
    guestPath("proc_noop"),
    "--datastore-path",
    join(scratch(), "data"),
    "--listen",
    "127.0.0.1:0",
    "--tls-insecure",
    "--observability-listen",
    "127.0.0.1:0",
    "--observability-expose-data",
  ]);
  const url = (await nx.waitFor(/observability: listening url=(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
  const body = await pollUntil(
    () => getJson(`${url}/v1/node`) as Promise<{ modules: { state: string }[] }>,
    (answer) => answer.modules[0]?.state !== "running",
    20_000,
  );
  assert.deepEqual(body.modules, [{ id: "proc_noop", reactive: false, state: "ended", queuedEvents: 0 }]);
  assert.equal((await stopNx(nx)).code, 0, nx.stderr());
  running.delete(nx);
});

test("a module whose shutdown traps is not started again while the node stops", async () => {
  const nx = node(["run", guestPath("reactive_probe"), "--datastore-path", join(scratch(), "data")], {
    NX_PROBE_FAIL_IN: "shutdown",
  });
  await nx.waitFor(/^init$/m);
  const { code } = await stopNx(nx);
  running.delete(nx);
  assert.equal(code, 1, "its failed shutdown fails the run");
  // Before: the supervisor restarted it, so init ran again during the shutdown.
  assert.equal(count(nx, /^init$/), 1, nx.stdout());
  assert.equal(count(nx, /^shutdown$/), 1);
});

test("a module given up gets no more events: its ticks stop instead of being dropped forever", async () => {
  const dir = scratch();
  const nx = node(
    [
      "run",
      guestPath("reactive_probe"),
      await tickerModule(dir),
      "--datastore-path",
      join(dir, "data"),
      "--observability-listen",
      "127.0.0.1:0",
    ],
    { NX_PROBE_TICK_MS: "10", NX_PROBE_FAIL_IN: "on_tick" },
  );
  const url = (await nx.waitFor(/observability: listening url=(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
  await nx.waitFor(/given up after more than 5 restarts/, 60_000);
  const dropped = async (): Promise<string> => {
    const text = await (await fetch(`${url}/metrics`)).text();
    return (
      text
        .split("\n")
        .find((line) => line.startsWith('numax_module_events_dropped_total{module="reactive_probe"')) ??
      "none"
    );
  };
  const before = await dropped();
  // The ticker goes on meanwhile: 10 of its ticks are time enough for the probe's 10 ms timer.
  const alive = count(nx, /^\[ticker\] alive$/);
  await nx.waitFor(new RegExp(`(\\[ticker\\] alive\\n[\\s\\S]*){${alive + 10}}`), 10_000);
  assert.equal(await dropped(), before);
  assert.equal((await stopNx(nx)).code, 1);
  running.delete(nx);
});
