import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { advanceSettled } from "../../clock/settled-advance.ts";
import { createVirtualClock } from "../../clock/virtual-clock.ts";
import type { NodeId } from "../../identity/node-id.ts";
import { createMemoryNetwork } from "../../net/memory-transport.ts";
import { createSeededRandom } from "../seeded-random.ts";
import { SimulatedNode } from "./simulated-node.ts";
import { DEFAULT_NODE_TUNING, WHOLE_NODE_SCENARIOS } from "./whole-node-scenarios.ts";
import {
  runWholeNodeSimulation,
  SIMULATION_EPOCH_MS,
  type WholeNodeResult,
} from "./whole-node-simulation.ts";

const SEEDS = (process.env.NX_SIM_SEEDS ?? "1,2").split(",").map(Number);

function assertConverged(result: WholeNodeResult): void {
  const replay = `replay with NX_SIM_SEEDS=${result.seed} or npm run sim -- ${result.name} --seed ${result.seed}`;
  assert.ok(
    result.converged,
    `${result.name} seed ${result.seed} did not converge (${result.distinctDigests} states; ${replay})`,
  );
  assert.equal(result.lostOps, 0, `${result.name} seed ${result.seed} lost ops (${replay})`);
}

describe("whole-node simulation: peer management, framed connections, discovery under one seed", () => {
  for (const seed of SEEDS) {
    test(`seed ${seed}: 8 nodes, 10 % loss, a 10 s partition into halves: every op everywhere after healing`, async () => {
      const result = await runWholeNodeSimulation(WHOLE_NODE_SCENARIOS["partition-50"](seed, 8, 10_000));
      assertConverged(result);
      assert.ok(result.mutations > 30, `the workload ran (${result.mutations} changes)`);
      assert.ok(
        result.frames.lost > 0 && result.frames.duplicated > 0,
        "the network lost and duplicated frames",
      );
      assert.ok(result.suspicions > 0, "SWIM suspected the nodes across the partition");
      assert.equal(result.falseDeaths, 0, "no live member declared dead by a node that could reach it");
    });

    test(`seed ${seed}: 16 nodes under a bound of 5 connections, 10 % loss, a 10 s partition: no node above 5, every op everywhere`, async () => {
      const scenario = WHOLE_NODE_SCENARIOS["partition-50"](seed, 16, 10_000);
      const result = await runWholeNodeSimulation({
        ...scenario,
        tuning: { ...scenario.tuning, maxConnections: 5 },
      });
      assertConverged(result);
      assert.ok(result.peakConnections <= 5, `a node held ${result.peakConnections} connections`);
      assert.ok(result.suspicions > 0, "SWIM suspected the nodes across the partition");
    });

    test(`seed ${seed}: 16 nodes, more than max_peers (10), under a bound of 5, through a partition: members that never dialled each other still connect`, async () => {
      // Every discovered member took one of the max_peers slots kept for configured peers: a
      // node that knew of 10 refused every member it had not dialled itself, and a member that
      // joined late had nowhere to go (the 100-node cluster's nodes without a connection).
      const scenario = WHOLE_NODE_SCENARIOS["partition-50"](seed, 16, 10_000);
      const result = await runWholeNodeSimulation({
        ...scenario,
        tuning: { ...scenario.tuning, maxPeers: 10, maxConnections: 5 },
      });
      assertConverged(result);
      assert.ok(result.peakConnections <= 5, `a node held ${result.peakConnections} connections`);
    });

    test(`seed ${seed}: churn among 8 nodes under a bound of 5: a node joining a full mesh of 6 is let in at once`, async () => {
      // Six nodes fit in the bound: each dials the five others and is full. The joiner, refused
      // by all, was known to none of them (it held no connection to be a member by), so none
      // made room until a rotation, 30-90 s later.
      const scenario = WHOLE_NODE_SCENARIOS.churn(seed, 8);
      const result = await runWholeNodeSimulation({
        ...scenario,
        tuning: { ...scenario.tuning, maxConnections: 5 },
      });
      assertConverged(result);
      assert.ok(
        result.convergenceAfterHealMs! <= 5_000,
        `converged ${result.convergenceAfterHealMs} ms after the last join, not within the joiner's redial backoff`,
      );
    });

    test(`seed ${seed}: churn among 16 nodes under the default bound of 12: joins and leaves lose no op`, async () => {
      const result = await runWholeNodeSimulation(WHOLE_NODE_SCENARIOS.churn(seed, 16));
      assertConverged(result);
      assert.ok(result.peakConnections <= 12, `a node held ${result.peakConnections} connections`);
    });

    test(`seed ${seed}: split brain (one-way first) with reordering and duplicates merges with no op lost`, async () => {
      assertConverged(await runWholeNodeSimulation(WHOLE_NODE_SCENARIOS["split-brain"](seed)));
    });

    test(`seed ${seed}: every node restarted in turn on its own store`, async () => {
      const result = await runWholeNodeSimulation(WHOLE_NODE_SCENARIOS["rolling-restart"](seed));
      assertConverged(result);
      assert.equal(result.falseSuspicions, 0, "no dial of a running, reachable node failed");
    });

    test(`seed ${seed}: churn: nodes join through bootstrap and leave while the others write`, async () => {
      assertConverged(await runWholeNodeSimulation(WHOLE_NODE_SCENARIOS.churn(seed)));
    });
  }

  test("a write storm over slow, lossy links: queues stay within their bound, ops are shed and repaired, send windows shrink, every op arrives; a fixed window converges later", async () => {
    const adaptive = await runWholeNodeSimulation(WHOLE_NODE_SCENARIOS.storm(1, 4));
    assertConverged(adaptive);
    const { sendPath } = adaptive;
    assert.ok(sendPath.longestQueue <= 200, `a queue held ${sendPath.longestQueue} ops`);
    assert.ok(sendPath.opsShed > 0, "the storm overflowed the queues");
    assert.ok(sendPath.sendWindowCuts > 0, "the send windows shrank");
    const fixed = await runWholeNodeSimulation(WHOLE_NODE_SCENARIOS.storm(1, 4, false));
    assertConverged(fixed);
    assert.ok(
      adaptive.convergenceAfterHealMs! < fixed.convergenceAfterHealMs!,
      `adaptive ${adaptive.convergenceAfterHealMs} ms, fixed ${fixed.convergenceAfterHealMs} ms after the storm`,
    );
    assert.ok(adaptive.frames.sent < fixed.frames.sent, "fewer frames");
  });

  test("nominal conditions for 5 simulated minutes: SWIM suspects no live node (an hour: npm run sim -- nominal)", async () => {
    const result = await runWholeNodeSimulation(WHOLE_NODE_SCENARIOS.nominal(1, 5, 300_000));
    assertConverged(result);
    assert.equal(result.falseSuspicions, 0);
    assert.equal(result.falseDeaths, 0);
  });

  test("20 nodes under the default bound, 2 calm minutes: at most 12 connections each, every member probed through neighbours without a suspicion", async () => {
    const result = await runWholeNodeSimulation(WHOLE_NODE_SCENARIOS.nominal(1, 20, 120_000));
    assertConverged(result);
    assert.ok(result.peakConnections <= 12, `a node held ${result.peakConnections} connections`);
    assert.equal(result.falseSuspicions, 0);
  });

  test("negative control: round trips longer than SWIM's probe interval make it suspect live nodes", async () => {
    const nominal = WHOLE_NODE_SCENARIOS.nominal(1, 4, 30_000);
    const result = await runWholeNodeSimulation({
      ...nominal,
      network: { ...nominal.network, delayMinMs: 600, delayMaxMs: 900 },
    });
    assert.ok(result.falseSuspicions > 0, "every probe misses its ack, yet every node runs and is reachable");
  });

  test("the same seed replays the same run bit for bit; another seed does not", async () => {
    const scenario = (seed: number) => WHOLE_NODE_SCENARIOS["split-brain"](seed, 4);
    const a = await runWholeNodeSimulation(scenario(7));
    const b = await runWholeNodeSimulation(scenario(7));
    const c = await runWholeNodeSimulation(scenario(8));
    assert.deepEqual(a, b);
    assert.notEqual(a.traceSha256, c.traceSha256);
  });

  test("negative control: without the bound (max_connections at max_peers) the 16 nodes connect to all 15 others", async () => {
    const scenario = WHOLE_NODE_SCENARIOS["partition-50"](1, 16, 10_000);
    const result = await runWholeNodeSimulation({
      ...scenario,
      tuning: { ...scenario.tuning, maxConnections: scenario.tuning.maxPeers },
    });
    assertConverged(result);
    assert.equal(result.peakConnections, 15);
  });

  test("negative control: a partition that never heals fails the checks", async () => {
    const healed = WHOLE_NODE_SCENARIOS["partition-50"](3, 6, 5_000);
    const result = await runWholeNodeSimulation({
      ...healed,
      faults: healed.faults.filter((fault) => fault.kind !== "heal"),
      settleMaxMs: 5_000,
    });
    assert.equal(result.converged, false);
    assert.ok(result.lostOps > 0, "each side lacks the other's ops");
  });
});

test("a restarted node reopens its own store: what it held is there before any peer connects", async () => {
  const clock = createVirtualClock();
  const node = new SimulatedNode({
    nodeId: "0000000000000000000000000000000a" as NodeId,
    address: "alone:9000",
    bootstrap: [],
    network: createMemoryNetwork({ clock }),
    clock,
    epochMs: SIMULATION_EPOCH_MS,
    random: createSeededRandom(1),
    tuning: DEFAULT_NODE_TUNING,
    onDialFailed: () => {},
    onMembershipChange: () => {},
  });
  await node.start();
  const random = createSeededRandom(2);
  for (let i = 0; i < 5; i++) node.mutate(random);
  await advanceSettled(clock, 10);
  const before = { vector: [...node.versionVector()], digest: node.digest() };
  assert.deepEqual(before.vector, [[node.nodeId, 5]]);
  const stopping = node.stop();
  await advanceSettled(clock, 10);
  await stopping;
  await node.start();
  assert.deepEqual({ vector: [...node.versionVector()], digest: node.digest() }, before);
  const stopped = node.stop();
  await advanceSettled(clock, 10);
  await stopped;
});
