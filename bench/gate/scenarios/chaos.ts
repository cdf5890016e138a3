import { Cluster } from "../cluster.ts";
import { awaitCounters } from "../convergence.ts";
import type { Check, ScenarioOutcome, Target } from "../gate-report.ts";
import { guestModulePath } from "../guest-modules.ts";
import { type Incarnation, LoadRecorder } from "../load-recorder.ts";
import { collectProfiles } from "../node-launcher.ts";
import { measureLoopbackEcho } from "../reference/loopback-echo.ts";
import { ResourceSampler } from "../resource-sampler.ts";
import { sleepMs, waitUntil } from "../wait-until.ts";
import { COUNTER_KEY, counterGuestEnv, roundChecks, waitForLoadEnd } from "./cluster-load.ts";
import type { ScenarioContext } from "./scenario.ts";

/**
 * `chaos`: a cluster under GCounter load while, every --kill-every seconds, one node (in turn)
 * is killed with SIGKILL and started again on the same datastore and ports.
 *
 * Each node increments a GCounter of its own ("gate-counter-n<i>"); the cluster's counter is
 * their sum. A restarted guest resumes from its own counter's value as its node knows it
 * (NX_GATE_RESUME=1): since count and increments are the same ops, that value is exactly how
 * many of the node's increments survived the kill.
 *
 * Acknowledged increments. A guest reports its running count (`done`) in its interval lines. An
 * increment counts as acknowledged once a report covering it reached the runner at least
 * ACK_GRACE_MS before the kill: by then the node has handed its event loop back many times, and
 * each time committed and fsynced what the guest wrote (docs/storage.md: durable "at the latest
 * one group commit after it was made"). The increments of the last moments before a kill may be
 * in the transaction SIGKILL discards: never acknowledged, losing them is allowed, and the
 * report counts them.
 *
 * The gate passes when (1) every restarted guest resumes from at least the acknowledged count
 * (nothing acknowledged was lost on its own node), and (2) after the load every node holds, for
 * every node's counter, the count that node's guest ended with: the sum equals the expected
 * total everywhere (nothing durable lost anywhere, nothing counted twice).
 */

export const ACK_GRACE_MS = 250;
const PEER_WAIT_MS = 30_000;

interface KillRecord {
  readonly node: string;
  readonly atMs: number;
  readonly incarnation: Incarnation;
  /** `done` of the last report received before the kill. */
  readonly reportedDone: number;
  /** `done` of the last report received at least ACK_GRACE_MS before the kill. */
  readonly ackedDone: number;
}

function doneAt(incarnation: Incarnation, beforeMs: number): number | undefined {
  return incarnation.intervals.findLast((interval) => interval.atMs <= beforeMs)?.line.done;
}

export async function chaosScenario(context: ScenarioContext): Promise<ScenarioOutcome> {
  const { settings, signal, say, workDir, cleanup } = context;
  const rate = settings.rate as number;
  say(`reference: loopback TCP echo for ${settings.smoke ? 0.3 : 2} s`);
  const reference = await measureLoopbackEcho(settings.smoke ? 300 : 2000);

  const recorder = new LoadRecorder();
  const sampler = new ResourceSampler();
  cleanup.defer("stop the resource sampler", () => sampler.stop());
  const durationMs = settings.durationSecs * 1000;
  // The load ends at the same moment for every incarnation: a restarted guest runs what is left.
  let loadEndsAtMs = Number.POSITIVE_INFINITY;
  const counterKeys = Array.from({ length: settings.nodes }, (_, index) => `${COUNTER_KEY}-n${index}`);
  const cluster = await Cluster.start({
    size: settings.nodes,
    modulePath: guestModulePath("counter_load"),
    counterKeys,
    nxArgs: settings.nxArgs,
    tls: settings.tls,
    launch: { workDir, cleanup, recorder, sampler, cpuProf: settings.cpuProf },
    guestEnv: (index) =>
      counterGuestEnv({
        rate,
        durationMs: Number.isFinite(loadEndsAtMs) ? loadEndsAtMs - performance.now() : durationMs,
        minPeers: settings.nodes - 1,
        smoke: settings.smoke,
        counterKey: counterKeys[index],
        resume: true,
        intervalHistograms: true,
      }),
  });
  sampler.start();
  say(
    `chaos: ${settings.nodes} nodes at ${rate} ops/s each for ${settings.durationSecs} s, a kill every ${settings.killEverySecs} s`,
  );
  await waitUntil(
    "every guest to start its load",
    () => cluster.unexpectedExit() ?? cluster.nodes.every((node) => node.incarnation.start !== undefined),
    { timeoutMs: PEER_WAIT_MS + 10_000, signal },
  );
  const loadStartMs = recorder.loadStartMs()!;
  loadEndsAtMs = loadStartMs + durationMs;

  const events: { atMs: number; kind: string; node?: string; detail?: string }[] = [];
  const kills: KillRecord[] = [];
  const protocolErrors: string[] = [];
  const killEveryMs = settings.killEverySecs * 1000;
  // No kill in the last second: the restarted guest would have nothing left to run.
  for (let at = loadStartMs + killEveryMs; at < loadEndsAtMs - 1000; at += killEveryMs) {
    await sleepMs(at - performance.now(), signal);
    const failure = cluster.unexpectedExit();
    if (failure !== undefined) throw new Error(`before kill ${kills.length + 1}: ${failure}`);
    const victim = cluster.nodes[kills.length % cluster.nodes.length]!;
    const incarnation = victim.incarnation;
    await sampler.sample(victim.name);
    const killAtMs = performance.now();
    await victim.process.kill();
    protocolErrors.push(...victim.process.protocolErrors);
    const base = incarnation.start?.line.resumed ?? 0;
    kills.push({
      node: victim.name,
      atMs: killAtMs,
      incarnation,
      reportedDone: doneAt(incarnation, killAtMs) ?? base,
      ackedDone: doneAt(incarnation, killAtMs - ACK_GRACE_MS) ?? base,
    });
    events.push({ atMs: killAtMs, kind: "kill", node: victim.name });
    await cluster.restart(victim.index);
    events.push({ atMs: performance.now(), kind: "restart", node: victim.name });
    say(`chaos: killed and restarted ${victim.name} (${kills.length})`);
  }

  await waitForLoadEnd(
    cluster,
    "every guest to finish its load",
    PEER_WAIT_MS + durationMs * 10 + 30_000,
    signal,
  );
  const loadEndMs = recorder.loadEndMs()!;
  events.push({ atMs: loadEndMs, kind: "load_end" });
  const finalDone = cluster.nodes.map((node) => node.incarnation.summary!.line.done);
  const expected = finalDone.reduce((sum, done) => sum + done, 0);
  const matrix = await awaitCounters(
    () => cluster.readCounterMatrix(),
    (values) => values.every((row) => row.every((value, key) => value === finalDone[key])),
    { fromMs: loadEndMs, timeoutMs: settings.smoke ? 15_000 : 60_000, signal },
  );
  const convergence = {
    ...matrix,
    observed: matrix.observed.map((row) =>
      row.some((value) => value === undefined)
        ? undefined
        : row.reduce((sum: number, value) => sum + value!, 0),
    ),
  };
  if (convergence.atMs !== null) events.push({ atMs: convergence.atMs, kind: "converged" });
  const { propagation } = await cluster.readMetrics();
  // Each node's own ops as every node counts them (its entry in the version vectors).
  const views = await cluster.readSyncViews();
  const opsByOrigin = cluster.nodes.map((node, index) => {
    const id = views[index]?.nodeId;
    return {
      node: node.name,
      node_id: id ?? null,
      final_done: node.incarnation.summary!.line.done,
      ops_in_version_vectors: views.map((view) => (id === undefined ? null : (view?.versionVector[id] ?? 0))),
    };
  });
  await sampler.sampleAll();
  const printed = await cluster.stop();
  await sampler.stop();

  const killReports = kills.map((kill) => {
    // The next incarnation of the node that got as far as its start line says what survived.
    const next = recorder.incarnations.find(
      (other) =>
        other.node === kill.node && other.index > kill.incarnation.index && other.start !== undefined,
    );
    const resumed = next?.start?.line.resumed;
    return {
      node: kill.node,
      t_secs: Math.round((kill.atMs - loadStartMs) / 10) / 100,
      reported_done: kill.reportedDone,
      acknowledged_done: kill.ackedDone,
      resumed_from: resumed ?? null,
      acknowledged_lost: resumed === undefined ? null : Math.max(0, kill.ackedDone - resumed),
      unacknowledged_lost: resumed === undefined ? null : Math.max(0, kill.reportedDone - resumed),
    };
  });
  const lostAcked = killReports.reduce((sum, kill) => sum + (kill.acknowledged_lost ?? 0), 0);
  const unknown = killReports.filter((kill) => kill.resumed_from === null).length;
  const round = {
    convergence,
    expected,
    printed,
    exits: cluster.nodes.map((node) => node.process.describeExit()),
    exitsOk: cluster.nodes.every((node) => node.process.exit?.code === 0),
  };
  const checks: Check[] = [
    ...roundChecks(round),
    {
      name: "no_acknowledged_ops_lost",
      ok: lostAcked === 0 && unknown === 0,
      detail:
        unknown > 0
          ? `${unknown} restarted guest(s) never reported what they resumed from`
          : `${lostAcked} acknowledged increments lost over ${kills.length} kills`,
    },
    {
      // Increments made in one run of the guest share one op (the replica amends it), so an
      // origin has at most one op per increment. Every node must hold the same count of each
      // origin's ops (each op delivered everywhere), and never more than its increments (an op
      // the guest never made).
      name: "version_vectors_agree",
      ok: opsByOrigin.every(
        (origin) =>
          origin.ops_in_version_vectors.every((ops) => ops === origin.ops_in_version_vectors[0]) &&
          (origin.ops_in_version_vectors[0] ?? 0) > 0 &&
          (origin.ops_in_version_vectors[0] ?? 0) <= origin.final_done,
      ),
      detail: opsByOrigin
        .map(
          (origin) =>
            `${origin.node}: ${origin.final_done} increments, [${origin.ops_in_version_vectors.join(", ")}] ops in the version vectors`,
        )
        .join("; "),
    },
    {
      name: "nodes_were_killed",
      ok: kills.length > 0,
      detail: `${kills.length} kills (SIGKILL) and restarts`,
    },
  ];
  const targets: Target[] = [
    {
      name: "chaos_5_minutes",
      required: "300 s of load with a kill every 20 s; converged; no acknowledged op lost",
      measured: `${settings.durationSecs} s with a kill every ${settings.killEverySecs} s; ${kills.length} kills; ${
        convergence.converged ? "converged" : "NOT converged"
      }; ${lostAcked} acknowledged lost`,
      met:
        settings.durationSecs >= 300 &&
        settings.killEverySecs <= 20 &&
        convergence.converged &&
        lostAcked === 0 &&
        unknown === 0,
    },
  ];
  return {
    nodes: settings.nodes,
    durationSecs: settings.durationSecs,
    rateMode: "fixed",
    targetOpsSec: rate,
    recorder,
    expectedCounter: expected,
    observedCounters: convergence.observed.map((value) => value ?? -1),
    converged: convergence.converged,
    convergenceWaitSecs: convergence.waitSecs,
    restartsTotal: kills.length,
    resources: sampler.summary(),
    samples: sampler.samples,
    reference,
    checks,
    targets,
    events,
    protocolErrors: [...protocolErrors, ...cluster.nodes.flatMap((node) => node.process.protocolErrors)],
    details: {
      kill_every_secs: settings.killEverySecs,
      ack_grace_ms: ACK_GRACE_MS,
      kills: killReports,
      counter_keys: counterKeys,
      counters_by_node: matrix.observed,
      ops_by_origin: opsByOrigin,
      printed_counters: printed,
      propagation_latency: propagation ?? null,
      ...(settings.cpuProf
        ? {
            cpu_profiles: collectProfiles(
              workDir,
              cluster.nodes.map((node) => node.name),
            ),
          }
        : {}),
    },
  };
}
