import { GateError } from "./gate-error.ts";
import type { GateOptions, RateOption, ScenarioName } from "./gate-options.ts";

/**
 * The concrete settings of a run: the flags given, each missing one filled with the scenario's
 * default for a full run or for `--smoke` (a few seconds, for CI), then checked against what the
 * scenario can do.
 */
export interface GateSettings {
  readonly scenario: ScenarioName;
  readonly smoke: boolean;
  readonly nodes: number;
  /** Load duration in seconds (for `--rate max`: of the final run at the rate found). */
  readonly durationSecs: number;
  readonly rate: RateOption;
  /** chaos only: seconds between two kills. */
  readonly killEverySecs: number;
  /** three-node and ten-node: distinct LWW-Map fields per node (GateOptions.keys); undefined: one counter. */
  readonly keys: number | undefined;
  readonly cpuProf: boolean;
  /** three-node, ten-node: GateOptions.loopStats. */
  readonly loopStats: boolean;
  readonly keepData: boolean;
  /** Cluster gates: mutual TLS between the nodes (GateOptions.tls). */
  readonly tls: boolean;
  /** Flags every node gets: the scenario's own (see NX_ARGS), then --nx-args. */
  readonly nxArgs: readonly string[];
}

interface Defaults {
  readonly nodes: number;
  readonly minNodes: number;
  readonly maxNodes: number;
  readonly full: { durationSecs: number; rate: RateOption };
  readonly smoke: { durationSecs: number; rate: RateOption };
  readonly allowsMax: boolean;
  /** `nx run` flags of the scenario's nodes, documented in docs/gates.md. */
  readonly nxArgs: readonly string[];
}

const DEFAULTS: Record<ScenarioName, Defaults> = {
  store: {
    nodes: 1,
    minNodes: 1,
    maxNodes: 1,
    full: { durationSecs: 60, rate: 100_000 },
    smoke: { durationSecs: 2, rate: 5_000 },
    allowsMax: false,
    nxArgs: [],
  },
  "three-node": {
    nodes: 3,
    minNodes: 2,
    maxNodes: 32,
    full: { durationSecs: 20, rate: "max" },
    smoke: { durationSecs: 2, rate: 300 },
    allowsMax: true,
    nxArgs: [],
  },
  "ten-node": {
    nodes: 10,
    minNodes: 2,
    maxNodes: 32,
    full: { durationSecs: 20, rate: "max" },
    smoke: { durationSecs: 2, rate: 50 },
    allowsMax: true,
    nxArgs: [],
  },
  chaos: {
    nodes: 3,
    minNodes: 2,
    maxNodes: 32,
    full: { durationSecs: 300, rate: 1_000 },
    smoke: { durationSecs: 6, rate: 200 },
    allowsMax: false,
    nxArgs: [],
  },
  partition: {
    nodes: 3,
    minNodes: 3,
    maxNodes: 32,
    full: { durationSecs: 30, rate: 1_000 },
    smoke: { durationSecs: 3, rate: 200 },
    allowsMax: false,
    // A node retries a peer it could not reach at growing delays, up to reconnect_max_delay
    // (30 s by default, and at once after 3 failures): a healed partition would wait that
    // long before anyone redials. A LAN cluster that must heal within seconds sets it low.
    nxArgs: ["--reconnect-max-delay", "1s"],
  },
};

/**
 * `nx run` flags of every node under `--keys`: map writes amend one `lww_map_batch` op per map per
 * store batch (`[sync] coalesce_map_writes`), the setting a cluster of one build that makes many
 * distinct writes runs with. In the report's `nx_args`.
 */
export const KEYS_NX_ARGS: readonly string[] = ["--sync-coalesce-map-writes"];

const KILL_EVERY_SECS = { full: 20, smoke: 2 };

export function resolveSettings(options: GateOptions): GateSettings {
  const defaults = DEFAULTS[options.scenario];
  const mode = options.smoke ? defaults.smoke : defaults.full;
  const nodes = options.nodes ?? defaults.nodes;
  if (nodes < defaults.minNodes || nodes > defaults.maxNodes) {
    throw new GateError(
      "GATE_USAGE",
      defaults.minNodes === defaults.maxNodes
        ? `--nodes: the ${options.scenario} gate runs ${defaults.minNodes} node(s), got ${nodes}`
        : `--nodes: the ${options.scenario} gate runs ${defaults.minNodes} to ${defaults.maxNodes} nodes, got ${nodes}`,
    );
  }
  const rate = options.rate ?? mode.rate;
  if (rate === "max" && !defaults.allowsMax) {
    throw new GateError(
      "GATE_USAGE",
      `--rate max: the ${options.scenario} gate runs at a fixed rate (give ops/s per node)`,
    );
  }
  const durationSecs = options.durationSecs ?? mode.durationSecs;
  const killEverySecs =
    options.killEverySecs ?? (options.smoke ? KILL_EVERY_SECS.smoke : KILL_EVERY_SECS.full);
  if (options.killEverySecs !== undefined && options.scenario !== "chaos") {
    throw new GateError("GATE_USAGE", "--kill-every applies to the chaos gate only");
  }
  if (options.scenario === "chaos" && killEverySecs >= durationSecs) {
    throw new GateError(
      "GATE_USAGE",
      `--kill-every ${killEverySecs}: must be shorter than the load (--duration ${durationSecs}) for any kill to happen`,
    );
  }
  if (options.keys !== undefined && options.scenario !== "three-node" && options.scenario !== "ten-node") {
    throw new GateError("GATE_USAGE", "--keys applies to the three-node and ten-node gates only");
  }
  if (options.loopStats && options.scenario !== "three-node" && options.scenario !== "ten-node") {
    throw new GateError("GATE_USAGE", "--loop-stats applies to the three-node and ten-node gates only");
  }
  if (options.tls && options.scenario === "store") {
    throw new GateError("GATE_USAGE", "--tls applies to the cluster gates only (store runs one node)");
  }
  return {
    scenario: options.scenario,
    smoke: options.smoke,
    nodes,
    durationSecs,
    rate,
    killEverySecs,
    keys: options.keys,
    cpuProf: options.cpuProf,
    loopStats: options.loopStats,
    keepData: options.keepData,
    tls: options.tls,
    nxArgs: [...defaults.nxArgs, ...(options.keys === undefined ? [] : KEYS_NX_ARGS), ...options.nxArgs],
  };
}
