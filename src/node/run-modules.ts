import { resolve } from "node:path";
import type { ListedModule, ModuleSettings } from "../config/module-settings.ts";
import type { NodeConfig } from "../config/node-config.ts";
import { describeError, NumaxError } from "../errors/numax-error.ts";
import type { NodeEventBus } from "../events/node-event-bus.ts";
import { MESSAGE_PAYLOAD_MAX_BYTES } from "../events/topic.ts";
import { childPath } from "../fs/child-path.ts";
import { processStderr, processStdout } from "../fs/stdio-writer.ts";
import { createLogger } from "../observe/create-logger.ts";
import type { Logger, LogLevel } from "../observe/logger.ts";
import { AuditLog } from "../policy/audit-log.ts";
import { resolveModulePolicies } from "../policy/module-policies.ts";
import type { ModulePolicy } from "../policy/module-policy.ts";
import { serveRefusal } from "../policy/module-policy.ts";
import { quotasInForce } from "../policy/module-quotas.ts";
import { PolicyError } from "../policy/policy-error.ts";
import { readPemText } from "../policy/policy-signature.ts";
import { SERVE_CPU_MS_PER_REQUEST_DEFAULT } from "../serve/serve-limits.ts";
import type { ServeSettings } from "../serve/serve-settings.ts";
import { type DatastoreLayout, prepareDatastore } from "../store/datastore-layout.ts";
import { checkImports, importsStore } from "../wasm/guest-imports.ts";
import { type GuestModule, loadGuestModuleBytes, loadGuestModuleFile } from "../wasm/load-guest-module.ts";
import { ModuleCache } from "../wasm/module-cache.ts";
import { moduleCallbacks } from "../wasm/module-callbacks.ts";
import { type CrdtFamilyName, crdtValueToJson, formatCrdtLine, readCrdtValue } from "./crdt-values.ts";
import type { Determinism } from "./determinism.ts";
import { Interrupt } from "./interrupt.ts";
import { ModuleHostError } from "./module-host-error.ts";
import { type NumaxNode, startNumaxNode } from "./numax-node.ts";

/**
 * What `nx run <module.wasm>...` does once its command line is read (src/cli/run-command.ts):
 * loads and checks every module first (a bad module fails the run before anything runs),
 * starts the node with them (store when needed; sync with `--listen`; metrics with
 * `--observability-listen`; the module host runs them: src/node/module-host.ts), waits until
 * they have ended (reactive modules: until SIGINT/SIGTERM or the end of `--settle-for`), and then:
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
  /** `[modules.<module id>]` tables (or `[[modules]]` entries) of the config file. */
  readonly moduleSettings: ReadonlyMap<string, ModuleSettings>;
  /** The modules `[[modules]]` lists: they run before the ones of the command line. */
  readonly listedModules: readonly ListedModule[];
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
  /** HTTP listeners (`[[serve]]` tables, `--serve`); the run then lasts until SIGINT/SIGTERM. */
  readonly serve: readonly ServeSettings[];
  /** `[management] listen` was not set: busy, the API takes a free port rather than failing the start. */
  readonly managementListenIsDefault: boolean;
  /** `--policy` values: `FILE` or `MODULE=FILE` (src/policy/module-policies.ts). */
  readonly policyFlags: readonly string[];
  /** `[dashboard] listen` was not set: busy, the dashboard takes a free port rather than failing the start. */
  readonly dashboardListenIsDefault: boolean;
  /** `--deterministic`: seeded randomness and virtual time for the guests and the replica. */
  readonly determinism?: Determinism;
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
  /** The Numax version (reported by the metrics' `numax_build_info`, snapshots, introspection), read when first reported. */
  readonly version: () => string;
  /** Ends the process now: a second SIGINT/SIGTERM, or a shutdown that overran its timeout. */
  readonly exitNow: (reason: ForcedExit) => never;
  /**
   * The node runs until SIGINT/SIGTERM whatever its modules do (`nx dev`: a module that fails
   * waits for its next reload); see ModuleHostOptions.keepRunning.
   */
  readonly keepRunning?: boolean;
  /** Called once the node has started, before its modules run (`nx dev` reloads through it). */
  readonly onStarted?: (node: NumaxNode) => void;
  /** SIGINT/SIGTERM that came while `nx run` loaded (bin/nx.js), handled as if they came now. */
  readonly startupSignals?: StartupSignals;
}

/**
 * bin/nx.js's handlers of SIGINT/SIGTERM while the CLI loads, before runModules has its own:
 * `take()` removes them and returns the signals they received, in order. `startupStopped()` is
 * called when a signal stopped the start-up: the run compiled little of its path, and bin/nx.js
 * keeps it from writing the CLI's code cache (a node stopped so exits 0, like one that ran).
 */
export interface StartupSignals {
  take(): readonly NodeJS.Signals[];
  startupStopped(): void;
}

const MIB = 1024 * 1024;

function reportError(line: string): void {
  processStderr.write(`nx: error: ${line}\n`);
}

/**
 * A failure before any guest ran: an operating error there is input the user can correct;
 * anything else is a fault of the node.
 */
function startupOutcome(error: unknown): RunOutcome {
  return error instanceof NumaxError ? "refused" : "failed";
}

export async function runModules({
  modulePaths,
  settings,
  version,
  exitNow,
  keepRunning = false,
  onStarted,
  startupSignals,
}: RunModulesOptions): Promise<RunOutcome> {
  const { config } = settings;
  const logger = createLogger({ level: settings.logLevel, format: config.observability.logFormat });
  // SIGINT/SIGTERM are the node's from the start: one during start-up stops it there (the step
  // under way ends, nothing more starts, no module runs); once started, shutdown begins.
  let interruptedBy: NodeJS.Signals | undefined;
  const startup = new Interrupt();
  /** Begins shutdown once the node has started (set then). */
  let beginShutdown: ((signal: NodeJS.Signals) => void) | undefined;
  let signalledAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interruptedBy !== undefined) {
      reportError(`${signal} again: exiting at once`);
      exitNow("signal-twice");
    }
    interruptedBy = signal;
    signalledAt = performance.now();
    logger[config.network.listen === undefined ? "debug" : "info"]("shutting down", {
      signal,
      shutdownTimeoutMs: settings.shutdownTimeoutMs,
    });
    setTimeout(() => {
      reportError(`shutdown did not finish within ${settings.shutdownTimeoutText}; exiting`);
      exitNow("shutdown-timeout");
    }, settings.shutdownTimeoutMs).unref();
    if (beginShutdown === undefined) startup.abort(signal);
    else beginShutdown(signal);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // Taken once these are on: a signal between the two would have no handler, the default kill.
  for (const signal of startupSignals?.take() ?? []) onSignal(signal);
  /** The run ends before its modules ran: the signal handlers go. */
  const endedBeforeRunning = (outcome: RunOutcome): RunOutcome => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    return outcome;
  };
  /**
   * Whether the node runs until a signal (it syncs, serves or runs reactive modules), rather than
   * ending by itself once its modules ran.
   */
  const runsUntilStopped = (reactive: boolean): boolean =>
    settings.settleForMs === undefined &&
    (config.network.listen !== undefined || settings.serve.length > 0 || reactive);
  /**
   * A signal stopped the start. A node that runs until stopped ends as gracefully as at a
   * shutdown (0); a run that ends by itself was interrupted before its modules ran, which fails
   * as when they are interrupted running (1): a script must not read it as done.
   */
  const stoppedDuringStartup = (untilStopped: boolean): RunOutcome => {
    logger.info(`start-up stopped by ${interruptedBy}: no module ran`);
    startupSignals?.startupStopped();
    return endedBeforeRunning(untilStopped || keepRunning ? "ok" : "failed");
  };
  if (settings.implicitConfigFile !== undefined) {
    logger.info(
      `configuration read from ${resolve(settings.implicitConfigFile)} (found in the working directory)`,
    );
  }
  for (const warning of settings.warnings) logger.warn(warning);
  if (startupSignals !== undefined) {
    // A signal caught while the CLI loaded but not yet handed to JavaScript (the main thread was
    // busy: the bundle's read, the configuration's) waits for the event loop's next poll, which
    // a short run may not reach before its end: one turn of the loop hands it to onSignal now.
    await new Promise<void>((resolve) => setImmediate(resolve));
    // Stopped there, nothing is prepared, not even the datastore's directory.
    if (interruptedBy !== undefined) return stoppedDuringStartup(runsUntilStopped(false));
  }
  let datastore: DatastoreLayout;
  try {
    // A datastore path that cannot be a directory fails here, before anything else touches it;
    // the store opens this layout as it is, without preparing it again.
    datastore = await prepareDatastore(config.storage.datastorePath);
  } catch (error) {
    reportError(describeError(error));
    return endedBeforeRunning(startupOutcome(error));
  }
  // Its modules are not loaded yet: whether one is reactive is not known.
  if (interruptedBy !== undefined) return stoppedDuringStartup(runsUntilStopped(false));
  const cache = new ModuleCache({
    directory: childPath(datastore.datastorePath, MODULE_CACHE_DIRECTORY),
    logger: logger.child("wasm"),
  });

  const loadOptions = {
    memoryMaxBytes: config.limits.memoryMaxMb * MIB,
    cache,
    logger: logger.child("wasm"),
  };
  /** Every module's code, at start and at a hot reload: read (or given), validated, compiled, checked. */
  const readModule = async (
    { path, bytes }: { path: string; bytes?: Uint8Array },
    memoryMaxBytes = loadOptions.memoryMaxBytes,
  ): Promise<GuestModule> => {
    const options = { ...loadOptions, memoryMaxBytes };
    const module =
      bytes === undefined
        ? await loadGuestModuleFile(path, options)
        : await loadGuestModuleBytes(bytes, path, options);
    checkImports(module.label, module.imports);
    return module;
  };
  /** `module` as module `moduleId` (a [[modules]] id names it instead of its file name). */
  const named = (module: GuestModule, moduleId: string | undefined): GuestModule =>
    moduleId === undefined || moduleId === module.moduleId ? module : { ...module, moduleId };
  const policySources = (flags: readonly string[]) => ({
    flags,
    configured: (moduleId: string) => settings.moduleSettings.get(moduleId)?.policy,
    policyDefault: config.policy.default,
    signatures: config.policy.requireSignatures ? policySigners(config) : undefined,
  });
  /**
   * Each module's policy, by the loaded code it belongs to (not by id: a reload that is refused
   * after its code loaded leaves the running code's policy as it was). Code added or reloaded at
   * run time gets its policy here as it loads (a module without one is refused like at start);
   * `--policy` flags apply to the modules of the command line.
   */
  const policies = new WeakMap<GuestModule, ModulePolicy>();
  const startIds = new Set<string>();
  /**
   * `module` under its own `memory_max_mb` (docs/design/policies.md#quotas): the cap is compiled
   * into the code, so code whose quota differs from `limits.memory_max_mb` is loaded again with it.
   */
  const underMemoryQuota = async (
    module: GuestModule,
    source: { path: string; bytes?: Uint8Array },
    policy: ModulePolicy | undefined,
  ): Promise<GuestModule> => {
    const quotas = quotasInForce(policy, settings.moduleSettings.get(module.moduleId)?.quotas, config.limits);
    const capped =
      quotas.memoryMaxMb === undefined || quotas.memoryMaxMb === config.limits.memoryMaxMb
        ? module
        : named(await readModule(source, quotas.memoryMaxMb * MIB), module.moduleId);
    if (policy !== undefined) policies.set(capped, policy);
    return capped;
  };
  const loadModule = async (source: {
    path: string;
    bytes?: Uint8Array;
    moduleId: string;
  }): Promise<GuestModule> => {
    const module = named(await readModule(source), source.moduleId);
    const resolved = resolveModulePolicies(
      [module],
      policySources(startIds.has(module.moduleId) ? settings.policyFlags : []),
      logger.child("policy"),
    );
    return underMemoryQuota(module, source, resolved.get(module.moduleId));
  };
  const modules: GuestModule[] = [];
  const sources = [...settings.listedModules, ...modulePaths.map((path) => ({ path, moduleId: undefined }))];
  try {
    for (const { path, moduleId } of sources) {
      const module = named(await readModule({ path }), moduleId);
      if (startIds.has(module.moduleId)) {
        throw new ModuleHostError(
          "MODULE_EXISTS",
          `module id ${module.moduleId} is given twice (${path}); each module runs once: give one of them another id in numax.toml [[modules]]`,
        );
      }
      startIds.add(module.moduleId);
      modules.push(module);
    }
    const resolved = resolveModulePolicies(
      modules,
      policySources(settings.policyFlags),
      logger.child("policy"),
    );
    for (const [index, module] of modules.entries()) {
      modules[index] = await underMemoryQuota(module, sources[index]!, resolved.get(module.moduleId));
    }
  } catch (error) {
    reportError(describeError(error));
    return endedBeforeRunning(startupOutcome(error));
  }
  // A node that keeps running (until a signal) has the management API and the dashboard; a run
  // that ends by itself has nothing to manage.
  const keepsRunning = runsUntilStopped(modules.some((module) => moduleCallbacks(module).size > 0));
  if (interruptedBy !== undefined) return stoppedDuringStartup(keepsRunning);

  const auditLog =
    config.policy.auditLog === undefined
      ? undefined
      : new AuditLog({
          path: config.policy.auditLog,
          sampleEvery: config.policy.auditSampleEvery,
          nowMs: () => Date.now(),
          logger: logger.child("policy"),
        });
  let failed = false;
  let node: NumaxNode;
  try {
    node = await startNumaxNode({
      config,
      logger,
      needsStore: modules.some((module) => importsStore(module.imports)),
      version,
      datastore,
      determinism: settings.determinism,
      signal: startup,
      runsUntilStopped: keepsRunning,
      management: keepsRunning ? { listenIsDefault: settings.managementListenIsDefault } : undefined,
      dashboard: keepsRunning ? { listenIsDefault: settings.dashboardListenIsDefault } : undefined,
      modules: {
        modules,
        moduleSettings: settings.moduleSettings,
        policies,
        auditLog,
        shutdownTimeoutMs: settings.shutdownTimeoutMs,
        waitBeforeRunMs: settings.waitBeforeRunMs,
        loadModule,
        keepRunning,
        onModuleFailed: (result) => {
          failed = true;
          reportError(`${result.module.label}: ${result.message}`);
        },
      },
      serve: {
        listeners: settings.serve,
        moduleStaticMounts: new Map(
          [...settings.moduleSettings].map(([moduleId, each]) => [moduleId, each.staticMounts]),
        ),
        cpuMsPerRequest: config.limits.cpuMsPerRun ?? SERVE_CPU_MS_PER_REQUEST_DEFAULT,
        shutdownTimeoutMs: settings.shutdownTimeoutMs,
        // Top-level modules' processes run `trusted`; their policies narrow what they may reach.
        profile: "trusted",
        serveRefusal: (module) => serveRefusal(policies.get(module)),
      },
    });
  } catch (error) {
    await auditLog?.close();
    // Stopped by a signal during its start: the parts started were stopped (the store closed).
    if (startup.aborted && error === startup.reason) return stoppedDuringStartup(keepsRunning);
    reportError(describeError(error));
    return endedBeforeRunning(startupOutcome(error));
  }
  const host = node.modules!;
  onStarted?.(node);

  let wakeServe: (() => void) | undefined;
  /** Resolves once shutdown has begun (not ready, serving drained) and the modules were told to end. */
  let shutdownBegun: Promise<void> = Promise.resolve();
  const started = node;
  beginShutdown = (signal) => {
    // Shutdown begins before anything stops: the node reports not ready and its modules refuse
    // changes; serving stops taking connections and drains what is in flight (up to half the
    // timeout); then the modules end, with half of what is left for their `shutdown` and half
    // for sync and the store.
    const interrupt = (): void => {
      const leftMs = settings.shutdownTimeoutMs - (performance.now() - signalledAt);
      host.interrupt(signal, Math.max(0, leftMs / 2));
    };
    // beginStop never rejects; a listener that fails to close is thrown by close, whose serving
    // stop waits for the same close.
    shutdownBegun = started
      .beginStop()
      .then(() => started.serve?.stopServing())
      .then(interrupt, interrupt);
    wakeServe?.();
  };
  // A signal during the start's last step (the modules had begun): shutdown begins now.
  if (interruptedBy !== undefined) beginShutdown(interruptedBy);

  // Reactive modules run until the node stops: a signal, or the end of --settle-for.
  const keepAlive = host.reactive || keepRunning ? setInterval(() => {}, 1 << 30) : undefined;
  const settled =
    host.reactive && settings.settleForMs !== undefined
      ? setTimeout(() => host.interrupt("--settle-for"), settings.settleForMs)
      : undefined;
  const stdin =
    settings.stdinTopic === undefined
      ? undefined
      : publishStdinLines(node.events, settings.stdinTopic, logger);
  try {
    await host.ended;
    if (node.serve !== undefined && interruptedBy === undefined) {
      // Serving lasts until a signal, whatever the modules' `run` did.
      logger.info("serving until SIGINT or SIGTERM", {
        urls: node.serve.listeners.map(({ url }) => url).join(" "),
      });
      await new Promise<void>((resolve) => {
        wakeServe = resolve;
        if (interruptedBy !== undefined) resolve();
      });
    } else if (node.sync !== undefined && interruptedBy === undefined && !host.reactive) {
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
  // Sync stops after serving has drained and the modules have ended.
  await shutdownBegun;
  clearInterval(keepAlive);
  clearTimeout(settled);
  stdin?.close();
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
    await auditLog?.close();
  } catch (error) {
    failed = true;
    reportError(describeError(error));
  }
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  // In serve mode a signal is the normal way to stop; during a guest run it interrupts the guest.
  return failed ? "failed" : "ok";
}

/** The CA whose certificates may sign policies: the cluster's (`tls.ca`). */
function policySigners(config: NodeConfig): { caPem: string; now: Date } {
  if (config.tls.ca === undefined) {
    throw new PolicyError(
      "POLICY_SIGNATURE_INVALID",
      "policy.require_signatures needs tls.ca: the CA (from nx cert ca) whose certificates sign the policies",
    );
  }
  return {
    caPem: readPemText(config.tls.ca, "tls.ca (the CA whose certificates sign policies)"),
    now: new Date(),
  };
}

function printValues(node: NumaxNode, prints: readonly PrintRequest[], json: boolean): void {
  if (node.crdt === undefined || prints.length === 0) return;
  const crdt = node.crdt;
  const values = prints.map(({ family, key }) => ({ key, value: readCrdtValue(crdt, family, key) }));
  if (json) {
    const body = { nodeId: node.nodeId, values: values.map(({ key, value }) => crdtValueToJson(key, value)) };
    processStdout.write(`${JSON.stringify(body)}\n`);
    return;
  }
  for (const { key, value } of values) processStdout.write(`${formatCrdtLine(key, value)}\n`);
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
