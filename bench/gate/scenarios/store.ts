import { join } from "node:path";
import { silentLogger } from "../../../src/observe/logger.ts";
import { openLmdbBackend } from "../../../src/store/lmdb-backend.ts";
import type { Check, Target } from "../gate-report.ts";
import { guestModulePath } from "../guest-modules.ts";
import { LoadRecorder } from "../load-recorder.ts";
import { collectProfiles, launchNode } from "../node-launcher.ts";
import { measureLmdbPut } from "../reference/lmdb-put.ts";
import { ResourceSampler } from "../resource-sampler.ts";
import { waitUntil, withinMs } from "../wait-until.ts";
import type { Scenario } from "./scenario.ts";

/**
 * `store`: one node, one guest writing 256-byte values over 1 000 000 keys at the target rate,
 * open-loop, for the duration. After the guest's load the node exits (nx run without sync ends
 * when its guest does, flushing the store); the runner then opens the datastore and reads back
 * the count of acknowledged writes the guest stored last, which must equal what it reported.
 * Reference: raw lmdb-js writing the same rows on the same disk, just before.
 */

const KEYS = 1_000_000;
const VALUE_BYTES = 256;
const NODE = "n0";
/** Writes per commit of the reference: about what the node commits at 100k ops/s (see docs/gates.md). */
const REFERENCE_WRITES_PER_COMMIT = 400;
/** How long the node may take to flush and exit after its guest's load. */
const EXIT_TIMEOUT_MS = 60_000;
const OPS_DONE_KEY = new TextEncoder().encode("gate/ops_done");

export const TARGET_OPS_SEC = 100_000;
export const TARGET_SECS = 60;
export const TARGET_P99_MS = 5;

export const storeScenario: Scenario = async (context) => {
  const { settings, workDir, cleanup, signal, say } = context;
  const rate = settings.rate as number;
  say(`reference: raw lmdb puts on this disk for ${settings.smoke ? 0.5 : 3} s`);
  const reference = await measureLmdbPut({
    directory: workDir,
    durationMs: settings.smoke ? 500 : 3000,
    keys: KEYS,
    valueBytes: VALUE_BYTES,
    writesPerCommit: REFERENCE_WRITES_PER_COMMIT,
  });
  say(`reference: ${reference.ops_sec} puts/s`);

  const recorder = new LoadRecorder();
  const sampler = new ResourceSampler();
  const datastore = join(workDir, NODE);
  const events: { atMs: number; kind: string; node?: string; detail?: string }[] = [];
  say(`store: ${rate} writes/s for ${settings.durationSecs} s`);
  const { process: node, incarnation } = await launchNode(
    { workDir, cleanup, recorder, sampler, cpuProf: settings.cpuProf },
    {
      name: NODE,
      modulePath: guestModulePath("store_load"),
      args: ["--datastore-path", datastore, "--log-level", "warn", ...settings.nxArgs],
      env: {
        NX_GATE_RATE: String(rate),
        NX_GATE_DURATION_MS: String(Math.round(settings.durationSecs * 1000)),
        NX_GATE_KEYS: String(KEYS),
        NX_GATE_VALUE_BYTES: String(VALUE_BYTES),
        NX_GATE_REPORT_MS: settings.smoke ? "250" : "500",
      },
    },
  );
  sampler.start();
  // A guest that falls behind runs on past its schedule (open loop): allow it ten times as long.
  await waitUntil(
    "the store guest to finish its load",
    () => incarnation.summary !== undefined || (node.running ? false : node.describeExit()),
    { timeoutMs: Math.max(30_000, settings.durationSecs * 10_000), signal },
  );
  events.push({ atMs: incarnation.summary!.atMs, kind: "load_end", node: NODE });
  const exit = await withinMs(node.exited, EXIT_TIMEOUT_MS);
  await sampler.stop();
  if (exit === undefined) await node.kill();
  const exitedAtMs = performance.now();
  events.push({ atMs: exitedAtMs, kind: "exit", node: NODE, detail: node.describeExit() });

  const expected = incarnation.summary!.line.done;
  const stored = await readOpsDone(datastore);
  const flushSecs = (exitedAtMs - incarnation.summary!.atMs) / 1000;
  const latencyP99 = recorder.histogram().getValueAtPercentile(99) / 1000;
  const opsSec = incarnation.summary!.line.ops / Math.max(incarnation.summary!.line.elapsed_us / 1e6, 1e-6);

  const checks: Check[] = [
    {
      name: "node_exited_ok",
      ok: exit !== undefined && exit.code === 0,
      detail: node.describeExit(),
    },
    {
      name: "acknowledged_writes_on_disk",
      ok: stored === expected,
      detail: `the guest acknowledged ${expected} writes; the datastore says ${stored ?? "nothing"} after exit`,
    },
  ];
  const targets: Target[] = [
    {
      name: "throughput",
      required: `>= ${TARGET_OPS_SEC} ops/s for ${TARGET_SECS} s`,
      measured: `${Math.round(opsSec)} ops/s for ${settings.durationSecs} s`,
      met: opsSec >= TARGET_OPS_SEC && settings.durationSecs >= TARGET_SECS,
    },
    {
      name: "p99_latency",
      required: `< ${TARGET_P99_MS} ms`,
      measured: `${latencyP99} ms`,
      met: latencyP99 < TARGET_P99_MS,
    },
  ];
  return {
    nodes: 1,
    durationSecs: settings.durationSecs,
    rateMode: "fixed",
    targetOpsSec: rate,
    recorder,
    expectedCounter: expected,
    observedCounters: stored === undefined ? [] : [stored],
    converged: stored === expected,
    convergenceWaitSecs: flushSecs,
    restartsTotal: 0,
    resources: sampler.summary(),
    samples: sampler.samples,
    reference,
    checks,
    targets,
    events,
    protocolErrors: node.protocolErrors,
    details: {
      keys: KEYS,
      value_bytes: VALUE_BYTES,
      flush_and_exit_secs: Math.round(flushSecs * 1000) / 1000,
      ...(settings.cpuProf ? { cpu_profiles: collectProfiles(workDir, [NODE]) } : {}),
    },
  };
};

/** The guest's last write, read from the datastore once the node is gone. */
async function readOpsDone(datastore: string): Promise<number | undefined> {
  const store = await openLmdbBackend({ path: datastore, logger: silentLogger });
  try {
    const value = store.get(OPS_DONE_KEY);
    return value === undefined ? undefined : Number(new TextDecoder().decode(value));
  } finally {
    await store.close();
  }
}
