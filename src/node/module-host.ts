import { monotonicMs } from "../clock/monotonic-clock.ts";
import type { ModuleSettings } from "../config/module-settings.ts";
import type { NodeConfig } from "../config/node-config.ts";
import { CONFIG_ENV_NAMES } from "../config/schema.ts";
import { describeError } from "../errors/numax-error.ts";
import type { ModuleEvents } from "../events/module-events.ts";
import type { NodeEventBus } from "../events/node-event-bus.ts";
import { processStderr, processStdout } from "../fs/stdio-writer.ts";
import type { Kernel } from "../kernel/kernel.ts";
import { createOutboundFetch } from "../net/outbound-fetch.ts";
import type { Logger } from "../observe/logger.ts";
import type { AuditLog } from "../policy/audit-log.ts";
import { type ModuleNamespace, moduleNamespace } from "../policy/module-namespace.ts";
import { fetchHostsOf, type ModulePolicy } from "../policy/module-policy.ts";
import { type ModuleQuotas, quotasInForce } from "../policy/module-quotas.ts";
import { assertNamespacesApart } from "../policy/namespace-overlap.ts";
import { modulePolicyEnforcer } from "../policy/policy-enforcer.ts";
import { createQuotaGate } from "../policy/quota-gate.ts";
import type { GuestEnvironment } from "../wasm/abi/guest-environment.ts";
import { isGuestVisibleEnvName } from "../wasm/abi/guest-visible-env.ts";
import { HostCallCounter } from "../wasm/abi/host-call-counter.ts";
import { GuestUsage, hardQuotaOf } from "../wasm/abi/host-call-quota.ts";
import { guestRunResultLabel } from "../wasm/guest-failure.ts";
import { type GuestModule, isValidModuleId, MODULE_ID_LENGTH_MAX } from "../wasm/load-guest-module.ts";
import { moduleCallbacks, runsAsModule } from "../wasm/module-callbacks.ts";
import type { Component } from "./component.ts";
import type { Determinism } from "./determinism.ts";
import { type DurableOutputGate, gatedLogger } from "./durable-output.ts";
import { guestFailureRecord } from "./guest-failure-record.ts";
import type { ByteStream } from "./guest-output.ts";
import type { GuestProcessesOutcome, GuestProcessResult, RunningModules } from "./guest-processes.ts";
import { Interrupt } from "./interrupt.ts";
import { canRunAlone, runLoneGuest } from "./lone-guest.ts";
import type { ModuleChange, ModuleChangeHandler } from "./module-change.ts";
import { ModuleHostError } from "./module-host-error.ts";
import { MODULE_RESTART_WINDOW_MS, MODULE_RESTARTS_MAX } from "./module-restart-intensity.ts";
import type {
  EventsComponent,
  MetricsComponent,
  NodeComponentName,
  OutputGateComponent,
  ReplicaComponent,
  StoreComponent,
  SyncComponent,
} from "./node-components.ts";

/** The modules a node runs, with what `nx run` decided about them. */
export interface ModuleHostOptions {
  readonly modules: readonly GuestModule[];
  /** `[modules.<id>]` tables of the config file. */
  readonly moduleSettings: ReadonlyMap<string, ModuleSettings>;
  /** Each module's policy (docs/design/policies.md); a module without one is trusted. */
  readonly policies?: { get(module: GuestModule): ModulePolicy | undefined };
  /** The opt-in audit log of host calls (`policy.audit_log`). */
  readonly auditLog?: AuditLog;
  readonly shutdownTimeoutMs: number;
  /** With sync: wait up to this long for the configured peers before any module runs. */
  readonly waitBeforeRunMs?: number;
  /** A module ended other than normally (already logged and counted): the CLI's error line. */
  readonly onModuleFailed?: (result: GuestProcessResult) => void;
  /**
   * Loads and checks a module's code for `add` and `reload`: `bytes` when given, else the file
   * at `path` (run-modules.ts: the loader `nx run` uses, with its cache and checks), as module
   * `moduleId` (which a `[[modules]]` entry may set apart from the file name): the module
   * returned carries that id, and its policy is that id's. Absent: the node's modules cannot
   * change while it runs.
   */
  readonly loadModule?: (source: {
    readonly path: string;
    readonly bytes?: Uint8Array;
    readonly moduleId: string;
  }) => Promise<GuestModule>;
  /**
   * The node runs until it is interrupted, whatever its modules do (`nx dev`: a module given up
   * waits for its next reload): `ended` resolves only after `interrupt`.
   */
  readonly keepRunning?: boolean;
  /** `--deterministic`: the guests' clock and randomness (docs/design/determinism.md). */
  readonly determinism?: Determinism;
}

/** One module the host runs, as it is now, and its accounting since it was started or added. */
export interface LoadedModule {
  readonly id: string;
  /** Its code now. */
  readonly module: GuestModule;
  /** The file its code was read from (what a reload without bytes reads again); undefined: added as bytes. */
  readonly path: string | undefined;
  /** Its events, once the host started (every module has them; reactive ones use them). */
  readonly events: ModuleEvents | undefined;
  /**
   * When its code now was loaded (Unix ms). A number, formatted where it is shown: the first
   * `Date` a process makes reads the local time zone (/etc/localtime), 0.1 ms of every `nx run`.
   */
  readonly loadedAtMs: number;
  /** Reloads since it was started or added. */
  readonly reloads: number;
  /** Guest CPU time of its runs that ended (a reactive module's is counted per callback: `events`). */
  readonly endedRunsCpuMs: number;
  /** Host calls of its guests (reloads included). */
  readonly hostCalls: HostCallCounter;
  /** What its host calls used, and its quota hits (reloads included). */
  readonly usage: GuestUsage;
  /** The quotas its code now runs under (its policy's, narrowed by numax.toml). */
  readonly quotas: ModuleQuotas;
}

export interface ModuleHostComponent extends Component {
  readonly name: "modules";
  readonly dependsOn: readonly NodeComponentName[];
  /** Whether a module is reactive: the modules then run until the node is stopped. */
  readonly reactive: boolean;
  /**
   * Resolves once every module has ended: one-shot modules returned or failed, reactive ones
   * stopped (their `shutdown` ran) or were given up. Rejects only for a fault of the node.
   */
  readonly ended: Promise<GuestProcessesOutcome>;
  /**
   * Ends the modules now: reactive ones get their `shutdown` call (for at most `shutdownMsMax`,
   * default half of `shutdownTimeoutMs`), the others are stopped; `by` (a signal name,
   * "--settle-for") is what their results and failure lines say.
   */
  interrupt(by: string, shutdownMsMax?: number): void;
  /**
   * The environment of `module`'s processes (store, replica, events, logger: what its `run`
   * has), for other processes of the module such as HTTP handlers. Only once started.
   */
  environment(module: GuestModule): GuestEnvironment;
  /** Runs `emit` once the writes the node made before are durable (the output gate): for what handlers send. */
  release(emit: () => void): void;
  /** The modules it runs now, in the order they were given or added, with what introspection reports. */
  loaded(): readonly LoadedModule[];
  /** The kernel its processes run on, while they run (a lone one-shot module has none). */
  readonly kernel: Kernel | undefined;
  /** Hands every module's host calls since the last drain to `visit` (for the metrics). */
  drainHostCalls(visit: (module: string, name: string, calls: number) => void): void;
  /** `handler` checks and follows every later change of the modules (add, reload, remove). */
  onModuleChange(handler: ModuleChangeHandler): void;
  /**
   * Loads `bytes` as module `id` (`path`: where they came from, for messages and later reloads)
   * and starts it as the node's modules started (reactive: `init`, then its events); resolves
   * once a reactive module's `init` returned (or it crashed). Refused with a ModuleHostError
   * (`MODULE_EXISTS`, `MODULE_INVALID_ID`, `MODULE_HOST_STOPPED`) or the loader's error.
   */
  add(source: {
    readonly id: string;
    readonly bytes: Uint8Array;
    readonly path?: string;
  }): Promise<LoadedModule>;
  /**
   * Hot reload (docs/hot-reload.md): replaces module `id`'s code with `bytes`, or with its file
   * read again. New processes (requests, spawns) run the new code at once and processes already
   * running finish on the old; a reactive module's `shutdown` runs on the old code, then `init`
   * on the new, and the events that came meanwhile wait for it; its routes become the new
   * code's. Store, CRDTs and peer connections are not touched. Code that fails to load or
   * validate is refused (one warning line, the loader's or serving's error) and the old code
   * goes on. Resolves once the new code runs (reactive: its `init` returned or it crashed) with
   * how long the reload took. Reloads of one module run one after the other.
   */
  reload(id: string, bytes?: Uint8Array): Promise<{ readonly reloadMs: number }>;
  /** Stops module `id` (reactive: its `shutdown`, with the shutdown timeout) and removes it. */
  remove(id: string): Promise<void>;
}

/**
 * The node's module host (docs/design/node-lifecycle.md): runs the modules as WebAssembly
 * processes under one root supervisor (src/node/guest-processes.ts), or a lone module without
 * the kernel, with every part of the node they may use: store, replicated state, the event bus
 * of reactive modules, the output gate, metrics. Its start only prepares their environments; the
 * modules begin once every component has started (`afterStart`: a node that fails to start, a
 * serving listener refused for instance, never ran one) and run in the background (waiting for
 * peers and recovering this node's own history come first); its stop ends them (reactive
 * modules' `shutdown` first) before the parts they use stop.
 */
export function moduleHostComponent(
  config: NodeConfig,
  logger: Logger,
  options: ModuleHostOptions,
  parts: {
    readonly store: StoreComponent | undefined;
    readonly replica: ReplicaComponent | undefined;
    readonly sync: SyncComponent | undefined;
    readonly metrics: MetricsComponent | undefined;
    readonly events: EventsComponent;
    readonly outputGate: OutputGateComponent;
  },
): ModuleHostComponent {
  const interrupt = new Interrupt();
  let interruptedBy: string | undefined;
  let reactiveShutdownMs = options.shutdownTimeoutMs / 2;
  /** Shutdown has begun (beforeStop): the modules still run until interrupted, but cannot change. */
  let shuttingDown = false;
  let resolveEnded!: (outcome: GuestProcessesOutcome) => void;
  let rejectEnded!: (error: unknown) => void;
  const ended = new Promise<GuestProcessesOutcome>((resolve, reject) => {
    resolveEnded = resolve;
    rejectEnded = reject;
  });
  let started = false;
  const reactive = options.modules.some((module) => moduleCallbacks(module).size > 0);
  const wasmLogger = logger.child("wasm");
  const hostLogger = logger.child("modules");

  /** The modules by id, in the order they were given or added. */
  const hosted = new Map<string, Hosted>();
  /**
   * Modules being added, or revived by a reload with fresh events, before the host holds them
   * so: serving runs their new code's `routes` (building the environment its processes keep)
   * while the change may still be refused.
   */
  const pending = new Map<string, Hosted>();
  const handlers: ModuleChangeHandler[] = [];
  /** Every run of modules: the node's first, then one per module added or revived. */
  const runs: Promise<GuestProcessesOutcome>[] = [];
  /** Resolves once peers were waited for and this node's history recovered: modules may run. */
  let resolvePrepared!: (go: boolean) => void;
  const prepared = new Promise<boolean>((resolve) => {
    resolvePrepared = resolve;
  });
  /** Changes of one module run one after the other. */
  const changes = new Map<string, Promise<unknown>>();
  const serialized = <T>(id: string, change: () => Promise<T>): Promise<T> => {
    const done = (changes.get(id) ?? Promise.resolve()).then(change, change);
    const settled = done.catch(() => {});
    changes.set(id, settled);
    void settled.then(() => {
      if (changes.get(id) === settled) changes.delete(id);
    });
    return done;
  };

  let node: NodeParts | undefined;
  /** The host's own kernel, shared by every run, so the node's introspection can list its processes. */
  let kernel: Kernel | undefined;
  /** Host calls of modules removed since the last drain, still to be reported. */
  const removedHostCalls: HostCallCounter[] = [];
  const environments = new Map<GuestModule, GuestEnvironment>();
  /** Each module's key namespace, by its code (a module without a policy has none). */
  const namespaces = new WeakMap<GuestModule, ModuleNamespace>();
  const namespaceOf = (module: GuestModule): ModuleNamespace | undefined => {
    let namespace = namespaces.get(module);
    const policy = options.policies?.get(module);
    if (namespace === undefined && policy !== undefined) {
      namespace = moduleNamespace(module.moduleId, policy);
      namespaces.set(module, namespace);
    }
    return namespace;
  };
  const environment = (module: GuestModule): GuestEnvironment => {
    if (node === undefined) throw new Error("the module host has not started");
    let env = environments.get(module);
    if (env === undefined) {
      const entry = pending.get(module.moduleId) ?? hosted.get(module.moduleId);
      env = guestEnvironment(module, logger, node, entry?.events, entry?.hostCalls, options.determinism);
      env.usage = entry?.usage;
      const policy = options.policies?.get(module);
      const quotas = quotasOf(module);
      if (Object.keys(quotas).length > 0) {
        env.quota = createQuotaGate(
          module.moduleId,
          quotas,
          entry?.usage ?? new GuestUsage(),
          logger.child("quota"),
          monotonicMs,
        );
      }
      const namespace = namespaceOf(module);
      if (namespace !== undefined) {
        env.namespace = namespace;
        env.policy = modulePolicyEnforcer(
          module.moduleId,
          namespace,
          logger.child("policy"),
          monotonicMs,
          options.auditLog,
        );
      }
      if (options.auditLog !== undefined) env.callLog = options.auditLog.forModule(module.moduleId);
      env.httpFetch = createOutboundFetch({
        moduleId: module.moduleId,
        hosts: fetchHostsOf(policy, options.moduleSettings.get(module.moduleId)?.httpFetchHosts ?? []),
        logger: logger.child("http_fetch"),
        nowMs: monotonicMs,
      });
      environments.set(module, env);
    }
    return env;
  };

  const quotasOf = (module: GuestModule): ModuleQuotas =>
    quotasInForce(
      options.policies?.get(module),
      options.moduleSettings.get(module.moduleId)?.quotas,
      config.limits,
    );

  /**
   * Refuses `module` (added, or new code of a running one) when a shared glob of its policy or of
   * another module's reaches into the other's namespace (POLICY_NAMESPACE_OVERLAP).
   */
  const assertApartFromOthers = (module: GuestModule): void => {
    const others = [...hosted.values()].filter((entry) => entry.id !== module.moduleId && !entry.removing);
    assertNamespacesApart([
      { id: module.moduleId, policy: options.policies?.get(module) },
      ...others.map((entry) => ({ id: entry.id, policy: options.policies?.get(entry.module) })),
    ]);
  };

  const addEvents = (bus: NodeEventBus, module: GuestModule): ModuleEvents =>
    bus.addModule({
      moduleId: module.moduleId,
      callbacks: moduleCallbacks(module),
      tickMs: options.moduleSettings.get(module.moduleId)?.tickMs,
      // The code running when the op arrives decides (a reload may bring another policy).
      remoteKey: (family, key) => {
        const namespace = namespaceOf(hosted.get(module.moduleId)?.module ?? module);
        return namespace === undefined ? key : namespace.visibleCrdtKey(family, key);
      },
    });

  /** A run the CPU budget or the memory cap ended is a hit of that quota (its failure line is the log line). */
  const countHardQuotaHit = (result: GuestProcessResult): void => {
    const quota = result.failure === undefined ? undefined : hardQuotaOf(result.failure.kind);
    if (quota !== undefined) hosted.get(result.module.moduleId)?.usage.countHit(quota);
  };

  /** Runs `modules` (the node's first ones, or one added) as processes until they end. */
  const runModules = async (modules: readonly GuestModule[]): Promise<GuestProcessesOutcome> => {
    const running = new Map<string, (run: RunningModules | undefined) => void>();
    for (const module of modules) {
      const entry = hosted.get(module.moduleId)!;
      entry.run = new Promise((resolve) => running.set(module.moduleId, resolve));
    }
    const metrics = parts.metrics?.metrics;
    const gate = parts.outputGate.gate!;
    // Every module runs as a WebAssembly process under the node's root supervisor: their output
    // interleaves line by line, and a runaway or trapping module never stalls the others. A lone
    // one-shot module that cannot use processes runs the same way without loading the kernel
    // (nothing of it can be reloaded but its handlers' code).
    const restartOf = (module: GuestModule) => options.moduleSettings.get(module.moduleId)?.restart;
    // A module its supervisor restarts needs the kernel even alone.
    const alone = canRunAlone(modules) && (restartOf(modules[0]!) ?? "temporary") === "temporary";
    let runGuests = runLoneGuest;
    if (alone) for (const resolve of running.values()) resolve(undefined);
    else {
      const [{ runGuestProcesses }, { createKernel }] = await Promise.all([
        import("./guest-processes.ts"),
        import("../kernel/index.ts"),
      ]);
      runGuests = runGuestProcesses;
      kernel ??= createKernel({ logger: logger.child("kernel") });
    }
    return runGuests(modules, {
      kernel: alone ? undefined : kernel,
      environment,
      moduleEvents: (module) => hosted.get(module.moduleId)?.events,
      store: node!.store,
      crdt: node!.crdt,
      logger,
      cpuMsPerRun: config.limits.cpuMsPerRun,
      stdout: gatedStream(processStdout, gate),
      stderr: gatedStream(processStderr, gate),
      signal: interrupt,
      shutdownTimeoutMs: options.shutdownTimeoutMs,
      reactiveShutdownMs: () => reactiveShutdownMs,
      onRunning: (run) => {
        for (const resolve of running.values()) resolve(run);
      },
      restartOf,
      onModuleCrash: (result) => {
        const record = guestFailureRecord(result, undefined);
        const events = hosted.get(result.module.moduleId)?.events;
        const callback = events?.failedIn;
        const where = callback ?? (events?.reactive === true ? "a callback" : "run");
        wasmLogger.warn(
          `${record.message} in ${where}; its supervisor restarts it (at most ${MODULE_RESTARTS_MAX} times in ${MODULE_RESTART_WINDOW_MS / 1000} s)`,
          {
            ...record.fields,
            callback,
          },
        );
        if (result.failure !== undefined) metrics?.traps.inc({ kind: result.failure.kind });
        countHardQuotaHit(result);
      },
      onModuleExit: (result) => {
        const events = hosted.get(result.module.moduleId)?.events;
        // A reactive module's state is kept by its runner (stopped, failed, crashed).
        if (events !== undefined && !events.reactive) events.setState(result.ok ? "ended" : "failed");
        // A reactive module's guest time is counted per callback call (the node's event observer).
        if (events === undefined || !events.reactive) {
          metrics?.guestCpuSeconds.inc(result.cpuMs / 1000);
          const entry = hosted.get(result.module.moduleId);
          if (entry !== undefined) entry.endedRunsCpuMs += result.cpuMs;
        }
        const runResult = result.ok
          ? "ok"
          : result.failure === undefined
            ? "error"
            : guestRunResultLabel(result.failure);
        metrics?.moduleRuns.inc({ result: runResult });
        if (result.ok) return;
        countHardQuotaHit(result);
        if (runResult === "trap") metrics?.traps.inc({ kind: result.failure!.kind });
        const record = guestFailureRecord(result, interruptedBy);
        wasmLogger.warn(record.message, record.fields);
        options.onModuleFailed?.(result);
      },
    });
  };

  /**
   * How every run ended, once the last has ended (runs added meanwhile included): each module's
   * latest result (a module revived by a reload ran again).
   */
  const allRuns = async (): Promise<GuestProcessesOutcome> => {
    const latest = new Map<string, GuestProcessResult>();
    for (let awaited = 0; ; ) {
      if (awaited < runs.length) {
        for (const result of (await runs[awaited++]!).results) latest.set(result.module.moduleId, result);
        continue;
      }
      // Removing modules never ends the node: with none left it runs until interrupted.
      const removedAll = [...hosted.values()].every((entry) => entry.removing);
      if (interrupt.aborted || !(options.keepRunning === true || removedAll)) break;
      await new Promise<void>((resolve) => interrupt.addEventListener("abort", resolve, { once: true }));
    }
    const results = [...latest.values()];
    return { ok: results.every((result) => result.ok), results };
  };

  const run = async (): Promise<GuestProcessesOutcome> => {
    for (const moduleId of options.moduleSettings.keys()) {
      if (!options.modules.some((module) => module.moduleId === moduleId)) {
        logger.warn(`[modules.${moduleId}] in the configuration names no module of this run`, {
          modules: options.modules.map((module) => module.moduleId),
        });
      }
    }
    const sync = parts.sync?.service;
    try {
      if (sync !== undefined) {
        if (options.waitBeforeRunMs !== undefined) await sync.waitForPeers(options.waitBeforeRunMs);
        await sync.recoverOwnHistory();
      }
    } catch (error) {
      resolvePrepared(false);
      throw error;
    }
    resolvePrepared(!interrupt.aborted);
    if (interrupt.aborted) return { ok: true, results: [] };
    if (reactive)
      logger.info("reactive modules running until SIGINT or SIGTERM", { nodeId: parts.replica?.nodeId });
    // A module that only serves (no `run`, no callbacks) has no process of its own: its
    // handlers run per request.
    runs.push(runModules(options.modules.filter(runsAsModule)));
    return allRuns();
  };

  /** Shutdown has begun: a change not yet in place is refused. */
  const stoppingNow = (): boolean => interruptedBy !== undefined || shuttingDown;

  /** Loads module `id`'s new code; a ModuleLoadError (or the loader's) refuses it. */
  const load = async (id: string, path: string, bytes: Uint8Array | undefined): Promise<GuestModule> => {
    if (stoppingNow()) throw stopping();
    if (options.loadModule === undefined) {
      throw new ModuleHostError("MODULE_HOST_STOPPED", "this node's modules cannot change while it runs");
    }
    // The loader names the module: a copy made here would lose the policy it keyed by the code.
    const module = await options.loadModule({ path, bytes, moduleId: id });
    if (module.moduleId !== id)
      throw new Error(`the module loader returned module ${module.moduleId} for ${id}`);
    return module;
  };

  /** Asks every part using the modules to accept `change`; resolves with how to apply it in all of them. */
  const prepare = async (what: ModuleChange): Promise<() => void> => {
    const apply = await Promise.all(handlers.map((handler) => handler.prepare(what)));
    return () => {
      for (const each of apply) each();
    };
  };

  /** The run module `entry` belongs to, once the node's modules may run (undefined: a lone run). */
  const runOf = async (entry: Hosted): Promise<RunningModules | undefined> => {
    if (!(await prepared)) throw stopping();
    return entry.run;
  };

  const find = (id: string): Hosted => {
    const entry = hosted.get(id);
    if (entry === undefined) {
      throw new ModuleHostError(
        "MODULE_NOT_FOUND",
        `no module "${id}" runs on this node (running: ${[...hosted.keys()].join(", ") || "none"})`,
      );
    }
    return entry;
  };

  /** Runs `entry` in a run of its own (a module added, or given up and reloaded). */
  const startRun = (entry: Hosted): Promise<void> => {
    const settled = entry.events.reactive ? entry.events.settledState(entry.events.code) : undefined;
    const outcome = runModules([entry.module].filter(runsAsModule));
    runs.push(outcome);
    return settled === undefined ? Promise.resolve() : Promise.race([settled, outcome]).then(() => {});
  };

  const stopping = (): ModuleHostError =>
    new ModuleHostError(
      "MODULE_HOST_STOPPED",
      `the node is shutting down${interruptedBy === undefined ? "" : ` (${interruptedBy})`}: its modules cannot change`,
    );

  const refused = (id: string, action: string, error: unknown): never => {
    hostLogger.warn(`${action} of module ${id} refused: ${describeError(error)}`, { module: id });
    throw error;
  };

  const dependsOn: NodeComponentName[] = ["events", "output-gate"];
  for (const [name, part] of [
    ["store", parts.store],
    ["replica", parts.replica],
    ["sync", parts.sync],
    ["metrics", parts.metrics],
  ] as const) {
    if (part !== undefined) dependsOn.push(name);
  }
  return {
    name: "modules",
    dependsOn,
    reactive,
    ended,
    interrupt: (by, shutdownMsMax) => {
      if (interruptedBy !== undefined) return;
      interruptedBy = by;
      if (shutdownMsMax !== undefined) reactiveShutdownMs = Math.min(reactiveShutdownMs, shutdownMsMax);
      interrupt.abort(`interrupted by ${by}`);
    },
    environment,
    release: (emit) => parts.outputGate.gate!.release(emit),
    loaded: () => [...hosted.values()].map((entry) => view(entry, quotasOf(entry.module))),
    get kernel() {
      return kernel;
    },
    drainHostCalls: (visit) => {
      for (const counter of removedHostCalls.splice(0)) counter.drain(visit);
      for (const { hostCalls } of hosted.values()) hostCalls.drain(visit);
    },
    onModuleChange: (handler) => {
      handlers.push(handler);
    },
    add: ({ id, bytes, path }) =>
      serialized(id, async () => {
        if (!isValidModuleId(id)) {
          throw new ModuleHostError(
            "MODULE_INVALID_ID",
            `"${id}" cannot name a module: use 1 to ${MODULE_ID_LENGTH_MAX} letters, digits and _ . - (starting with a letter or digit)`,
          );
        }
        if (hosted.has(id)) {
          throw new ModuleHostError(
            "MODULE_EXISTS",
            `a module "${id}" already runs on this node (reload it, or remove it first)`,
          );
        }
        let module: GuestModule;
        try {
          module = await load(id, path ?? `${id}.wasm`, bytes);
          assertApartFromOthers(module);
        } catch (error) {
          return refused(id, "add", error);
        }
        const entry = newHosted(id, path, module, addEvents(parts.events.bus!, module));
        const forget = () => {
          parts.events.bus!.removeModule(entry.events);
          entry.events.close();
          environments.delete(module);
        };
        // Before serving runs its `routes`: the environment built then has its events.
        pending.set(id, entry);
        let apply: () => void;
        try {
          apply = await prepare({ kind: "add", module });
        } catch (error) {
          forget();
          return refused(id, "add", error);
        } finally {
          pending.delete(id);
        }
        if (!(await prepared) || hosted.has(id)) {
          forget();
          throw stopping();
        }
        try {
          // Shutdown may have begun while the code loaded or its routes were checked: a module
          // taken in now would start after the others were told to end.
          if (stoppingNow()) throw stopping();
          // Again, with no await until it is held: another module may have been added or
          // reloaded while this one prepared.
          assertApartFromOthers(module);
        } catch (error) {
          forget();
          return refused(id, "add", error);
        }
        hosted.set(id, entry);
        apply();
        await startRun(entry);
        hostLogger.info("module added", {
          module: id,
          sha256: module.sha256,
          reactive: entry.events.reactive,
        });
        return view(entry, quotasOf(module));
      }),
    reload: (id, bytes) =>
      serialized(id, async () => {
        const startedMs = monotonicMs();
        const entry = find(id);
        const run = await runOf(entry);
        const previous = entry.module;
        let next: GuestModule;
        let apply: () => void;
        // Given up: the new code starts it again, in a run of its own with fresh events.
        let revived: ModuleEvents | undefined;
        try {
          if (bytes === undefined && entry.path === undefined) {
            throw new ModuleHostError(
              "MODULE_NO_FILE",
              `module ${id} was added as bytes and has no file to read again: give the new code's bytes`,
            );
          }
          next = await load(id, entry.path ?? previous.label, bytes);
          const wasReactive = moduleCallbacks(previous).size > 0;
          if (wasReactive !== moduleCallbacks(next).size > 0) {
            throw new ModuleHostError(
              "MODULE_KIND_CHANGED",
              `${next.label}: the new code is ${wasReactive ? "one-shot (it exports no callback)" : "reactive (it exports callbacks)"} and the running code is not: remove the module and add it again`,
            );
          }
          if (run?.running(id) !== true && entry.events.reactive) {
            revived = addEvents(parts.events.bus!, next);
            pending.set(id, { ...entry, module: next, events: revived });
          }
          apply = await prepare({ kind: "reload", previous, next });
          // After the last await: shutdown may have begun meanwhile (the old code then ends
          // with the node, the new never runs), and the new code's policy against the modules held now.
          if (stoppingNow()) throw stopping();
          assertApartFromOthers(next);
        } catch (error) {
          if (revived !== undefined) {
            parts.events.bus!.removeModule(revived);
            revived.close();
          }
          return refused(id, "reload", error);
        } finally {
          pending.delete(id);
        }
        entry.module = next;
        entry.loadedAtMs = Date.now();
        entry.reloads++;
        environments.delete(previous);
        apply();
        if (revived !== undefined) {
          parts.events.bus!.removeModule(entry.events);
          entry.events = revived;
          await startRun(entry);
        } else await run?.replace(next);
        const reloadMs = Math.round((monotonicMs() - startedMs) * 100) / 100;
        hostLogger.info("module reloaded", { module: id, sha256: next.sha256, reloadMs });
        return { reloadMs };
      }),
    remove: (id) =>
      serialized(id, async () => {
        const entry = find(id);
        const run = await runOf(entry);
        (await prepare({ kind: "remove", module: entry.module }))();
        entry.removing = true;
        await run?.stop(id);
        hosted.delete(id);
        removedHostCalls.push(entry.hostCalls);
        parts.events.bus!.removeModule(entry.events);
        entry.events.close();
        environments.delete(entry.module);
        hostLogger.info("module removed", { module: id });
      }),
    start: () => {
      assertNamespacesApart(
        options.modules.map((module) => ({ id: module.moduleId, policy: options.policies?.get(module) })),
      );
      const bus = parts.events.bus!;
      for (const module of options.modules) {
        hosted.set(module.moduleId, newHosted(module.moduleId, module.label, module, addEvents(bus, module)));
      }
      node = {
        store: parts.store?.guestStore,
        crdt: parts.replica?.replica,
        gate: parts.outputGate.gate!,
      };
    },
    // The modules run once every part of the node is up, the ones that depend on the module
    // host included (serving): a node refused at start never ran a module.
    afterStart: () => {
      started = true;
      run().then(resolveEnded, rejectEnded);
    },
    // Serving drains before the modules are interrupted (run-modules.ts): no changes meanwhile.
    beforeStop: () => {
      shuttingDown = true;
    },
    stop: async () => {
      if (!started) return;
      if (interruptedBy === undefined) {
        interruptedBy = "node shutdown";
        interrupt.abort("the node is shutting down");
      }
      // A fault of the node is reported by whoever awaits `ended`; modules added after the
      // node's first ones ended are waited for too.
      await ended.catch(() => {});
      await Promise.allSettled(runs);
      await kernel?.shutdown({ timeoutMs: options.shutdownTimeoutMs });
    },
  };
}

/** A hosted module with the run it belongs to (undefined: not started yet, or a lone run). */
interface Hosted {
  readonly id: string;
  readonly path: string | undefined;
  module: GuestModule;
  events: ModuleEvents;
  loadedAtMs: number;
  reloads: number;
  endedRunsCpuMs: number;
  readonly hostCalls: HostCallCounter;
  readonly usage: GuestUsage;
  /** Being removed: its end does not end the node. */
  removing: boolean;
  /** The run it belongs to, once started (resolves undefined for a lone run). */
  run: Promise<RunningModules | undefined> | undefined;
}

/** A module the host has just taken in: loaded now, nothing counted yet, not yet running. */
function newHosted(id: string, path: string | undefined, module: GuestModule, events: ModuleEvents): Hosted {
  return {
    id,
    path,
    module,
    events,
    loadedAtMs: Date.now(),
    reloads: 0,
    endedRunsCpuMs: 0,
    hostCalls: new HostCallCounter(),
    usage: new GuestUsage(),
    removing: false,
    run: undefined,
  };
}

function view(
  { id, path, module, events, loadedAtMs, reloads, endedRunsCpuMs, hostCalls, usage }: Hosted,
  quotas: ModuleQuotas,
): LoadedModule {
  return { id, path, module, events, loadedAtMs, reloads, endedRunsCpuMs, hostCalls, usage, quotas };
}

/** The parts of the node a module's environment hands to it. */
interface NodeParts {
  readonly store: GuestEnvironment["store"];
  readonly crdt: GuestEnvironment["crdt"];
  readonly gate: DurableOutputGate;
}

/** What a guest may read of the environment: NX_ and NUMAX_ variables, minus the node's own settings (keys, paths). */
function guestVisibleEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  // Names first: a value is read only for a visible name (the host's environment can be large,
  // and each value read from process.env is a new string).
  for (const name in process.env) {
    if (!isGuestVisibleEnvName(name) || CONFIG_ENV_NAMES.has(name)) continue;
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

function guestEnvironment(
  module: GuestModule,
  logger: Logger,
  node: NodeParts,
  events: ModuleEvents | undefined,
  hostCalls: HostCallCounter | undefined,
  determinism: Determinism | undefined,
): GuestEnvironment {
  const eventLogger = logger.child("events");
  return {
    moduleId: module.moduleId,
    store: node.store,
    crdt: node.crdt,
    logger: gatedLogger(logger.child("guest").child(module.moduleId), node.gate),
    env: guestVisibleEnv(),
    args: [module.moduleId],
    clock: determinism ?? { nowMs: () => Date.now(), monotonicMs },
    // node:crypto loads only when a guest asks for randomness: most runs never do, and loading
    // it costs milliseconds of start-up.
    randomFill:
      determinism?.randomFill ??
      ((target) => {
        process.getBuiltinModule("node:crypto").randomFillSync(target);
      }),
    emitEvent: (name, payload) =>
      eventLogger.info("guest event", { module: module.moduleId, name, bytes: payload.length }),
    // The runners give every module its own line sinks (prefixed when there are several); these
    // plain writers are only the environment's default.
    stdout: (bytes) => processStdout.write(bytes),
    stderr: (bytes) => processStderr.write(bytes),
    capabilities: ["wasi"],
    hostCalls,
    events,
  };
}

/** Guest bytes written to `stream` once the writes before them are durable. */
function gatedStream(stream: ByteStream, gate: DurableOutputGate): ByteStream {
  return { write: (bytes) => gate.release(() => stream.write(bytes)) };
}
