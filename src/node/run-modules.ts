import { join, resolve } from "node:path";
import { monotonicMs } from "../clock/monotonic-clock.ts";
import type { ModuleSettings } from "../config/module-settings.ts";
import type { NodeConfig } from "../config/node-config.ts";
import { CONFIG_ENV_NAMES } from "../config/schema.ts";
import { describeError, NumaxError } from "../errors/numax-error.ts";
import type { ModuleEvents } from "../events/module-events.ts";
import type { NodeEventBus } from "../events/node-event-bus.ts";
import { MESSAGE_PAYLOAD_MAX_BYTES } from "../events/topic.ts";
import { createLogger } from "../observe/create-logger.ts";
import type { Logger, LogLevel } from "../observe/logger.ts";
import { prepareDatastore } from "../store/datastore-layout.ts";
import type { GuestEnvironment } from "../wasm/abi/guest-environment.ts";
import { guestRunResultLabel } from "../wasm/guest-failure.ts";
import { checkImports, importsStore } from "../wasm/guest-imports.ts";
import { type GuestModule, loadGuestModuleFile } from "../wasm/load-guest-module.ts";
import { ModuleCache } from "../wasm/module-cache.ts";
import { moduleCallbacks } from "../wasm/module-callbacks.ts";
import { type CrdtFamilyName, crdtValueToJson, formatCrdtLine, readCrdtValue } from "./crdt-values.ts";
import { type DurableOutputGate, gatedLogger } from "./durable-output.ts";
import { guestFailureRecord } from "./guest-failure-record.ts";
import type { ByteStream } from "./guest-output.ts";
import { canRunAlone, runLoneGuest } from "./lone-guest.ts";
import { type NumaxNode, startNumaxNode } from "./numax-node.ts";

/**
 * What `nx run <module.wasm>...` does once its command line is read (src/cli/run-command.ts):
 * loads and checks every module first (a bad module fails the run before anything runs),
 * starts the node (store when needed; sync with `--listen`; metrics with
 * `--observability-listen`), runs the modules one after the other, and then:
 * - without sync: closes the store (flushing it) and returns;
 * - with `--settle-for`: keeps syncing that long, prints `--print-*` values, returns;
 * - otherwise (serve mode): keeps syncing until SIGINT/SIGTERM, then shuts down gracefully
 *   within `--shutdown-timeout` and prints the values.
 *
 * Returns how the run ended; every failure is one `nx: error:` line on stderr.
 */

/** Subdirectory of the datastore holding instrumented modules (see module-cache.ts). */
export const MODULE_CACHE_DIRECTORY = "module-cache";

/** A CRDT value to print when the node stops (`--print-<family> <key>`). */
export interface PrintRequest {
  readonly family: CrdtFamilyName;
  readonly key: string;
}

/** A run's settings, resolved from flags > NX_* > config file > defaults by the CLI. */
export interface RunSettings {
  readonly config: NodeConfig;
  /** `[modules.<module id>]` tables of the config file. */
  readonly moduleSettings: ReadonlyMap<string, ModuleSettings>;
  /** ./numax.toml when it was read without --config: said once at info, a file acting unasked. */
  readonly implicitConfigFile: string | undefined;
  /** Mistyped `NX_*` variables, one warning line each. */
  readonly warnings: readonly string[];
  readonly logLevel: LogLevel;
  readonly shutdownTimeoutMs: number;
  /** `--shutdown-timeout` as the user wrote it, for the lines that name it. */
  readonly shutdownTimeoutText: string;
  readonly waitBeforeRunMs: number | undefined;
  readonly settleForMs: number | undefined;
  readonly prints: readonly PrintRequest[];
  /** `--stdin-topic`: each stdin line becomes a message on this topic to this node's modules. */
  readonly stdinTopic: string | undefined;
  /** Print the values as one JSON object (`--json`). */
  readonly json: boolean;
}

/**
 * How a run ended: `refused` when an operating error stopped it before any guest ran (input the
 * user can correct: a module, a datastore path, TLS files, an address in use), `failed` when a
 * guest or the node failed (or a guest was interrupted).
 */
export type RunOutcome = "ok" | "refused" | "failed";

/** Why a run ends the process at once, without a graceful shutdown. */
export type ForcedExit = "signal-twice" | "shutdown-timeout";

export interface RunModulesOptions {
  readonly modulePaths: readonly string[];
  readonly settings: RunSettings;
  /** Reported by the metrics (`numax_build_info`). */
  readonly version: string;
  /** Ends the process now: a second SIGINT/SIGTERM, or a shutdown that overran its timeout. */
  readonly exitNow: (reason: ForcedExit) => never;
}

function reportError(line: string): void {
  process.stderr.write(`nx: error: ${line}\n`);
}

/**
 * A failure before any guest ran: an operating error there is input the user can correct;
 * anything else is a fault of the node.
 */
function startupOutcome(error: unknown): RunOutcome {
  return error instanceof NumaxError ? "refused" : "failed";
}

/** What a guest may read of the environment: NX_ and NUMAX_ variables, minus the node's own settings (keys, paths). */
function guestVisibleEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !CONFIG_ENV_NAMES.has(name)) env[name] = value;
  }
  return env;
}

function guestEnvironment(
  module: GuestModule,
  logger: Logger,
  node: NumaxNode,
  events: ModuleEvents | undefined,
): GuestEnvironment {
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
    events,
  };
}

export async function runModules({
  modulePaths,
  settings,
  version,
  exitNow,
}: RunModulesOptions): Promise<RunOutcome> {
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
    return startupOutcome(error);
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
    return startupOutcome(error);
  }

  let node: NumaxNode;
  try {
    node = await startNumaxNode({
      config,
      logger,
      needsStore: modules.some((module) => importsStore(module.imports)),
      version,
    });
  } catch (error) {
    reportError(describeError(error));
    return startupOutcome(error);
  }

  const bus = node.events;
  const moduleEvents = new Map(
    modules.map((module) => [
      module,
      bus.addModule({
        moduleId: module.moduleId,
        callbacks: moduleCallbacks(module),
        tickMs: settings.moduleSettings.get(module.moduleId)?.tickMs,
      }),
    ]),
  );
  for (const moduleId of settings.moduleSettings.keys()) {
    if (!modules.some((module) => module.moduleId === moduleId)) {
      logger.warn(`[modules.${moduleId}] in the configuration names no module of this run`, {
        modules: modules.map((module) => module.moduleId),
      });
    }
  }
  const reactive = [...moduleEvents.values()].some((events) => events.reactive);

  const interrupt = new AbortController();
  let interruptedBy: string | undefined;
  let wakeServe: (() => void) | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interruptedBy !== undefined) {
      reportError(`${signal} again: exiting at once`);
      exitNow("signal-twice");
    }
    interruptedBy = signal;
    logger[node.sync === undefined ? "debug" : "info"]("shutting down", {
      signal,
      shutdownTimeoutMs: settings.shutdownTimeoutMs,
    });
    interrupt.abort(`interrupted by ${signal}`);
    wakeServe?.();
    setTimeout(() => {
      reportError(`shutdown did not finish within ${settings.shutdownTimeoutText}; exiting`);
      exitNow("shutdown-timeout");
    }, settings.shutdownTimeoutMs).unref();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  let failed = false;
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
    // Reactive modules run until the node stops: a signal, or the end of --settle-for.
    const keepAlive = reactive ? setInterval(() => {}, 1 << 30) : undefined;
    const settled =
      reactive && settings.settleForMs !== undefined
        ? setTimeout(
            () => interrupt.abort(`--settle-for ${settings.settleForMs} ms passed`),
            settings.settleForMs,
          )
        : undefined;
    const stdin =
      settings.stdinTopic === undefined ? undefined : publishStdinLines(bus, settings.stdinTopic, logger);
    if (reactive) logger.info("reactive modules running until SIGINT or SIGTERM", { nodeId: node.nodeId });
    await runGuests(modules, {
      environment: (module) => guestEnvironment(module, logger, node, moduleEvents.get(module)),
      moduleEvents: (module) => moduleEvents.get(module),
      onModuleCrash: (result) => {
        const record = guestFailureRecord(result, undefined);
        const callback = moduleEvents.get(result.module)?.failedIn;
        wasmLogger.warn(`${record.message} in ${callback ?? "a callback"}; restarting it`, {
          ...record.fields,
          callback,
        });
        if (result.failure !== undefined) node.metrics?.traps.inc({ kind: result.failure.kind });
      },
      store: node.guestStore,
      crdt: node.crdt,
      logger,
      cpuMsPerRun: config.limits.cpuMsPerRun,
      stdout: gatedStream(process.stdout, node.outputGate),
      stderr: gatedStream(process.stderr, node.outputGate),
      signal: interrupt.signal,
      shutdownTimeoutMs: settings.shutdownTimeoutMs,
      onModuleExit: (result) => {
        const events = moduleEvents.get(result.module);
        // A reactive module's state is kept by its runner (stopped, failed, crashed).
        if (events !== undefined && !events.reactive) events.setState(result.ok ? "ended" : "failed");
        node.metrics?.guestCpuSeconds.inc(result.cpuMs / 1000);
        const runResult = result.ok
          ? "ok"
          : result.failure === undefined
            ? "error"
            : guestRunResultLabel(result.failure);
        node.metrics?.moduleRuns.inc({ result: runResult });
        if (result.ok) return;
        failed = true;
        if (runResult === "trap") node.metrics?.traps.inc({ kind: result.failure!.kind });
        const record = guestFailureRecord(result, interruptedBy);
        wasmLogger.warn(record.message, record.fields);
        reportError(`${result.module.label}: ${result.message}`);
      },
    });
    clearInterval(keepAlive);
    clearTimeout(settled);
    stdin?.close();
    if (node.sync !== undefined && interruptedBy === undefined && !reactive) {
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
    printValues(node, settings.prints, settings.json);
    await closeWithin(node, settings.shutdownTimeoutMs, settings.shutdownTimeoutText);
    await node.outputGate.drained();
  } catch (error) {
    failed = true;
    reportError(describeError(error));
  }
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  // In serve mode a signal is the normal way to stop; during a guest run it interrupts the guest.
  return failed ? "failed" : "ok";
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

/** `--stdin-topic`: every line typed on stdin is a message on `topic` to this node's modules. */
function publishStdinLines(bus: NodeEventBus, topic: string, logger: Logger): { close(): void } {
  const { createInterface } = process.getBuiltinModule("node:readline");
  const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  const utf8 = new TextEncoder();
  lines.on("line", (line) => {
    const payload = utf8.encode(line);
    if (payload.length > MESSAGE_PAYLOAD_MAX_BYTES) {
      logger.warn(
        `stdin line of ${payload.length} bytes not published: messages hold at most ${MESSAGE_PAYLOAD_MAX_BYTES}`,
      );
      return;
    }
    bus.publishLocal(topic, payload);
  });
  return {
    close: () => {
      lines.close();
      process.stdin.unref?.();
    },
  };
}
