import { join, resolve } from "node:path";
import { EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE } from "../cli/exit-codes.ts";
import type { RunInvocation, RunOnlyOptions } from "../cli/run-flags.ts";
import { NUMAX_VERSION } from "../cli/version.ts";
import { monotonicMs } from "../clock/monotonic-clock.ts";
import { chooseConfigFile } from "../config/default-config-file.ts";
import { parseDuration } from "../config/duration.ts";
import type { NodeConfig } from "../config/node-config.ts";
import { resolveConfig } from "../config/resolve.ts";
import { CONFIG_ENV_NAMES } from "../config/schema.ts";
import { describeError, NumaxError } from "../errors/numax-error.ts";
import { createLogger } from "../observe/create-logger.ts";
import { LOG_LEVELS, type Logger, type LogLevel } from "../observe/logger.ts";
import { prepareDatastore } from "../store/datastore-layout.ts";
import type { GuestEnvironment } from "../wasm/abi/guest-environment.ts";
import { guestRunResultLabel } from "../wasm/guest-failure.ts";
import { checkImports, importsStore } from "../wasm/guest-imports.ts";
import { type GuestModule, loadGuestModuleFile } from "../wasm/load-guest-module.ts";
import { ModuleCache } from "../wasm/module-cache.ts";
import { type CrdtFamilyName, crdtValueToJson, formatCrdtLine, readCrdtValue } from "./crdt-values.ts";
import { type DurableOutputGate, gatedLogger } from "./durable-output.ts";
import { guestFailureRecord } from "./guest-failure-record.ts";
import type { ByteStream } from "./guest-output.ts";
import { canRunAlone, runLoneGuest } from "./lone-guest.ts";
import { type NumaxNode, startNumaxNode } from "./numax-node.ts";

/**
 * `nx run <module.wasm>...`: resolves the settings (flags > NX_* > config file > defaults),
 * loads and checks every module first (a bad module fails the command before anything runs),
 * starts the node (store when needed; sync with `--listen`; metrics with
 * `--observability-listen`), runs the modules one after the other, and then:
 * - without sync: closes the store (flushing it) and exits;
 * - with `--settle-for`: keeps syncing that long, prints `--print-*` values, exits;
 * - otherwise (serve mode): keeps syncing until SIGINT/SIGTERM, then shuts down gracefully
 *   within `--shutdown-timeout` and prints the values.
 *
 * Returns the exit code; every failure is one `nx: error:` line on stderr.
 */

/** Subdirectory of the datastore holding instrumented modules (see module-cache.ts). */
export const MODULE_CACHE_DIRECTORY = "module-cache";

const EXIT_SIGNAL_TWICE = 130;

interface PrintRequest {
  readonly family: CrdtFamilyName;
  readonly key: string;
}

interface RunSettings {
  readonly config: NodeConfig;
  /** ./numax.toml when it was read without --config: said once at info, a file acting unasked. */
  readonly implicitConfigFile: string | undefined;
  /** Mistyped `NX_*` variables, one warning line each. */
  readonly warnings: readonly string[];
  readonly logLevel: LogLevel;
  readonly shutdownTimeoutMs: number;
  readonly waitBeforeRunMs: number | undefined;
  readonly settleForMs: number | undefined;
  readonly prints: readonly PrintRequest[];
}

/** `verbose` steps down from `level` towards trace. */
export function raisedLogLevel(level: LogLevel, verbose: number): LogLevel {
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

async function resolveRunSettings({ flags, configPath, options }: RunInvocation): Promise<RunSettings> {
  const configFile = chooseConfigFile(configPath);
  const { config, warnings } = await resolveConfig({ flags, env: process.env, configPath: configFile?.path });
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
    implicitConfigFile: configFile?.implicit === true ? configFile.path : undefined,
    warnings,
    logLevel: raisedLogLevel(config.observability.logLevel, options.verbose),
    shutdownTimeoutMs: durationFlag("--shutdown-timeout", options.shutdownTimeout)!,
    waitBeforeRunMs: durationFlag("--wait-before-run", options.waitBeforeRun),
    settleForMs: durationFlag("--settle-for", options.settleFor),
    prints,
  };
}

function reportError(line: string): void {
  process.stderr.write(`nx: error: ${line}\n`);
}

/**
 * The exit code of a failure before any guest ran: an operating error there (flags, config, a
 * module, a datastore path that cannot be used, TLS files, an address in use) is input the user
 * can correct, so exit 2; anything else is a fault of the node, exit 1.
 */
function startupExitCode(error: unknown): number {
  return error instanceof NumaxError ? EXIT_USAGE : EXIT_RUN_FAILED;
}

/** What a guest may read of the environment: NX_ and NUMAX_ variables, minus the node's own settings (keys, paths). */
function guestVisibleEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !CONFIG_ENV_NAMES.has(name)) env[name] = value;
  }
  return env;
}

function guestEnvironment(module: GuestModule, logger: Logger, node: NumaxNode): GuestEnvironment {
  const eventLogger = logger.child("events");
  return {
    moduleId: module.moduleId,
    store: node.guestStore,
    crdt: node.crdt,
    logger: gatedLogger(logger.child("guest").child(module.moduleId), node.outputGate),
    env: guestVisibleEnv(),
    args: [module.moduleId],
    clock: { nowMs: () => Date.now(), monotonicMs },
    // node:crypto loads only when a guest asks for randomness: most runs never do, and loading
    // it costs milliseconds of start-up.
    randomFill: (target) => {
      process.getBuiltinModule("node:crypto").randomFillSync(target);
    },
    emitEvent: (name, payload) =>
      eventLogger.info("guest event", { module: module.moduleId, name, bytes: payload.length }),
    // The runners give every module its own line sinks (prefixed when there are several); these
    // plain writers are only the environment's default.
    stdout: (bytes) => process.stdout.write(bytes),
    stderr: (bytes) => process.stderr.write(bytes),
    capabilities: ["wasi"],
    hostCalls: node.hostCalls,
  };
}

export async function runModulesCommand(invocation: RunInvocation): Promise<number> {
  const { modules: modulePaths, options } = invocation;
  let settings: RunSettings;
  try {
    settings = await resolveRunSettings(invocation);
  } catch (error) {
    reportError(describeError(error));
    return startupExitCode(error);
  }
  const { config } = settings;
  const logger = createLogger({ level: settings.logLevel, format: config.observability.logFormat });
  if (settings.implicitConfigFile !== undefined) {
    logger.info(
      `configuration read from ${resolve(settings.implicitConfigFile)} (found in the working directory)`,
    );
  }
  for (const warning of settings.warnings) logger.warn(warning);
  let datastorePath: string;
  try {
    // A datastore path that cannot be a directory fails here, before anything else touches it.
    datastorePath = (await prepareDatastore(config.storage.datastorePath)).datastorePath;
  } catch (error) {
    reportError(describeError(error));
    return startupExitCode(error);
  }
  const cache = new ModuleCache({
    directory: join(datastorePath, MODULE_CACHE_DIRECTORY),
    logger: logger.child("wasm"),
  });

  const modules: GuestModule[] = [];
  try {
    for (const path of modulePaths) {
      const module = await loadGuestModuleFile(path, {
        memoryMaxBytes: config.limits.memoryMaxMb * 1024 * 1024,
        cache,
        logger: logger.child("wasm"),
      });
      checkImports(module.label, module.imports);
      modules.push(module);
    }
  } catch (error) {
    reportError(describeError(error));
    return startupExitCode(error);
  }

  let node: NumaxNode;
  try {
    node = await startNumaxNode({
      config,
      logger,
      needsStore: modules.some((module) => importsStore(module.imports)),
      version: NUMAX_VERSION,
    });
  } catch (error) {
    reportError(describeError(error));
    return startupExitCode(error);
  }

  const interrupt = new AbortController();
  let interruptedBy: string | undefined;
  let wakeServe: (() => void) | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interruptedBy !== undefined) {
      reportError(`${signal} again: exiting at once`);
      process.exit(EXIT_SIGNAL_TWICE);
    }
    interruptedBy = signal;
    logger[node.sync === undefined ? "debug" : "info"]("shutting down", {
      signal,
      shutdownTimeoutMs: settings.shutdownTimeoutMs,
    });
    interrupt.abort(`interrupted by ${signal}`);
    wakeServe?.();
    setTimeout(() => {
      reportError(`shutdown did not finish within ${options.shutdownTimeout}; exiting`);
      process.exit(EXIT_RUN_FAILED);
    }, settings.shutdownTimeoutMs).unref();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  let failed = false;
  let guestInterrupted = false;
  const wasmLogger = logger.child("wasm");
  try {
    if (node.sync !== undefined) {
      if (settings.waitBeforeRunMs !== undefined) await node.sync.waitForPeers(settings.waitBeforeRunMs);
      await node.sync.recoverOwnHistory();
    }
    // Every module runs as a WebAssembly process under the node's root supervisor: their output
    // interleaves line by line, and a runaway or trapping module never stalls the others. A lone
    // module that cannot use processes runs the same way without loading the kernel.
    const runGuests = canRunAlone(modules)
      ? runLoneGuest
      : (await import("./guest-processes.ts")).runGuestProcesses;
    await runGuests(modules, {
      environment: (module) => guestEnvironment(module, logger, node),
      store: node.guestStore,
      crdt: node.crdt,
      logger,
      cpuMsPerRun: config.limits.cpuMsPerRun,
      stdout: gatedStream(process.stdout, node.outputGate),
      stderr: gatedStream(process.stderr, node.outputGate),
      signal: interrupt.signal,
      shutdownTimeoutMs: settings.shutdownTimeoutMs,
      onModuleExit: (result) => {
        node.metrics?.guestCpuSeconds.inc(result.cpuMs / 1000);
        const runResult = result.ok
          ? "ok"
          : result.failure === undefined
            ? "error"
            : guestRunResultLabel(result.failure);
        node.metrics?.moduleRuns.inc({ result: runResult });
        if (result.ok) return;
        failed = true;
        if (interruptedBy !== undefined) guestInterrupted = true;
        if (runResult === "trap") node.metrics?.traps.inc({ kind: result.failure!.kind });
        const record = guestFailureRecord(result, interruptedBy);
        wasmLogger.warn(record.message, record.fields);
        reportError(`${result.module.label}: ${result.message}`);
      },
    });
    if (node.sync !== undefined && interruptedBy === undefined) {
      if (settings.settleForMs !== undefined) {
        await new Promise<void>((resolve) => {
          wakeServe = resolve;
          setTimeout(resolve, settings.settleForMs);
        });
      } else {
        logger.info("serving until SIGINT or SIGTERM", {
          nodeId: node.nodeId,
          listen: node.sync.peers.listenAddress(),
        });
        await new Promise<void>((resolve) => {
          wakeServe = resolve;
        });
      }
    }
  } catch (error) {
    failed = true;
    reportError(describeError(error));
  }

  // A one-shot run whose peers all refused it synced nothing: that is a failure, not a result.
  const refusal = settings.settleForMs === undefined ? undefined : node.sync?.refusedByEveryPeer();
  if (refusal !== undefined) {
    failed = true;
    reportError(refusal);
  }
  try {
    await node.sync?.stop();
    printValues(node, settings.prints, options.json === true);
    await closeWithin(node, settings.shutdownTimeoutMs, options.shutdownTimeout);
    await node.outputGate.drained();
  } catch (error) {
    failed = true;
    reportError(describeError(error));
  }
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  // In serve mode a signal is the normal way to stop; during a guest run it interrupts the guest.
  return failed || guestInterrupted ? EXIT_RUN_FAILED : EXIT_OK;
}

function printValues(node: NumaxNode, prints: readonly PrintRequest[], json: boolean): void {
  if (node.crdt === undefined || prints.length === 0) return;
  const crdt = node.crdt;
  const values = prints.map(({ family, key }) => ({ key, value: readCrdtValue(crdt, family, key) }));
  if (json) {
    const body = { nodeId: node.nodeId, values: values.map(({ key, value }) => crdtValueToJson(key, value)) };
    process.stdout.write(`${JSON.stringify(body)}\n`);
    return;
  }
  for (const { key, value } of values) process.stdout.write(`${formatCrdtLine(key, value)}\n`);
}

/** Guest bytes written to `stream` once the writes before them are durable. */
function gatedStream(stream: ByteStream, gate: DurableOutputGate): ByteStream {
  return { write: (bytes) => gate.release(() => stream.write(bytes)) };
}

/** Closing flushes: once it resolves, every write the guests made is durable. */
async function closeWithin(node: NumaxNode, timeoutMs: number, timeoutText: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new NumaxError("STORE_CLOSE_TIMEOUT", `the node did not shut down within ${timeoutText}`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([node.close(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
