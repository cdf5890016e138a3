import { monotonicMs } from "../clock/monotonic-clock.ts";
import type { ModuleSettings } from "../config/module-settings.ts";
import type { NodeConfig } from "../config/node-config.ts";
import { CONFIG_ENV_NAMES } from "../config/schema.ts";
import type { ModuleEvents } from "../events/module-events.ts";
import type { Kernel } from "../kernel/kernel.ts";
import { createOutboundFetch } from "../net/outbound-fetch.ts";
import type { Logger } from "../observe/logger.ts";
import type { AuditLog } from "../policy/audit-log.ts";
import { fetchHostsOf, type ModulePolicy } from "../policy/module-policy.ts";
import { modulePolicyEnforcer } from "../policy/policy-enforcer.ts";
import type { GuestEnvironment } from "../wasm/abi/guest-environment.ts";
import { HostCallCounter } from "../wasm/abi/host-call-counter.ts";
import { guestRunResultLabel } from "../wasm/guest-failure.ts";
import type { GuestModule } from "../wasm/load-guest-module.ts";
import { moduleCallbacks, runsAsModule } from "../wasm/module-callbacks.ts";
import type { Component } from "./component.ts";
import { type DurableOutputGate, gatedLogger } from "./durable-output.ts";
import { guestFailureRecord } from "./guest-failure-record.ts";
import type { ByteStream } from "./guest-output.ts";
import type { GuestProcessesOutcome, GuestProcessResult } from "./guest-processes.ts";
import { canRunAlone, runLoneGuest } from "./lone-guest.ts";
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
  readonly policies?: ReadonlyMap<string, ModulePolicy>;
  /** The opt-in audit log of host calls (`policy.audit_log`). */
  readonly auditLog?: AuditLog;
  readonly shutdownTimeoutMs: number;
  /** With sync: wait up to this long for the configured peers before any module runs. */
  readonly waitBeforeRunMs?: number;
  /** A module ended other than normally (already logged and counted): the CLI's error line. */
  readonly onModuleFailed?: (result: GuestProcessResult) => void;
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
   * Ends the modules now: reactive ones get their `shutdown` call, the others are stopped;
   * `by` (a signal name, "--settle-for") is what their results and failure lines say.
   */
  interrupt(by: string): void;
  /**
   * The environment of `module`'s processes (store, replica, events, logger: what its `run`
   * has), for other processes of the module such as HTTP handlers. Only once started.
   */
  environment(module: GuestModule): GuestEnvironment;
  /** Runs `emit` once the writes the node made before are durable (the output gate): for what handlers send. */
  release(emit: () => void): void;
  /** The modules it runs, with what the node's introspection reports about them. */
  loaded(): readonly LoadedModule[];
  /** The kernel its processes run on, while they run (a lone one-shot module has none). */
  readonly kernel: Kernel | undefined;
  /** Hands every module's host calls since the last drain to `visit` (for the metrics). */
  drainHostCalls(visit: (module: string, name: string, calls: number) => void): void;
}

/** One module the host runs, and its accounting since its code was loaded. */
export interface LoadedModule {
  readonly module: GuestModule;
  /** Its events, once the host started (every module has them; reactive ones use them). */
  readonly events: ModuleEvents | undefined;
  /** ISO 8601 time its code was loaded. */
  readonly loadedAt: string;
  readonly reloads: number;
  /** Guest CPU time of its runs that ended (a reactive module's is counted per callback: `events`). */
  readonly endedRunsCpuMs: number;
  readonly hostCalls: HostCallCounter;
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
  const interrupt = new AbortController();
  let interruptedBy: string | undefined;
  let resolveEnded!: (outcome: GuestProcessesOutcome) => void;
  let rejectEnded!: (error: unknown) => void;
  const ended = new Promise<GuestProcessesOutcome>((resolve, reject) => {
    resolveEnded = resolve;
    rejectEnded = reject;
  });
  let started = false;
  const reactive = options.modules.some((module) => moduleCallbacks(module).size > 0);
  const wasmLogger = logger.child("wasm");

  let moduleEvents: Map<GuestModule, ModuleEvents> | undefined;
  let node: NodeParts | undefined;
  let kernel: Kernel | undefined;
  const loadedAt = new Date().toISOString();
  const accounts = new Map(
    options.modules.map((module) => [module, { endedRunsCpuMs: 0, hostCalls: new HostCallCounter() }]),
  );
  const environments = new Map<GuestModule, GuestEnvironment>();
  const environment = (module: GuestModule): GuestEnvironment => {
    if (node === undefined) throw new Error("the module host has not started");
    let env = environments.get(module);
    if (env === undefined) {
      env = guestEnvironment(
        module,
        logger,
        node,
        moduleEvents?.get(module),
        accounts.get(module)?.hostCalls,
      );
      const policy = options.policies?.get(module.moduleId);
      if (policy !== undefined) {
        env.policy = modulePolicyEnforcer(
          module.moduleId,
          policy,
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

  const run = async (): Promise<GuestProcessesOutcome> => {
    for (const moduleId of options.moduleSettings.keys()) {
      if (!options.modules.some((module) => module.moduleId === moduleId)) {
        logger.warn(`[modules.${moduleId}] in the configuration names no module of this run`, {
          modules: options.modules.map((module) => module.moduleId),
        });
      }
    }
    const sync = parts.sync?.service;
    if (sync !== undefined) {
      if (options.waitBeforeRunMs !== undefined) await sync.waitForPeers(options.waitBeforeRunMs);
      await sync.recoverOwnHistory();
    }
    if (interrupt.signal.aborted) return { ok: true, results: [] };
    // Every module runs as a WebAssembly process under the node's root supervisor: their output
    // interleaves line by line, and a runaway or trapping module never stalls the others. A lone
    // one-shot module that cannot use processes runs the same way without loading the kernel.
    // A module that only serves (no `run`, no callbacks) has no process of its own: its
    // handlers run per request.
    const running = options.modules.filter(runsAsModule);
    if (canRunAlone(running)) return runModules(running, runLoneGuest);
    const [{ runGuestProcesses }, { createKernel }] = await Promise.all([
      import("./guest-processes.ts"),
      import("../kernel/index.ts"),
    ]);
    // The host's own kernel, so the node's introspection can list its processes.
    kernel = createKernel({ logger: logger.child("kernel") });
    try {
      return await runModules(running, runGuestProcesses, kernel);
    } finally {
      await kernel.shutdown({ timeoutMs: options.shutdownTimeoutMs });
    }
  };

  const runModules = (
    running: readonly GuestModule[],
    runGuests: typeof runLoneGuest,
    kernel?: Kernel,
  ): Promise<GuestProcessesOutcome> => {
    const metrics = parts.metrics?.metrics;
    const gate = parts.outputGate.gate!;
    if (reactive)
      logger.info("reactive modules running until SIGINT or SIGTERM", { nodeId: parts.replica?.nodeId });
    return runGuests(running, {
      kernel,
      environment,
      moduleEvents: (module) => moduleEvents?.get(module),
      store: node!.store,
      crdt: node!.crdt,
      logger,
      cpuMsPerRun: config.limits.cpuMsPerRun,
      stdout: gatedStream(process.stdout, gate),
      stderr: gatedStream(process.stderr, gate),
      signal: interrupt.signal,
      shutdownTimeoutMs: options.shutdownTimeoutMs,
      onModuleCrash: (result) => {
        const record = guestFailureRecord(result, undefined);
        const callback = moduleEvents?.get(result.module)?.failedIn;
        wasmLogger.warn(
          `${record.message} in ${callback ?? "a callback"}; its supervisor restarts it (at most ${MODULE_RESTARTS_MAX} times in ${MODULE_RESTART_WINDOW_MS / 1000} s)`,
          {
            ...record.fields,
            callback,
          },
        );
        if (result.failure !== undefined) metrics?.traps.inc({ kind: result.failure.kind });
      },
      onModuleExit: (result) => {
        const events = moduleEvents?.get(result.module);
        // A reactive module's state is kept by its runner (stopped, failed, crashed).
        if (events !== undefined && !events.reactive) events.setState(result.ok ? "ended" : "failed");
        // A reactive module's guest time is counted per callback call (the node's event observer).
        if (events === undefined || !events.reactive) {
          metrics?.guestCpuSeconds.inc(result.cpuMs / 1000);
          accounts.get(result.module)!.endedRunsCpuMs += result.cpuMs;
        }
        const runResult = result.ok
          ? "ok"
          : result.failure === undefined
            ? "error"
            : guestRunResultLabel(result.failure);
        metrics?.moduleRuns.inc({ result: runResult });
        if (result.ok) return;
        if (runResult === "trap") metrics?.traps.inc({ kind: result.failure!.kind });
        const record = guestFailureRecord(result, interruptedBy);
        wasmLogger.warn(record.message, record.fields);
        options.onModuleFailed?.(result);
      },
    });
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
    interrupt: (by) => {
      if (interruptedBy !== undefined) return;
      interruptedBy = by;
      interrupt.abort(`interrupted by ${by}`);
    },
    environment,
    release: (emit) => parts.outputGate.gate!.release(emit),
    loaded: () =>
      options.modules.map((module) => ({
        module,
        events: moduleEvents?.get(module),
        loadedAt,
        reloads: 0,
        ...accounts.get(module)!,
      })),
    get kernel() {
      return kernel;
    },
    drainHostCalls: (visit) => {
      for (const { hostCalls } of accounts.values()) hostCalls.drain(visit);
    },
    start: () => {
      const bus = parts.events.bus!;
      moduleEvents = new Map(
        options.modules.map((module) => [
          module,
          bus.addModule({
            moduleId: module.moduleId,
            callbacks: moduleCallbacks(module),
            tickMs: options.moduleSettings.get(module.moduleId)?.tickMs,
          }),
        ]),
      );
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
    stop: async () => {
      if (!started) return;
      if (interruptedBy === undefined) {
        interruptedBy = "node shutdown";
        interrupt.abort("the node is shutting down");
      }
      // A fault of the node is reported by whoever awaits `ended`.
      await ended.catch(() => {});
    },
  };
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
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !CONFIG_ENV_NAMES.has(name)) env[name] = value;
  }
  return env;
}

function guestEnvironment(
  module: GuestModule,
  logger: Logger,
  node: NodeParts,
  events: ModuleEvents | undefined,
  hostCalls: HostCallCounter | undefined,
): GuestEnvironment {
  const eventLogger = logger.child("events");
  return {
    moduleId: module.moduleId,
    store: node.store,
    crdt: node.crdt,
    logger: gatedLogger(logger.child("guest").child(module.moduleId), node.gate),
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
    hostCalls,
    events,
  };
}

/** Guest bytes written to `stream` once the writes before them are durable. */
function gatedStream(stream: ByteStream, gate: DurableOutputGate): ByteStream {
  return { write: (bytes) => gate.release(() => stream.write(bytes)) };
}
