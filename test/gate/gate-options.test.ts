/** The runner's flags: parsing, scenario defaults, and the one-line refusals. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { GateError } from "../../bench/gate/gate-error.ts";
import { parseGateArgs } from "../../bench/gate/gate-options.ts";
import { resolveSettings } from "../../bench/gate/gate-settings.ts";

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof GateError);
    assert.equal(error.code, "GATE_USAGE");
    return error.message.split("\n")[0]!;
  }
  assert.fail("expected a usage error");
}

describe("gate options", () => {
  test("every flag is read", () => {
    const options = parseGateArgs([
      "chaos",
      "--duration",
      "12.5",
      "--rate",
      "300",
      "--nodes",
      "4",
      "--smoke",
      "--report",
      "r.json",
      "--plot",
      "p.html",
      "--kill-every",
      "3",
      "--cpu-prof",
      "--keep-data",
      "--nx-args",
      "--reconnect-max-delay 2s",
    ]);
    assert.deepEqual(options, {
      scenario: "chaos",
      durationSecs: 12.5,
      rate: 300,
      nodes: 4,
      smoke: true,
      reportPath: "r.json",
      plotPath: "p.html",
      killEverySecs: 3,
      keys: undefined,
      cpuProf: true,
      loopStats: false,
      keepData: true,
      tls: false,
      nxArgs: ["--reconnect-max-delay", "2s"],
    });
    assert.equal(parseGateArgs(["three-node", "--rate", "max"]).rate, "max");
    assert.equal(parseGateArgs(["three-node", "--keys", "500000"]).keys, 500_000);
    // --keys runs every node with coalesced map writes, before the flags --nx-args adds.
    assert.deepEqual(
      resolveSettings(parseGateArgs(["three-node", "--keys", "5", "--nx-args", "-v"])).nxArgs,
      ["--sync-coalesce-map-writes", "-v"],
    );
    assert.deepEqual(resolveSettings(parseGateArgs(["three-node"])).nxArgs, []);
    assert.equal(resolveSettings(parseGateArgs(["three-node", "--tls"])).tls, true);
    assert.equal(resolveSettings(parseGateArgs(["three-node", "--loop-stats"])).loopStats, true);
    assert.throws(() => resolveSettings(parseGateArgs(["store", "--loop-stats"])), /--loop-stats applies/);
  });

  test("defaults depend on the scenario and on --smoke", () => {
    const full = resolveSettings(parseGateArgs(["store"]));
    assert.equal(full.rate, 100_000);
    assert.equal(full.durationSecs, 60);
    assert.equal(full.nodes, 1);
    const smoke = resolveSettings(parseGateArgs(["ten-node", "--smoke"]));
    assert.equal(smoke.nodes, 10);
    assert.ok(smoke.durationSecs <= 5);
    assert.equal(resolveSettings(parseGateArgs(["three-node"])).rate, "max");
    assert.deepEqual(resolveSettings(parseGateArgs(["partition", "--nx-args", "-v"])).nxArgs, [
      "--reconnect-max-delay",
      "1s",
      "-v",
    ]);
  });

  test("bad input is refused with one line naming the problem", () => {
    assert.equal(
      refusal(() => parseGateArgs([])),
      "name a scenario",
    );
    assert.equal(
      refusal(() => parseGateArgs(["stor"])),
      'unknown scenario "stor" (known: store, three-node, ten-node, chaos, partition)',
    );
    assert.equal(
      refusal(() => parseGateArgs(["store", "--rate", "fast"])),
      '--rate must be a positive number, got "fast"',
    );
    assert.equal(
      refusal(() => parseGateArgs(["store", "--rate", "1.5"])),
      '--rate must be a whole number, got "1.5"',
    );
    assert.equal(
      refusal(() => parseGateArgs(["store", "--duration", "0"])),
      '--duration must be a positive number, got "0"',
    );
    assert.equal(
      refusal(() => parseGateArgs(["store", "--duration"])),
      "--duration needs a value",
    );
    assert.equal(
      refusal(() => parseGateArgs(["store", "--fast"])),
      "unknown option --fast",
    );
    assert.equal(
      refusal(() => parseGateArgs(["store", "chaos"])),
      "one scenario at a time (got store and chaos)",
    );
    assert.equal(
      refusal(() => resolveSettings(parseGateArgs(["store", "--rate", "max"]))),
      "--rate max: the store gate runs at a fixed rate (give ops/s per node)",
    );
    assert.equal(
      refusal(() => resolveSettings(parseGateArgs(["store", "--nodes", "3"]))),
      "--nodes: the store gate runs 1 node(s), got 3",
    );
    assert.equal(
      refusal(() => resolveSettings(parseGateArgs(["partition", "--nodes", "2"]))),
      "--nodes: the partition gate runs 3 to 32 nodes, got 2",
    );
    assert.equal(
      refusal(() => resolveSettings(parseGateArgs(["store", "--kill-every", "2"]))),
      "--kill-every applies to the chaos gate only",
    );
    assert.equal(
      refusal(() => resolveSettings(parseGateArgs(["store", "--keys", "10"]))),
      "--keys applies to the three-node and ten-node gates only",
    );
    assert.equal(
      refusal(() => resolveSettings(parseGateArgs(["store", "--tls"]))),
      "--tls applies to the cluster gates only (store runs one node)",
    );
    assert.equal(
      refusal(() => resolveSettings(parseGateArgs(["chaos", "--duration", "10", "--kill-every", "10"]))),
      "--kill-every 10: must be shorter than the load (--duration 10) for any kill to happen",
    );
  });
});
