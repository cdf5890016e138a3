import { Cluster } from "../cluster.ts";
import { allEqual, awaitCounters } from "../convergence.ts";
import { freePorts } from "../free-port.ts";
import type { Check, ScenarioOutcome, Target } from "../gate-report.ts";
import { guestModulePath } from "../guest-modules.ts";
import { LoadRecorder } from "../load-recorder.ts";
import { LoopbackProxy } from "../loopback-proxy.ts";
import { collectProfiles } from "../node-launcher.ts";
import { measureLoopbackEcho } from "../reference/loopback-echo.ts";
import { ResourceSampler } from "../resource-sampler.ts";
import { sleepMs, waitUntil } from "../wait-until.ts";
import { COUNTER_KEY, counterGuestEnv, roundChecks, waitForLoadEnd } from "./cluster-load.ts";
import type { ScenarioContext } from "./scenario.ts";

/**
 * `partition`: a cluster under GCounter load where every peer connection goes through a
 * LoopbackProxy (one per direction of every pair), so the runner can cut one node off.
 *
 *   load starts ──30 %── cut the last node off ── load ends ── hold ── heal ── converged?
 *
 * While cut, the majority keeps syncing among itself and the cut-off node keeps counting alone;
 * before healing the gate checks that the cut was real (the cut-off node's counter differs from
 * the majority's, which agree). After healing it times how long until every node holds the
 * total: the issue asks for at most 2 s.
 */

const PEER_WAIT_MS = 30_000;
const CUT_AT_SHARE = 0.3;
const HEAL_BOUND_SECS = 2;

export async function partitionScenario(context: ScenarioContext): Promise<ScenarioOutcome> {
  const { settings, signal, say, workDir, cleanup } = context;
  const rate = settings.rate as number;
  const size = settings.nodes;
  const victim = size - 1;
  say(`reference: loopback TCP echo for ${settings.smoke ? 0.3 : 2} s`);
  const reference = await measureLoopbackEcho(settings.smoke ? 300 : 2000);

  const listenPorts = await freePorts(size);
  // proxies[from][to]: what node `from` dials to reach node `to`.
  const proxies: LoopbackProxy[][] = [];
  for (let from = 0; from < size; from++) {
    const row: LoopbackProxy[] = [];
    for (let to = 0; to < size; to++) {
      const proxy = from === to ? undefined : await LoopbackProxy.start({ targetPort: listenPorts[to]! });
      if (proxy !== undefined) cleanup.defer(`close proxy n${from}->n${to}`, () => proxy.close());
      row.push(proxy as LoopbackProxy);
    }
    proxies.push(row);
  }
  const victimLinks = proxies.flatMap((row, from) =>
    row.filter((proxy, to) => proxy !== undefined && (from === victim || to === victim)),
  );

  const recorder = new LoadRecorder();
  const sampler = new ResourceSampler();
  cleanup.defer("stop the resource sampler", () => sampler.stop());
  const durationMs = settings.durationSecs * 1000;
  const cluster = await Cluster.start({
    size,
    modulePath: guestModulePath("counter_load"),
    counterKeys: [COUNTER_KEY],
    nxArgs: settings.nxArgs,
    tls: settings.tls,
    launch: { workDir, cleanup, recorder, sampler, cpuProf: settings.cpuProf },
    listenPorts,
    peerPort: (from, to) => proxies[from]![to]!.port,
    guestEnv: () => counterGuestEnv({ rate, durationMs, minPeers: size - 1, smoke: settings.smoke }),
  });
  sampler.start();
  say(
    `partition: ${size} nodes at ${rate} ops/s each for ${settings.durationSecs} s; n${victim} cut off at ${CUT_AT_SHARE * 100} %`,
  );
  await waitUntil(
    "every guest to start its load",
    () => cluster.unexpectedExit() ?? cluster.nodes.every((node) => node.incarnation.start !== undefined),
    { timeoutMs: PEER_WAIT_MS + 10_000, signal },
  );
  const loadStartMs = recorder.loadStartMs()!;
  const events: { atMs: number; kind: string; node?: string; detail?: string }[] = [];

  await sleepMs(loadStartMs + CUT_AT_SHARE * durationMs - performance.now(), signal);
  for (const proxy of victimLinks) proxy.cut();
  events.push({ atMs: performance.now(), kind: "cut", node: `n${victim}` });
  say(`partition: n${victim} cut off`);

  await waitForLoadEnd(
    cluster,
    "every guest to finish its load",
    PEER_WAIT_MS + durationMs * 10 + 30_000,
    signal,
  );
  const loadEndMs = recorder.loadEndMs()!;
  events.push({ atMs: loadEndMs, kind: "load_end" });
  const expected = cluster.nodes.reduce((sum, node) => sum + node.incarnation.summary!.line.done, 0);

  // Before healing: the majority agrees among itself, and the cut-off node does not have its count.
  const majority = await awaitCounters(
    () => cluster.readCounters(),
    (values) => {
      const others = values.filter((_, index) => index !== victim);
      return others.every((value) => value !== undefined && value === others[0]);
    },
    { fromMs: loadEndMs, timeoutMs: settings.smoke ? 5_000 : 10_000, signal },
  );
  const majorityValue = majority.observed[0];
  const victimValue = majority.observed[victim];
  const isolated =
    majority.converged &&
    victimValue !== undefined &&
    majorityValue !== undefined &&
    victimValue !== majorityValue;

  for (const proxy of victimLinks) proxy.heal();
  const healMs = performance.now();
  events.push({ atMs: healMs, kind: "heal", node: `n${victim}` });
  say("partition: healed");
  const convergence = await awaitCounters(() => cluster.readCounters(), allEqual(expected), {
    fromMs: healMs,
    timeoutMs: settings.smoke ? 20_000 : 60_000,
    signal,
  });
  if (convergence.atMs !== null) events.push({ atMs: convergence.atMs, kind: "converged" });
  const { propagation } = await cluster.readMetrics();
  await sampler.sampleAll();
  const printed = await cluster.stop();
  await sampler.stop();

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
      name: "partition_effective",
      ok: isolated,
      detail: `before healing: majority [${majority.observed.filter((_, index) => index !== victim).join(", ")}], n${victim} ${victimValue}, total ${expected}`,
    },
  ];
  const targets: Target[] = [
    {
      name: "converged_within_2s_of_heal",
      required: `<= ${HEAL_BOUND_SECS} s after healing`,
      measured: convergence.converged ? `${convergence.waitSecs?.toFixed(3)} s` : "did not converge",
      met: convergence.converged && convergence.waitSecs! <= HEAL_BOUND_SECS,
    },
  ];
  return {
    nodes: size,
    durationSecs: settings.durationSecs,
    rateMode: "fixed",
    targetOpsSec: rate,
    recorder,
    expectedCounter: expected,
    observedCounters: convergence.observed.map((value) => value ?? -1),
    converged: convergence.converged,
    convergenceWaitSecs: convergence.waitSecs,
    restartsTotal: 0,
    resources: sampler.summary(),
    samples: sampler.samples,
    reference,
    checks,
    targets,
    events,
    protocolErrors: cluster.nodes.flatMap((node) => node.process.protocolErrors),
    details: {
      counter_key: COUNTER_KEY,
      cut_off_node: `n${victim}`,
      cut_at_secs: Math.round(CUT_AT_SHARE * settings.durationSecs * 100) / 100,
      partitioned_secs: Math.round((healMs - events[0]!.atMs) / 10) / 100,
      before_heal: { majority: majorityValue ?? null, cut_off: victimValue ?? null, total: expected },
      heal_to_converged_secs: convergence.waitSecs,
      connections_refused_while_cut: victimLinks.reduce((sum, proxy) => sum + proxy.refusedTotal, 0),
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
