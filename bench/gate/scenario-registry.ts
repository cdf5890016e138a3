import type { ScenarioName } from "./gate-options.ts";
import type { Scenario } from "./scenarios/scenario.ts";

/** Each scenario's module, imported when it runs. */
export const SCENARIOS: Record<ScenarioName, () => Promise<Scenario>> = {
  store: async () => (await import("./scenarios/store.ts")).storeScenario,
  "three-node": async () => (await import("./scenarios/cluster-load.ts")).clusterLoadScenario,
  "ten-node": async () => (await import("./scenarios/cluster-load.ts")).clusterLoadScenario,
  chaos: async () => (await import("./scenarios/chaos.ts")).chaosScenario,
  partition: async () => (await import("./scenarios/partition.ts")).partitionScenario,
};
