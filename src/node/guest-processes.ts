import type { ModuleEvents } from "../events/module-events.ts";
import type { ExitReason } from "../kernel/exit-reason.ts";
import {
  type BackendSpawnable,
  type ChildSpec,
  createKernel,
  type Kernel,
  type Pid,
  type RestartType,
  restartChild,
  supervisor,
  terminateChild,
  whichChildren,
} from "../kernel/index.ts";
import type { Logger } from "../observe/logger.ts";
import type { CrdtHost } from "../wasm/abi/crdt-host.ts";
import type { GuestEnvironment, GuestStore } from "../wasm/abi/guest-environment.ts";
import type { GuestFailure } from "../wasm/guest-failure.ts";
import type { GuestModule } from "../wasm/load-guest-module.ts";
import { exportsRun, moduleCallbacks } from "../wasm/module-callbacks.ts";
import {
  exitReasonText,
  type ProcessOutput,
  type WasmProcessExit,
  WasmProcessHost,
} from "../wasm/process/index.ts";
import { type ByteStream, type OutputSink, passthroughSink, prefixedLineSink } from "./guest-output.ts";
import type { InterruptSignal } from "./interrupt.ts";
import { MODULE_RESTART_WINDOW_MS, MODULE_RESTARTS_MAX } from "./module-restart-intensity.ts";
import { reactiveProgram } from "./reactive-program.ts";

/**
 * Runs Numax modules as WebAssembly processes under one root supervisor (what `nx run a.wasm
 * b.wasm ...` does): all at once, each a process of the actor kernel, so a module blocked in
 * `proc_receive` or computing for long never holds up the others.
 *
 * - The supervisor is `one_for_one`: a module that ends (normally or not) is reported and the
 *   others go on. A one-shot module is **temporary** (never restarted) unless its `restart` says
 *   `transient` (started again after it failed) or `permanent` (after any end); then it runs
 *   under a supervisor of its own, at most MODULE_RESTARTS_MAX restarts within
 *   MODULE_RESTART_WINDOW_MS, past which it is given up and reported failed.
 * - Output: with one module, its stdout/stderr pass through as written; with several, every
 *   line is prefixed with `[<module id>] ` and kept whole (each process has its own line buffer),
 *   so lines of different modules interleave but never mix.
 * - A module exceeding its CPU budget (`cpuMsPerRun`, per process), its memory cap (compiled into
 *   the loaded module) or trapping ends with that failure; the outcome is `ok` only when every
 *   module ended normally.
 * - When the last top-level module has ended, processes the modules spawned and left running are
 *   stopped (`shutdown`, then killed after `shutdownTimeoutMs`).
 * - With `stopWhenStuck` (default), if every remaining process waits for a message that nothing
 *   can send any more (Node's event loop would otherwise exit), they are stopped and reported as
 *   deadlocked instead of the command hanging or vanishing.
 * - A **reactive** module (its `events` say so: it exports callbacks) runs under a supervisor of
 *   its own that restarts it after a crash (`init` runs again), at most MODULE_RESTARTS_MAX
 *   times within MODULE_RESTART_WINDOW_MS; past that it is given up and reported failed, and
 *   the other modules go on. With `restart = "temporary"` its first crash is its end. It ends when its events close: aborting `signal` closes them
 *   first (each module's `shutdown` callback runs) and stops the processes only after that, or
 *   after `shutdownTimeoutMs`.
 */
export interface GuestProcessesOptions {
  /** The environment of a module's processes, called once per module (see WasmProcessHostOptions). */
  readonly environment: (module: GuestModule) => GuestEnvironment;
  /** The node's store and replicated state; default: the environment's. Granted per profile. */
  readonly store?: GuestStore;
  readonly crdt?: CrdtHost;
  readonly logger: Logger;
  /** CPU budget of every process in ms of guest time; undefined: none. */
  readonly cpuMsPerRun: number | undefined;
  readonly stdout: ByteStream;
  readonly stderr: ByteStream;
  /** Capability profile of the top-level modules; default `trusted` (all the node has). */
  readonly profile?: string;
  /**
   * Aborting stops every module (exit signal `shutdown`), e.g. on SIGINT; a string abort reason
   * ("interrupted by SIGINT") is what their results say: `guest stopped: <reason>`.
   */
  readonly signal?: InterruptSignal;
  /** Called as each top-level module ends. */
  readonly onModuleExit?: (result: GuestProcessResult) => void;
  /** The events of a reactive module (docs/design/event-model.md); undefined: a one-shot module. */
  readonly moduleEvents?: (module: GuestModule) => ModuleEvents | undefined;
  /** Called when a module failed and its supervisor is about to start it again (its `restart`). */
  readonly onModuleCrash?: (result: GuestProcessResult) => void;
  /**
   * A module's restart strategy (`[modules.<id>] restart`); undefined: `temporary` for a one-shot
   * module, `transient` for a reactive one.
   */
  readonly restartOf?: (module: GuestModule) => RestartType | undefined;
  /** Default: a kernel of its own. */
  readonly kernel?: Kernel;
  /** How long a module may take to stop when asked; default 5000 ms. */
  readonly shutdownTimeoutMs?: number;
  /**
   * How long reactive modules' `shutdown` may run once `signal` aborts, asked then; default half
   * of `shutdownTimeoutMs`.
   */
  readonly reactiveShutdownMs?: () => number;
  readonly stopWhenStuck?: boolean;
  readonly processesMax?: number;
  readonly idleInstancesMax?: number;
  /** Gets, once the modules have started, how to replace or stop one of them while they run. */
  readonly onRunning?: (running: RunningModules) => void;
}

/**
 * The modules of one `runGuestProcesses` while it runs: what the module host's hot reload and
 * removal use (docs/hot-reload.md).
 */
export interface RunningModules {
  /** Whether module `moduleId` is one of these and has not ended (returned, stopped, given up). */
  running(moduleId: string): boolean;
  /**
   * `next` runs in place of the module with its id: new processes (spawns by module id
   * included) run it at once, processes of the old code finish on it. A reactive module's life
   * ends as when stopped (its `shutdown` runs after the callback in progress) and a life of the
   * new code begins (`init`), with the events queued meanwhile; resolves once that life settled:
   * running, or crashed (its supervisor then restarts it as any crash). A one-shot module's `run`
   * is not run again. Its reactive callbacks exist exactly when the old code's did.
   */
  replace(next: GuestModule): Promise<void>;
  /**
   * Stops module `moduleId` (a reactive one through its `shutdown`, killed after the shutdown
   * timeout); its result says `removed` and counts as ok. Resolves once it has ended.
   */
  stop(moduleId: string): Promise<void>;
}

export interface GuestProcessResult {
  readonly module: GuestModule;
  /** True when the module ended normally. */
  readonly ok: boolean;
  readonly reason: ExitReason;
  /** The guest's failure when a trap, abort, CPU budget or memory cap ended it. */
  readonly failure: GuestFailure | undefined;
  /** One line for the user: the failure's message, or how the module ended. */
  readonly message: string;
  /** Guest CPU time in ms. */
  readonly cpuMs: number;
  /** Stopped by `RunningModules.stop` (the module was removed): ok, whatever its exit. */
  readonly removed?: true;
}

export interface GuestProcessesOutcome {
  /** True when every module ended normally. */
  readonly ok: boolean;
  /** One per module, in the order given. */
  readonly results: readonly GuestProcessResult[];
}

const SHUTDOWN_TIMEOUT_MS_DEFAULT = 5_000;
const DEADLOCK_REASON = "deadlock";

export async function runGuestProcesses(
  modules: readonly GuestModule[],
  options: GuestProcessesOptions,
): Promise<GuestProcessesOutcome> {
  if (modules.length === 0) return { ok: true, results: [] };
  const logger = options.logger;
  const kernel = options.kernel ?? createKernel({ logger: logger.child("kernel") });
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? SHUTDOWN_TIMEOUT_MS_DEFAULT;
  const several = modules.length > 1;
  const sink = (stream: ByteStream, module: GuestModule): OutputSink =>
    several ? prefixedLineSink(stream, `[${module.moduleId}] `) : passthroughSink(stream);
  const host = new WasmProcessHost({
    modules,
    environment: options.environment,
    store: options.store,
    crdt: options.crdt,
    cpuMsPerRun: options.cpuMsPerRun,
    logger: logger.child("processes"),
    processesMax: options.processesMax,
    idleInstancesMax: options.idleInstancesMax,
    output: (module): ProcessOutput => {
      const stdout = sink(options.stdout, module);
      const stderr = sink(options.stderr, module);
      return {
        stdout: (bytes) => stdout.write(bytes),
        stderr: (bytes) => stderr.write(bytes),
        end: () => {
          stdout.end();
          stderr.end();
        },
      };
    },
  });

  /** Each module's code now: what a reload put in place of the one given. */
  const current = [...modules];
  /** Modules being stopped by `stop`: their result says so. */
  const removing = new Set<number>();
  const results: (GuestProcessResult | undefined)[] = modules.map(() => undefined);
  const settle: (() => void)[] = [];
  /** Resolves once module `index` has its result. */
  const recorded = modules.map(
    () =>
      new Promise<void>((resolve) => {
        settle.push(resolve);
      }),
  );
  let remaining = modules.length;
  const ending: Ending = { deadlocked: false, interruption: undefined };
  let allEnded!: () => void;
  const ended = new Promise<void>((resolve) => {
    allEnded = resolve;
  });
  const record = (index: number, ended: GuestProcessResult): void => {
    if (results[index] !== undefined) return;
    const result: GuestProcessResult = removing.has(index)
      ? { ...ended, module: current[index]!, ok: true, message: "removed", removed: true }
      : { ...ended, module: current[index]! };
    results[index] = result;
    settle[index]!();
    options.onModuleExit?.(result);
    if (--remaining === 0) allEnded();
  };

  const eventsOf = (module: GuestModule): ModuleEvents | undefined => {
    const events = options.moduleEvents?.(module);
    return events?.reactive === true ? events : undefined;
  };
  const childOf = (module: GuestModule, index: number): ChildSpec => {
    const id = childIdOf(module, index);
    // The module's process is labelled with the module id, as the processes it spawns are (not
    // with the child id): the node's introspection tells which module a process runs by it.
    const moduleLabel = { label: module.moduleId };
    const profile = options.profile ?? "trusted";
    const events = eventsOf(module);
    const restart = options.restartOf?.(module);
    const supervised = (life: BackendSpawnable, childRestart: RestartType): ChildSpec => ({
      id,
      restart: "temporary",
      type: "supervisor",
      start: supervisor({
        strategy: "one_for_one",
        maxRestarts: MODULE_RESTARTS_MAX,
        periodMs: MODULE_RESTART_WINDOW_MS,
        children: [
          {
            id,
            restart: childRestart,
            shutdown: shutdownTimeoutMs,
            start: life,
            options: host.spawnOptionsOf(module, moduleLabel),
          },
        ],
      }),
    });
    if (events === undefined) {
      if (restart === undefined || restart === "temporary") {
        return {
          id,
          restart: "temporary",
          shutdown: shutdownTimeoutMs,
          start: host.spawnable(module, { profile, onExit: (exit) => record(index, resultOf(exit, ending)) }),
          options: host.spawnOptionsOf(module, moduleLabel),
        };
      }
      // Its supervisor starts it again after a failure (transient) or any end (permanent): only
      // an end it will not restart, or one the node asked for, is the module's result.
      const onExit = (exit: WasmProcessExit): void => {
        const result = resultOf(exit, ending);
        if (
          (result.ok && restart === "transient") ||
          ending.interruption !== undefined ||
          removing.has(index)
        ) {
          record(index, result);
          return;
        }
        lastCrash[index] = result;
        if (!result.ok) options.onModuleCrash?.(result);
      };
      // Every start runs the module's code as it is then (a reload replaces it).
      return supervised(
        { backend: () => host.spawnable(current[index]!, { profile, onExit }).backend() },
        restart,
      );
    }
    const onExit = (exit: WasmProcessExit): void => {
      const result = resultOf(exit, ending);
      if (exit.module !== current[index] && !events.closed) {
        // A life of replaced code ended (a reload): the supervisor restarts a crash, and only
        // a crash, so an orderly end is followed by a life of the new code here.
        if (result.ok) void restartChild(kernel, supervisors[index]!, id).catch(() => {});
        return;
      }
      if (result.ok || events.closed || restart === "temporary") {
        events.setState(result.ok ? "stopped" : "failed");
        // Its supervisor may still start a life (a `shutdown` that failed is an abnormal exit):
        // closed events make that life end at once, before `run` or `init`.
        events.close();
        record(index, result);
        return;
      }
      lastCrash[index] = result;
      events.setState("restarting");
      options.onModuleCrash?.(result);
    };
    // Every life runs the module's code as it is when the life starts (a reload replaces it).
    const life: BackendSpawnable = {
      backend: () => {
        const code = events.code;
        const module = current[index]!;
        return host
          .spawnable(module, {
            profile,
            program: reactiveProgram(events, exportsRun(module), code),
            onExit,
          })
          .backend();
      },
    };
    return supervised(life, restart ?? "transient");
  };
  /** The latest crash (or, for a permanent module, end) of each supervised module, for the result once it is given up. */
  const lastCrash: (GuestProcessResult | undefined)[] = modules.map(() => undefined);
  const root = kernel.spawn(supervisor({ strategy: "one_for_one", children: modules.map(childOf) }), {
    label: "guest-modules",
  });
  const reactiveIndexes = modules.flatMap((module, index) => (eventsOf(module) === undefined ? [] : [index]));
  // A module's own supervisor that ends before its module did has given up on it.
  const supervisedIndexes = modules.flatMap((module, index) => {
    const restart = options.restartOf?.(module);
    return eventsOf(module) !== undefined || (restart !== undefined && restart !== "temporary")
      ? [index]
      : [];
  });
  /** Each supervised module's supervisor, once known. */
  const supervisors: (Pid | undefined)[] = modules.map(() => undefined);
  const supervisorsKnown =
    supervisedIndexes.length === 0
      ? Promise.resolve()
      : whichChildren(kernel, root).then((children) => {
          for (const index of supervisedIndexes) {
            // By id: one-shot modules that ended already are gone from the list.
            const pid = children.find((child) => child.id === childIdOf(modules[index]!, index))?.pid;
            if (pid !== null && pid !== undefined) supervisors[index] = pid;
          }
        });
  if (supervisedIndexes.length > 0) {
    void supervisorsKnown
      .then(() => {
        for (const index of supervisedIndexes) {
          const pid = supervisors[index];
          if (pid === undefined) continue;
          void kernel.whenExited(pid).then((reason) => {
            if (results[index] !== undefined) return;
            const events = eventsOf(modules[index]!);
            events?.setState("crashed");
            // Given up: no more ticks or messages pile up for it.
            events?.close();
            const crash = lastCrash[index];
            record(index, {
              module: modules[index]!,
              ok: false,
              reason,
              failure: crash?.failure,
              message: `given up after more than ${MODULE_RESTARTS_MAX} restarts within ${MODULE_RESTART_WINDOW_MS} ms; last crash: ${crash?.message ?? exitReasonText(reason)}`,
              cpuMs: crash?.cpuMs ?? 0,
            });
          });
        }
      })
      // The root ended first: rootExited below reports every module.
      .catch(() => {});
  }
  // A root that ends first (a module that could not even start) ends the wait too.
  const rootExited = kernel.whenExited(root);
  rootExited.then((reason) => {
    modules.forEach((module, index) => {
      record(index, {
        module,
        ok: false,
        reason,
        failure: undefined,
        message: `not run: the module supervisor exited (${exitReasonText(reason)})`,
        cpuMs: 0,
      });
    });
  });
  const stop = (): void => {
    const reason: unknown = options.signal?.reason;
    ending.interruption = typeof reason === "string" ? reason : "interrupted";
    const reactive = reactiveIndexes.filter((index) => results[index] === undefined);
    if (reactive.length === 0) {
      kernel.exit(root, "shutdown");
      return;
    }
    // Reactive modules first end their own way (their `shutdown` callback, writes included);
    // whatever still runs after half the timeout is stopped with the rest, so one module whose
    // `shutdown` hangs leaves the node the other half to make the others' writes durable.
    for (const index of reactive) eventsOf(modules[index]!)?.close();
    const timer = setTimeout(
      () => kernel.exit(root, "shutdown"),
      options.reactiveShutdownMs?.() ?? shutdownTimeoutMs / 2,
    );
    void Promise.all(reactive.map((index) => recorded[index])).then(() => {
      clearTimeout(timer);
      kernel.exit(root, "shutdown");
    });
  };
  options.signal?.addEventListener("abort", stop, { once: true });
  if (options.signal?.aborted) stop();
  options.onRunning?.(
    runningModules(modules, {
      current,
      results,
      recorded,
      removing,
      supervisorsKnown,
      eventsOf,
      host,
      stopChild: (index) => terminateChild(kernel, root, childIdOf(modules[index]!, index)),
      shutdownTimeoutMs,
    }),
  );
  const onStuck = (): void => {
    ending.deadlocked = true;
    logger.debug("every module waits for a message no process can send: stopping them");
    for (const pid of host.runningPids()) kernel.exit(pid, "kill");
  };
  // Reactive modules wait for events that may come from anywhere (peers, ticks, stdin): not stuck.
  const watchStuck = (options.stopWhenStuck ?? true) && reactiveIndexes.length === 0;
  if (watchStuck) process.on("beforeExit", onStuck);
  try {
    await ended;
  } finally {
    options.signal?.removeEventListener("abort", stop);
    if (watchStuck) process.off("beforeExit", onStuck);
  }

  // Stop what the modules left running: the supervisor (if still there), then orphans.
  kernel.exit(root, "shutdown");
  await rootExited;
  await stopOrphans(kernel, host, shutdownTimeoutMs);
  host.clear();
  if (options.kernel === undefined) await kernel.shutdown({ timeoutMs: shutdownTimeoutMs });
  const done = results as GuestProcessResult[];
  return { ok: done.every((result) => result.ok), results: done };
}

/** What `runningModules` needs of one run. */
interface RunState {
  readonly current: GuestModule[];
  readonly results: readonly (GuestProcessResult | undefined)[];
  readonly recorded: readonly Promise<void>[];
  readonly removing: Set<number>;
  readonly supervisorsKnown: Promise<void>;
  readonly eventsOf: (module: GuestModule) => ModuleEvents | undefined;
  readonly host: WasmProcessHost;
  /** Stops module `index`'s child of the root supervisor (its shutdown policy). */
  readonly stopChild: (index: number) => Promise<void>;
  readonly shutdownTimeoutMs: number;
}

function runningModules(modules: readonly GuestModule[], run: RunState): RunningModules {
  const indexOf = (moduleId: string): number => {
    const index = modules.findIndex((module) => module.moduleId === moduleId);
    if (index < 0) throw new Error(`module ${moduleId} is not one of this run's`);
    return index;
  };
  return {
    running: (moduleId) => {
      const index = modules.findIndex((module) => module.moduleId === moduleId);
      return index >= 0 && run.results[index] === undefined;
    },
    replace: async (next) => {
      const index = indexOf(next.moduleId);
      run.current[index] = next;
      run.host.setModule(next);
      const events = run.eventsOf(next);
      if (events === undefined || run.results[index] !== undefined) return;
      await run.supervisorsKnown;
      const settled = events.settledState(events.code + 1);
      events.changeCode(moduleCallbacks(next));
      await Promise.race([settled, run.recorded[index]]);
    },
    stop: async (moduleId) => {
      const index = indexOf(moduleId);
      if (run.results[index] !== undefined) return;
      run.removing.add(index);
      const events = run.eventsOf(run.current[index]!);
      if (events !== undefined) {
        // Its `shutdown` first; past the timeout its supervisor stops it as the node would.
        events.close();
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, run.shutdownTimeoutMs);
        });
        await Promise.race([run.recorded[index], timedOut]);
        clearTimeout(timer);
      }
      if (run.results[index] === undefined) await run.stopChild(index).catch(() => {});
      await run.recorded[index];
      run.host.removeModule(moduleId);
    },
  };
}

function childIdOf(module: GuestModule, index: number): string {
  return `${index}:${module.moduleId}`;
}

/** Why the runner itself ended modules, for their results' messages. */
interface Ending {
  deadlocked: boolean;
  /** The abort reason, once the signal was aborted. */
  interruption: string | undefined;
}

function resultOf(exit: WasmProcessExit, ending: Ending): GuestProcessResult {
  const { module, reason, failure, cpuMs } = exit;
  const ok = reason === "normal";
  let message: string;
  if (ok) message = "ended normally";
  else if (failure !== undefined) message = failure.message;
  else if (ending.interruption !== undefined && (reason === "shutdown" || reason === "killed")) {
    message = `guest stopped: ${ending.interruption}`;
  } else if (ending.deadlocked && reason === "killed") {
    message = `stopped: it waited for a message no process could send any more (${DEADLOCK_REASON})`;
  } else message = `ended with reason ${exitReasonText(reason)}`;
  return { module, ok, reason, failure, message, cpuMs };
}

async function stopOrphans(kernel: Kernel, host: WasmProcessHost, timeoutMs: number): Promise<void> {
  const orphans = host.runningPids();
  if (orphans.length === 0) return;
  for (const pid of orphans) kernel.exit(pid, "shutdown");
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  await Promise.race([Promise.all(orphans.map((pid) => kernel.whenExited(pid))), timedOut]);
  clearTimeout(timer);
  for (const pid of host.runningPids()) kernel.exit(pid, "kill");
}
