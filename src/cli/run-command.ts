import { chooseConfigFile } from "../config/default-config-file.ts";
import { parseDuration } from "../config/duration.ts";
import type { NodeConfig } from "../config/node-config.ts";
import { resolveConfig } from "../config/resolve.ts";
import { parseSocketAddress, type SocketAddress } from "../config/socket-address.ts";
import { describeError, NumaxError } from "../errors/numax-error.ts";
import { isValidTopic, TOPIC_MAX_BYTES } from "../events/topic.ts";
import { processStderr } from "../fs/stdio-writer.ts";
import type { CrdtFamilyName } from "../node/crdt-values.ts";
import { createDeterminism, type Determinism, parseSeed } from "../node/determinism.ts";
import {
  type ForcedExit,
  type PrintRequest,
  type RunOutcome,
  type RunSettings,
  runModules,
  type StartupSignals,
} from "../node/run-modules.ts";
import { LOG_LEVELS, type LogLevel } from "../observe/logger.ts";
import { SERVE_LIMITS_DEFAULT } from "../serve/serve-limits.ts";
import type { ServeSettings } from "../serve/serve-settings.ts";
import { EXIT_OK, EXIT_RUN_FAILED, EXIT_SIGNAL_TWICE, EXIT_USAGE } from "./exit-codes.ts";
import type { RunInvocation, RunOnlyOptions } from "./run-flags.ts";
import { numaxVersion } from "./version.ts";

/**
 * `nx run <module.wasm>...`: resolves the settings (flags > NX_* > config file > defaults), runs
 * the modules on a node (src/node/run-modules.ts) and turns how the run ended into the exit
 * code. Every failure is one `nx: error:` line on stderr.
 */
export async function runCommand(
  invocation: RunInvocation,
  startupSignals?: StartupSignals,
): Promise<number> {
  let settings: RunSettings;
  try {
    settings = await resolveRunSettings(invocation);
    if (invocation.modules.length === 0 && settings.listedModules.length === 0) {
      throw new NumaxError(
        "USAGE_NO_MODULE",
        `nothing to run: name a module (nx run app.wasm) or list modules in ${invocation.configPath ?? "numax.toml"} as [[modules]] path = "app.wasm"`,
      );
    }
  } catch (error) {
    processStderr.write(`nx: error: ${describeError(error)}\n`);
    // Flags and configuration are input the user can correct; anything else is a fault.
    return error instanceof NumaxError ? EXIT_USAGE : EXIT_RUN_FAILED;
  }
  const outcome = await runModules({
    modulePaths: invocation.modules,
    settings,
    version: numaxVersion,
    exitNow: (reason) => process.exit(FORCED_EXIT_CODES[reason]),
    startupSignals,
  });
  return OUTCOME_EXIT_CODES[outcome];
}

export const OUTCOME_EXIT_CODES: Readonly<Record<RunOutcome, number>> = {
  ok: EXIT_OK,
  refused: EXIT_USAGE,
  failed: EXIT_RUN_FAILED,
};

export const FORCED_EXIT_CODES: Readonly<Record<ForcedExit, number>> = {
  "signal-twice": EXIT_SIGNAL_TWICE,
  "shutdown-timeout": EXIT_RUN_FAILED,
};

/** `verbose` steps down from `level` towards trace. */
function raisedLogLevel(level: LogLevel, verbose: number): LogLevel {
  return LOG_LEVELS[Math.max(0, LOG_LEVELS.indexOf(level) - verbose)]!;
}

function durationFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseDuration(value);
  } catch (error) {
    throw new NumaxError("USAGE_INVALID_FLAG", `${flag}: ${describeError(error)}`);
  }
}

function printRequests(options: RunOnlyOptions): PrintRequest[] {
  const lists: [CrdtFamilyName, string[] | undefined][] = [
    ["gcounter", options.printGcounter],
    ["pncounter", options.printPncounter],
    ["lww-register", options.printLwwRegister],
    ["lww-map", options.printLwwMap],
    ["orset", options.printOrset],
    ["rga", options.printRga],
  ];
  return lists.flatMap(([family, keys]) => (keys ?? []).map((key) => ({ family, key })));
}

/** The settings of a run (or of `nx dev`'s node): flags > NX_* > config file > defaults. */
export async function resolveRunSettings({
  flags,
  configPath,
  options,
}: RunInvocation): Promise<RunSettings> {
  const configFile = chooseConfigFile(configPath);
  const { config, sourceOf, warnings, moduleSettings, listedModules, serveSettings } = await resolveConfig({
    flags,
    env: process.env,
    configPath: configFile?.path,
  });
  const syncEnabled = config.network.listen !== undefined;
  const prints = printRequests(options);
  const syncOnly = [
    ...(prints.length > 0 ? [`--print-${prints[0].family}`] : []),
    ...(options.settleFor !== undefined ? ["--settle-for"] : []),
    ...(options.waitBeforeRun !== undefined ? ["--wait-before-run"] : []),
  ];
  if (!syncEnabled && syncOnly.length > 0) {
    throw new NumaxError(
      "USAGE_NEEDS_SYNC",
      `${syncOnly[0]} needs sync: add --listen <host:port> (CRDTs exist only on a node with sync)`,
    );
  }
  return {
    config,
    moduleSettings,
    listedModules,
    implicitConfigFile: configFile?.implicit === true ? configFile.path : undefined,
    warnings,
    logLevel: raisedLogLevel(config.observability.logLevel, options.verbose),
    shutdownTimeoutMs: durationFlag("--shutdown-timeout", options.shutdownTimeout)!,
    shutdownTimeoutText: options.shutdownTimeout,
    waitBeforeRunMs: durationFlag("--wait-before-run", options.waitBeforeRun),
    settleForMs: durationFlag("--settle-for", options.settleFor),
    stdinTopic: stdinTopicFlag(options.stdinTopic),
    serve: [...serveSettings, ...serveFlag(options.serve)],
    policyFlags: options.policy ?? [],
    prints,
    json: options.json === true,
    determinism: determinismFlags(options.deterministic, options.seed, config),
    managementListenIsDefault: sourceOf("management.listen") === "default",
    dashboardListenIsDefault: sourceOf("dashboard.listen") === "default",
  };
}

/** `--deterministic [--seed N]`: the node's seeded sources; `--seed` alone is refused. */
function determinismFlags(
  deterministic: boolean | undefined,
  seedText: string | undefined,
  config: NodeConfig,
): Determinism | undefined {
  if (deterministic === true && (config.network.peers.length > 0 || config.discovery.mode !== "static")) {
    // Its virtual time is months behind real time: every peer's op would be deferred as drift.
    throw new NumaxError(
      "USAGE_INVALID_FLAG",
      "--deterministic runs a node alone (its virtual time would make peers' ops look from the future): drop --peer and discovery",
    );
  }
  if (deterministic !== true) {
    if (seedText !== undefined) {
      throw new NumaxError(
        "USAGE_INVALID_FLAG",
        "--seed needs --deterministic (it seeds that mode's randomness)",
      );
    }
    return undefined;
  }
  const seed = seedText === undefined ? 0n : parseSeed(seedText);
  if (seed === undefined) {
    throw new NumaxError(
      "USAGE_INVALID_FLAG",
      `--seed ${JSON.stringify(seedText)}: expected an integer from 0 to 2^64-1`,
    );
  }
  return createDeterminism(seed);
}

/** `--serve ADDR`: one listener with the default limits serving the modules' default routes. */
function serveFlag(address: string | undefined): ServeSettings[] {
  if (address === undefined) return [];
  let listen: SocketAddress;
  try {
    listen = parseSocketAddress(address, { allowPortZero: true });
  } catch (error) {
    throw new NumaxError("USAGE_INVALID_FLAG", `--serve: ${describeError(error)}`);
  }
  return [{ where: "--serve", listen, limits: SERVE_LIMITS_DEFAULT, routes: undefined }];
}

function stdinTopicFlag(topic: string | undefined): string | undefined {
  if (topic !== undefined && !isValidTopic(topic)) {
    throw new NumaxError(
      "USAGE_INVALID_TOPIC",
      `--stdin-topic ${JSON.stringify(topic)} is not a topic: use 1 to ${TOPIC_MAX_BYTES} ASCII letters, digits and _ - . : / (for example chat/input)`,
    );
  }
  return topic;
}
