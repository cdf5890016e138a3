/**
 * `npm run sim -- SCENARIO [--seeds N] [--seed S] [--report FILE] [--nodes N] [--max-connections N]`: runs a whole-node simulator scenario
 * (src/sync/simulator/whole-node-scenarios.ts) under seeds 1..N and prints, or writes to FILE,
 * a JSON report: `convergence_after_heal_secs` {p50, p99, max} over the seeds that converged,
 * `lost_ops`, `false_suspicions` and `false_deaths` (SWIM's, of running, reachable members) and all
 * `suspicions` summed over the seeds, `peak_connections` (the most any node held at once) and
 * `frames_per_op_per_node`, and each seed's run. `--nodes` changes the scenario's node count,
 * `--max-connections` the nodes' `network.max_connections` (1024: no bound). A seed that did
 * not converge or lost an op makes the exit code 1; rerun it alone with `--seed S`.
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import {
  WHOLE_NODE_SCENARIOS,
  type WholeNodeScenarioName,
} from "../src/sync/simulator/whole-node-scenarios.ts";
import { runWholeNodeSimulation, type WholeNodeResult } from "../src/sync/simulator/whole-node-simulation.ts";

/** The largest seed the simulator's random tells apart (createSeededRandom keeps 32 bits). */
const SEED_MAX = 2 ** 32 - 1;

const USAGE =
  "npm run sim -- SCENARIO [--seeds N] [--seed S] [--report FILE] [--nodes N] [--max-connections N]";

/** A flag parseArgs refuses (unknown, or a value that looks like a flag) is a usage error: one line, exit 2. */
function parseFlags() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        seeds: { type: "string" },
        seed: { type: "string" },
        report: { type: "string" },
        nodes: { type: "string" },
        "max-connections": { type: "string" },
      },
    });
  } catch (error) {
    const detail = (error instanceof Error ? error.message : String(error)).split("\n")[0];
    process.stderr.write(`sim: ${detail} (usage: ${USAGE})\n`);
    process.exit(2);
  }
}
const { values, positionals } = parseFlags();
const name = positionals[0] as WholeNodeScenarioName | undefined;
if (name === undefined || !(name in WHOLE_NODE_SCENARIOS)) {
  process.stderr.write(
    `sim: name a scenario: ${Object.keys(WHOLE_NODE_SCENARIOS).join(", ")} (e.g. npm run sim -- partition-50 --seeds 20 --report sim.json)\n`,
  );
  process.exit(2);
}
/** The flag's value as an integer from `min` to `max`; anything else is a usage error (exit 2). */
const integerIn = (
  min: number,
  max: number,
  kind: string,
  flag: string,
  text: string | undefined,
): number | undefined => {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() !== "" && Number.isSafeInteger(value) && value >= min && value <= max) return value;
  process.stderr.write(
    `sim: --${flag} takes ${kind}, got ${JSON.stringify(text)} (e.g. npm run sim -- ${name} --${flag} 3)\n`,
  );
  process.exit(2);
};
const positive = (flag: string, text: string | undefined) =>
  integerIn(1, Number.MAX_SAFE_INTEGER, "a positive integer", flag, text);
const count = positive("seeds", values.seeds) ?? 5;
// The simulator's random takes a 32-bit seed (createSeededRandom's `seed >>> 0`): 2^32 + 1 ran as seed 1.
const seed = integerIn(0, SEED_MAX, `an integer from 0 to ${SEED_MAX}`, "seed", values.seed);
const seeds = seed !== undefined ? [seed] : Array.from({ length: count }, (_, i) => i + 1);

const nodeCount = positive("nodes", values.nodes);
const maxConnections = positive("max-connections", values["max-connections"]);

const runs: WholeNodeResult[] = [];
let bound = 0;
let opDeliveries = 0;
for (const seed of seeds) {
  const scenario = WHOLE_NODE_SCENARIOS[name](seed, nodeCount);
  const tuning = { ...scenario.tuning, maxConnections: maxConnections ?? scenario.tuning.maxConnections };
  bound = tuning.maxConnections;
  const result = await runWholeNodeSimulation({ ...scenario, tuning });
  opDeliveries += result.mutations * scenario.nodeCount;
  runs.push(result);
  process.stderr.write(
    `${name} seed ${seed}: ${result.converged ? `converged ${result.convergenceAfterHealMs} ms after healing` : "DID NOT CONVERGE"}, lost ops ${result.lostOps}, false suspicions ${result.falseSuspicions} (dead ${result.falseDeaths}), peak connections ${result.peakConnections}\n`,
  );
}
const secs = runs
  .filter((run) => run.convergenceAfterHealMs !== undefined)
  .map((run) => run.convergenceAfterHealMs! / 1000)
  .sort((a, b) => a - b);
const quantile = (q: number): number | null =>
  secs.length === 0 ? null : secs[Math.min(secs.length - 1, Math.ceil(q * secs.length) - 1)];
const report = {
  scenario: name,
  seeds,
  convergence_after_heal_secs: { p50: quantile(0.5), p99: quantile(0.99), max: secs.at(-1) ?? null },
  not_converged: runs.filter((run) => !run.converged).map((run) => run.seed),
  lost_ops: runs.reduce((sum, run) => sum + run.lostOps, 0),
  false_suspicions: runs.reduce((sum, run) => sum + run.falseSuspicions, 0),
  false_deaths: runs.reduce((sum, run) => sum + run.falseDeaths, 0),
  suspicions: runs.reduce((sum, run) => sum + run.suspicions, 0),
  dial_failures: runs.reduce((sum, run) => sum + run.dialFailures, 0),
  max_connections: bound,
  peak_connections: Math.max(...runs.map((run) => run.peakConnections)),
  frames_per_op_per_node: runs.reduce((sum, run) => sum + run.frames.sent, 0) / opDeliveries,
  runs,
};
const text = `${JSON.stringify(report, null, 2)}\n`;
if (values.report !== undefined) writeFileSync(values.report, text);
else process.stdout.write(text);
process.exitCode = report.not_converged.length > 0 || report.lost_ops > 0 ? 1 : 0;
