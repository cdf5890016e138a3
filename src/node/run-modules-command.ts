import { randomFillSync } from "node:crypto";
import { join } from "node:path";
import type { RunCommandOptions } from "../cli/commands/run.ts";
import { EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE } from "../cli/exit-codes.ts";
import { parseDuration } from "../config/duration.ts";
import type { ConfigFlags } from "../config/resolve.ts";
import { resolveConfig } from "../config/resolve.ts";
import { describeError, NumaxError } from "../errors/numax-error.ts";
import { createLogger } from "../observe/create-logger.ts";
import { LOG_LEVELS, type Logger, type LogLevel } from "../observe/logger.ts";
import { prepareDatastore } from "../store/datastore-layout.ts";
import type { GuestEnvironment } from "../wasm/abi/guest-environment.ts";
import { checkImports, importsStore } from "../wasm/guest-imports.ts";
import { GuestInstance } from "../wasm/guest-instance.ts";
import { type GuestModule, loadGuestModuleFile } from "../wasm/load-guest-module.ts";
import { ModuleCache } from "../wasm/module-cache.ts";
import { type OutputSink, passthroughSink, prefixedLineSink } from "./guest-output.ts";

/**
 * `nx run <module.wasm>...`: resolves the settings (flags > NX_* > config file > defaults),
 * loads and checks every module first (a bad module fails the command before anything runs),
 * opens the store when a module imports `db_*`, runs the modules one after the other, then
 * flushes the store, so that every write a guest made is on disk when the command exits 0.
 *
 * Returns the exit code; every failure is one `nx: error:` line on stderr.
 */

/** Subdirectory of the datastore holding instrumented modules (see module-cache.ts). */
export const MODULE_CACHE_DIRECTORY = "module-cache";

const EXIT_SIGNAL_TWICE = 130;

interface RunSettings {
  readonly datastorePath: string;
  readonly cpuMsPerRun: number | undefined;
  readonly memoryMaxBytes: number;
  readonly logLevel: LogLevel;
  readonly logFormat: "text" | "json";
  readonly shutdownTimeoutMs: number;
}

/** `verbose` steps down from `level` towards trace. */
export function raisedLogLevel(level: LogLevel, verbose: number): LogLevel {
  return LOG_LEVELS[Math.max(0, LOG_LEVELS.indexOf(level) - verbose)]!;
}

async function resolveRunSettings(options: RunCommandOptions): Promise<RunSettings> {
  const flags: ConfigFlags = {
    "storage.datastore_path": options.datastorePath,
    "limits.cpu_ms_per_run": options.cpuMsPerRun,
    "limits.memory_max_mb": options.memoryMaxMb,
    "observability.log_level": options.logLevel,
    "observability.log_format": options.logFormat,
  };
  const { config } = await resolveConfig({ flags, env: process.env, configPath: options.config });
  let shutdownTimeoutMs: number;
  try {
    shutdownTimeoutMs = parseDuration(options.shutdownTimeout);
  } catch (error) {
    throw new NumaxError("USAGE_INVALID_FLAG", `--shutdown-timeout: ${describeError(error)}`);
  }
  return {
    datastorePath: config.storage.datastorePath,
    cpuMsPerRun: config.limits.cpuMsPerRun,
    memoryMaxBytes: config.limits.memoryMaxMb * 1024 * 1024,
    logLevel: raisedLogLevel(config.observability.logLevel, options.verbose),
    logFormat: config.observability.logFormat,
    shutdownTimeoutMs,
  };
}

function reportError(line: string): void {
  process.stderr.write(`nx: error: ${line}\n`);
}

function exitCodeOf(error: unknown): number {
  return error instanceof NumaxError && (error.code.startsWith("USAGE") || error.code.startsWith("MODULE_"))
    ? EXIT_USAGE
    : EXIT_RUN_FAILED;
}

function definedEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined) env[name] = value;
  return env;
}

function guestEnvironment(
  module: GuestModule,
  logger: Logger,
  store: GuestEnvironment["store"],
  stdout: OutputSink,
  stderr: OutputSink,
): GuestEnvironment {
  const eventLogger = logger.child("events");
  return {
    moduleId: module.moduleId,
    store,
    logger: logger.child("guest").child(module.moduleId),
    env: definedEnv(),
    args: [module.moduleId],
    clock: { nowMs: () => Date.now(), monotonicMs: () => performance.now() },
    randomFill: (target) => {
      randomFillSync(target);
    },
    emitEvent: (name, payload) =>
      eventLogger.info("guest event", { module: module.moduleId, name, bytes: payload.length }),
    stdout: (bytes) => stdout.write(bytes),
    stderr: (bytes) => stderr.write(bytes),
    capabilities: ["wasi"],
  };
}

interface OpenedStore {
  readonly guestStore: GuestEnvironment["store"];
  close(): Promise<void>;
}

async function openStore(datastorePath: string, logger: Logger): Promise<OpenedStore> {
  // lmdb costs tens of milliseconds to load: a guest that never touches the store does not pay it.
  const [{ openLmdbBackend }, { createGuestStore }] = await Promise.all([
    import("../store/lmdb-backend.ts"),
    import("../store/guest-store.ts"),
  ]);
  const backend = await openLmdbBackend({ path: datastorePath, logger });
  return { guestStore: createGuestStore(backend), close: () => backend.close() };
}

export async function runModulesCommand(
  modulePaths: readonly string[],
  options: RunCommandOptions,
): Promise<number> {
  let settings: RunSettings;
  try {
    settings = await resolveRunSettings(options);
  } catch (error) {
    reportError(describeError(error));
    return exitCodeOf(error);
  }
  const logger = createLogger({ level: settings.logLevel, format: settings.logFormat });
  let datastorePath: string;
  try {
    // A datastore path that cannot be a directory fails here, before anything else touches it.
    datastorePath = (await prepareDatastore(settings.datastorePath)).datastorePath;
  } catch (error) {
    reportError(describeError(error));
    return exitCodeOf(error);
  }
  const cache = new ModuleCache({
    directory: join(datastorePath, MODULE_CACHE_DIRECTORY),
    logger: logger.child("wasm"),
  });

  const modules: GuestModule[] = [];
  try {
    for (const path of modulePaths) {
      const module = await loadGuestModuleFile(path, {
        memoryMaxBytes: settings.memoryMaxBytes,
        cache,
        logger: logger.child("wasm"),
      });
      checkImports(module.label, module.imports);
      modules.push(module);
    }
  } catch (error) {
    reportError(describeError(error));
    return exitCodeOf(error);
  }

  let store: OpenedStore | undefined;
  if (modules.some((module) => importsStore(module.imports))) {
    try {
      store = await openStore(datastorePath, logger);
    } catch (error) {
      reportError(describeError(error));
      return exitCodeOf(error);
    }
  }

  let running: GuestInstance | undefined;
  let interruptedBy: string | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interruptedBy !== undefined) {
      reportError(`${signal} again: exiting at once`);
      process.exit(EXIT_SIGNAL_TWICE);
    }
    interruptedBy = signal;
    logger.debug("stopping", { signal, shutdownTimeoutMs: settings.shutdownTimeoutMs });
    running?.kill(`interrupted by ${signal}`);
    setTimeout(() => {
      reportError(`shutdown did not finish within ${options.shutdownTimeout}; exiting`);
      process.exit(EXIT_RUN_FAILED);
    }, settings.shutdownTimeoutMs).unref();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  let failed = false;
  try {
    const several = modules.length > 1;
    for (const module of modules) {
      if (interruptedBy !== undefined) break;
      const stdout = several
        ? prefixedLineSink(process.stdout, `[${module.moduleId}] `)
        : passthroughSink(process.stdout);
      const stderr = several
        ? prefixedLineSink(process.stderr, `[${module.moduleId}] `)
        : passthroughSink(process.stderr);
      const env = guestEnvironment(module, logger, store?.guestStore, stdout, stderr);
      running = GuestInstance.create(module, { env, cpuMsPerRun: settings.cpuMsPerRun });
      const result = await running.run();
      running = undefined;
      stdout.end();
      stderr.end();
      if (!result.ok) {
        failed = true;
        reportError(`${module.label}: ${result.failure.message}`);
      }
    }
  } catch (error) {
    failed = true;
    reportError(describeError(error));
  }

  if (store !== undefined) {
    try {
      await closeWithin(store, settings.shutdownTimeoutMs, options.shutdownTimeout);
    } catch (error) {
      failed = true;
      reportError(describeError(error));
    }
  }
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  return failed || interruptedBy !== undefined ? EXIT_RUN_FAILED : EXIT_OK;
}

/** Closing flushes: once it resolves, every write the guests made is durable. */
async function closeWithin(store: OpenedStore, timeoutMs: number, timeoutText: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new NumaxError("STORE_CLOSE_TIMEOUT", `the store did not flush within ${timeoutText}`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([store.close(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
