import { GateError } from "./gate-error.ts";

/**
 * The runner's command line, parsed without side effects:
 *
 *   npm run gate -- <scenario> [--duration S] [--rate N|max] [--nodes N] [--smoke]
 *                  [--report FILE] [--plot FILE] [--kill-every S] [--keys N] [--cpu-prof]
 *                  [--loop-stats] [--keep-data] [--tls] [--nx-args "<flags for every nx run>"]
 *
 * Anything left unset takes the scenario's default (scenario-defaults.ts); a bad flag is one
 * GATE_USAGE line.
 */

export const SCENARIO_NAMES = ["store", "three-node", "ten-node", "chaos", "partition"] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export type RateOption = number | "max";

export interface GateOptions {
  readonly scenario: ScenarioName;
  readonly durationSecs: number | undefined;
  /** Operations per second on each node, or "max": search for the highest that still passes. */
  readonly rate: RateOption | undefined;
  readonly nodes: number | undefined;
  readonly smoke: boolean;
  readonly reportPath: string | undefined;
  /** Default: the report's path with .html. */
  readonly plotPath: string | undefined;
  /** chaos: seconds between two kills. */
  readonly killEverySecs: number | undefined;
  /**
   * three-node and ten-node: each op writes an LWW-Map field, cycling over N fields per node
   * (instead of incrementing one counter): with N at least the ops of the run, every op is a key
   * of its own.
   */
  readonly keys: number | undefined;
  /** Run every node with --cpu-prof and summarise where its time went in the report. */
  readonly cpuProf: boolean;
  /** three-node, ten-node: measure every node's event loop, GC pauses and stalls during the load (loop-probe.ts). */
  readonly loopStats: boolean;
  /** Keep the nodes' datastores (and profiles) instead of deleting them at the end. */
  readonly keepData: boolean;
  /** Cluster gates: nodes talk mutual TLS with certificates from `nx cert` instead of plain TCP. */
  readonly tls: boolean;
  /** More `nx run` flags for every node (e.g. --reconnect-max-delay 1s), after the gate's own. */
  readonly nxArgs: readonly string[];
}

export const GATE_USAGE =
  "usage: npm run gate -- <store|three-node|ten-node|chaos|partition> [--duration S] [--rate N|max] " +
  "[--nodes N] [--smoke] [--report FILE] [--plot FILE] [--kill-every S] [--keys N] [--cpu-prof] [--loop-stats] [--keep-data] [--tls] " +
  '[--nx-args "<nx run flags>"]';

function usage(message: string): GateError {
  return new GateError("GATE_USAGE", `${message}\n${GATE_USAGE}`);
}

function positiveNumber(flag: string, text: string | undefined): number {
  if (text === undefined || text.startsWith("--")) throw usage(`${flag} needs a value`);
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || text.trim() === "") {
    throw usage(`${flag} must be a positive number, got "${text}"`);
  }
  return value;
}

function positiveInteger(flag: string, text: string | undefined): number {
  const value = positiveNumber(flag, text);
  if (!Number.isInteger(value)) throw usage(`${flag} must be a whole number, got "${text}"`);
  return value;
}

function isScenario(name: string): name is ScenarioName {
  return (SCENARIO_NAMES as readonly string[]).includes(name);
}

export function parseGateArgs(argv: readonly string[]): GateOptions {
  let scenario: ScenarioName | undefined;
  let durationSecs: number | undefined;
  let rate: RateOption | undefined;
  let nodes: number | undefined;
  let smoke = false;
  let reportPath: string | undefined;
  let plotPath: string | undefined;
  let killEverySecs: number | undefined;
  let keys: number | undefined;
  let cpuProf = false;
  let loopStats = false;
  let keepData = false;
  let tls = false;
  const nxArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined || next.startsWith("--")) throw usage(`${arg} needs a value`);
      return next;
    };
    switch (arg) {
      case "--duration":
        durationSecs = positiveNumber(arg, value());
        break;
      case "--rate": {
        const text = value();
        rate = text === "max" ? "max" : positiveInteger(arg, text);
        break;
      }
      case "--nodes":
        nodes = positiveInteger(arg, value());
        break;
      case "--smoke":
        smoke = true;
        break;
      case "--report":
        reportPath = value();
        break;
      case "--plot":
        plotPath = value();
        break;
      case "--kill-every":
        killEverySecs = positiveNumber(arg, value());
        break;
      case "--keys":
        keys = positiveInteger(arg, value());
        break;
      case "--cpu-prof":
        cpuProf = true;
        break;
      case "--loop-stats":
        loopStats = true;
        break;
      case "--keep-data":
        keepData = true;
        break;
      case "--tls":
        tls = true;
        break;
      case "--nx-args": {
        // Its value may itself start with "--": take the next argument as it is.
        const text = argv[++i];
        if (text === undefined) throw usage("--nx-args needs a value");
        nxArgs.push(...text.split(/\s+/).filter((part) => part !== ""));
        break;
      }
      default:
        if (arg.startsWith("-")) throw usage(`unknown option ${arg}`);
        if (scenario !== undefined) throw usage(`one scenario at a time (got ${scenario} and ${arg})`);
        if (!isScenario(arg)) throw usage(`unknown scenario "${arg}" (known: ${SCENARIO_NAMES.join(", ")})`);
        scenario = arg;
    }
  }
  if (scenario === undefined) throw usage("name a scenario");
  return {
    scenario,
    durationSecs,
    rate,
    nodes,
    smoke,
    reportPath,
    plotPath,
    killEverySecs,
    keys,
    cpuProf,
    loopStats,
    keepData,
    tls,
    nxArgs,
  };
}
