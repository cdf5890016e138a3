import { KernelError } from "../../kernel/kernel-error.ts";
import type { Pid } from "../../kernel/pid.ts";
import type { BackendSpawnable, SpawnOptions } from "../../kernel/process-context.ts";
import { ProcessExit } from "../../kernel/process-exit.ts";
import type { Logger } from "../../observe/logger.ts";
import { ERR_INTERNAL, ERR_NOT_FOUND } from "../abi/abi-codes.ts";
import type { CrdtHost } from "../abi/crdt-host.ts";
import type { GuestEnvironment, GuestStore } from "../abi/guest-environment.ts";
import type { HttpPort } from "../abi/http-port.ts";
import type { SpawnRequest } from "../abi/process-port.ts";
import { RUN_EXPORT, START_EXPORT } from "../guest-exports.ts";
import type { GuestModule } from "../load-guest-module.ts";
import {
  DEFAULT_PROFILE,
  exceedsGrants,
  GRANT_CRDT,
  GRANT_DB,
  GRANT_LINK,
  type Grants,
  grantNames,
  parseProfile,
} from "./capability-profile.ts";
import { GUEST_MESSAGE_TYPE, type GuestMessage } from "./guest-message.ts";
import { InstancePool, type ProcessOutput } from "./instance-pool.ts";
import type { ChildSpawner } from "./kernel-process-port.ts";
import type { ProcessLife } from "./process-life.ts";
import {
  type GuestProgram,
  type SpawnRunning,
  WasmProcessBackend,
  type WasmProcessExit,
} from "./wasm-process-backend.ts";
import { WasmProcessError } from "./wasm-process-error.ts";

/** Idle instances kept per module and capability set (each holds at least its linear memory). */
export const IDLE_INSTANCES_MAX_DEFAULT = 128;
/** WebAssembly processes alive at once on one host; a guest's spawn beyond it answers -3. */
export const PROCESSES_MAX_DEFAULT = 10_000;

const PID_ABI_MAX = 0x7fff_ffff;

export interface WasmProcessHostOptions {
  /** The modules processes can run; guests name them by module id in `proc_spawn`. */
  readonly modules: readonly GuestModule[];
  /**
   * The environment of a module's processes, called once per module. Its `store` and `crdt`
   * are the node's (unless given below) and are handed to a process only if its capability
   * profile grants them.
   */
  readonly environment: (module: GuestModule) => GuestEnvironment;
  readonly store?: GuestStore;
  readonly crdt?: CrdtHost;
  /** CPU budget of each process, in ms of guest time; undefined: none. */
  readonly cpuMsPerRun: number | undefined;
  /** Guest time between two turns of the scheduler (default: the fuel governor's, 4 ms). */
  readonly sliceMs?: number;
  readonly logger: Logger;
  /** Where each process's stdout/stderr go; default: the environment's `stdout`/`stderr`. */
  readonly output?: (module: GuestModule) => ProcessOutput;
  /** Idle instances kept per module and capability set; 0 disables pooling. */
  readonly idleInstancesMax?: number;
  readonly processesMax?: number;
  /** Mailbox bound of every WebAssembly process (see SpawnOptions.mailboxCapacity). */
  readonly mailboxCapacity?: number;
}

export interface WasmSpawnOptions {
  /** Exported function to run; default `run`. */
  readonly entry?: string;
  /** Capability profile (capability-profile.ts); default `sandboxed`. */
  readonly profile?: string;
  /** Called once when the process ends, for any reason. */
  readonly onExit?: (exit: WasmProcessExit) => void;
  /** What the process does with its instance (a reactive module's event loop); default: run `entry`. */
  readonly program?: GuestProgram;
  /** What the process's `req_*`, `resp_*` and `route_add` calls reach; default: none (they answer -1). */
  readonly http?: HttpPort;
}

export interface WasmProcessHostStats {
  readonly liveProcesses: number;
  readonly idleInstances: number;
  readonly instancesCreated: number;
  readonly instancesReused: number;
}

/**
 * Runs guest modules as kernel processes: the factory of their backends, the instance pools,
 * the capability profiles and the spawns guests make. One host per node (or per `nx run`).
 *
 * @example
 * const host = new WasmProcessHost({ modules, environment, cpuMsPerRun: 5_000, logger });
 * const pid = kernel.spawn(host.spawnable("worker", { profile: "storage" }));
 */
export class WasmProcessHost implements ChildSpawner {
  readonly #options: WasmProcessHostOptions;
  readonly #modules = new Map<string, GuestModule>();
  readonly #environments = new Map<GuestModule, GuestEnvironment>();
  /** The output of a module's processes without a custom `output`: its environment's, shared. */
  readonly #environmentOutputs = new WeakMap<GuestModule, ProcessOutput>();
  readonly #pools = new Map<GuestModule, Map<Grants, InstancePool>>();
  readonly #entries = new Map<GuestModule, ReadonlySet<string>>();
  readonly #idleMax: number;
  readonly #processesMax: number;
  readonly #spawnOptions: SpawnOptions | undefined;
  /** Processes whose backend exists (spawned, possibly not started yet). */
  #live = 0;
  /** {@link #live} by the module id of the code they run, for `processes_max`. */
  readonly #liveByModule = new Map<string, number>();
  /** Pids of the processes that have started and not ended. */
  readonly #running = new Set<Pid>();
  /** Code replaced or removed: the instances of its last processes are not pooled again. */
  readonly #retired = new WeakSet<GuestModule>();
  readonly #grantsByProfile = new Map<string, Grants>();

  constructor(options: WasmProcessHostOptions) {
    this.#options = options;
    for (const module of options.modules) {
      if (!this.#modules.has(module.moduleId)) this.#modules.set(module.moduleId, module);
    }
    this.#idleMax = countOption(
      options.idleInstancesMax ?? IDLE_INSTANCES_MAX_DEFAULT,
      "idleInstancesMax",
      0,
    );
    this.#processesMax = countOption(options.processesMax ?? PROCESSES_MAX_DEFAULT, "processesMax", 1);
    this.#spawnOptions =
      options.mailboxCapacity === undefined ? undefined : { mailboxCapacity: options.mailboxCapacity };
  }

  /**
   * The kernel's spawn options of a process running `module` (over `base`): its mailbox bound
   * is its module's `mailbox_max`, else the host's.
   */
  spawnOptionsOf(module: GuestModule, base?: SpawnOptions): SpawnOptions | undefined {
    const mailboxMax = this.#baseEnvironment(module).quota?.mailboxMax;
    if (mailboxMax === undefined)
      return base === undefined ? this.#spawnOptions : { ...this.#spawnOptions, ...base };
    return { ...this.#spawnOptions, ...base, mailboxCapacity: mailboxMax };
  }

  /** The module a guest names `moduleId` (the first one loaded with that id). */
  module(moduleId: string): GuestModule | undefined {
    return this.#modules.get(moduleId);
  }

  /**
   * `module` is now what its module id names (a module added or reloaded while running): new
   * processes run it. The code it replaces keeps the instances of its running processes until
   * they end; its idle ones are dropped at once and none goes back to a pool.
   */
  setModule(module: GuestModule): void {
    const previous = this.#modules.get(module.moduleId);
    this.#modules.set(module.moduleId, module);
    if (previous !== undefined && previous !== module) this.#retire(previous);
  }

  /** No new process runs module `moduleId` (removed); its running ones end as they would. */
  removeModule(moduleId: string): void {
    const previous = this.#modules.get(moduleId);
    this.#modules.delete(moduleId);
    if (previous !== undefined) this.#retire(previous);
  }

  /** Drops what `module` holds here (its idle instances) unless it is what its id names: code refused after a trial run. */
  discard(module: GuestModule): void {
    if (this.#modules.get(module.moduleId) !== module) this.#retire(module);
  }

  #retire(module: GuestModule): void {
    for (const pool of this.#pools.get(module)?.values() ?? []) pool.retire();
    this.#pools.delete(module);
    this.#environments.delete(module);
    this.#entries.delete(module);
    this.#retired.add(module);
  }

  /**
   * What to pass to `kernel.spawn` (or a supervisor's child spec) to run `module`'s `entry` as a
   * process with `profile`. JavaScript callers are trusted: any profile is granted. Throws a
   * {@link WasmProcessError} for an unknown module, entry or profile.
   */
  spawnable(module: GuestModule | string, options: WasmSpawnOptions = {}): BackendSpawnable {
    const { resolved, entry, grants } = this.#checked(module, options);
    const { onExit, program, http } = options;
    // Looked up once: a spawnable spawns many processes (a supervisor's child, a benchmark's).
    let pool: InstancePool | undefined;
    return {
      backend: () => {
        pool ??= this.#pool(resolved, grants);
        return this.#backend(resolved, entry, grants, pool, onExit, program, http);
      },
    };
  }

  /**
   * Runs `module`'s `entry` as a request life (see WasmProcessBackend): on a pooled instance,
   * with no kernel process until its guest needs one, which `spawnRunning` (the kernel's) then
   * makes. The backend it returns has a `pid` once it has a process (end it through the kernel
   * then); until then `terminate` ends it. Throws as {@link spawnable} does, and a
   * {@link WasmProcessError} `WASM_PROCESS_LIMIT` past `processesMax`.
   */
  runRequest(
    module: GuestModule,
    options: Omit<WasmSpawnOptions, "program">,
    spawnRunning: SpawnRunning,
  ): WasmProcessBackend {
    const { resolved, entry, grants } = this.#checked(module, options);
    const pool = this.#pool(resolved, grants);
    const backend = this.#backend(resolved, entry, grants, pool, options.onExit, undefined, options.http);
    backend.runWithoutProcess(spawnRunning);
    return backend;
  }

  #checked(
    module: GuestModule | string,
    options: WasmSpawnOptions,
  ): { resolved: GuestModule; entry: string; grants: Grants } {
    const resolved = typeof module === "string" ? this.#modules.get(module) : module;
    if (resolved === undefined) {
      throw new WasmProcessError(
        "WASM_PROCESS_UNKNOWN_MODULE",
        `no module "${String(module)}" is loaded (known: ${[...this.#modules.keys()].join(", ") || "none"})`,
      );
    }
    const entry = options.entry ?? RUN_EXPORT;
    if (options.program === undefined && !this.#entriesOf(resolved).has(entry)) {
      throw new WasmProcessError(
        "WASM_PROCESS_UNKNOWN_ENTRY",
        `module ${resolved.label} exports no function "${entry}" to run as a process`,
      );
    }
    return { resolved, entry, grants: this.#grantsOf(options.profile ?? DEFAULT_PROFILE) };
  }

  /** A profile's grants, parsed once per profile text (a request's spawn names it every time). */
  #grantsOf(profile: string): Grants {
    let grants = this.#grantsByProfile.get(profile);
    if (grants === undefined) {
      grants = parseProfile(profile);
      this.#grantsByProfile.set(profile, grants);
    }
    return grants;
  }

  spawnChild(parent: ProcessLife, request: SpawnRequest): number {
    const module = request.module === "" ? parent.module : this.#modules.get(request.module);
    if (module === undefined) return ERR_NOT_FOUND;
    const entry = request.entry === "" ? RUN_EXPORT : request.entry;
    if (!this.#entriesOf(module).has(entry)) return ERR_NOT_FOUND;
    let grants: Grants;
    try {
      grants = parseProfile(request.profile);
    } catch {
      return ERR_INTERNAL;
    }
    if (exceedsGrants(grants, parent.grants)) {
      this.#options.logger.debug("guest spawn refused: profile above the caller's", {
        module: parent.module.moduleId,
        requested: grantNames(grants),
        held: grantNames(parent.grants),
      });
      return ERR_INTERNAL;
    }
    if (this.#live >= this.#processesMax) return ERR_INTERNAL;
    const quota = this.#baseEnvironment(module).quota;
    const processesMax = quota?.processesMax;
    if (processesMax !== undefined && (this.#liveByModule.get(module.moduleId) ?? 0) >= processesMax) {
      quota!.hit("processes_max", `${processesMax} processes run its code; proc_spawn answers -3`);
      return ERR_INTERNAL;
    }
    const ctx = parent.ctx;
    try {
      const pool = this.#pool(module, grants);
      const spawnable = { backend: () => this.#backend(module, entry, grants, pool, undefined) };
      const spawnOptions = this.spawnOptionsOf(module);
      const pid = request.link ? ctx.spawnLink(spawnable, spawnOptions) : ctx.spawn(spawnable, spawnOptions);
      rememberChild(parent, pid);
      if (request.monitor) parent.monitors.set(pid, ctx.monitor(pid));
      if (request.arg !== undefined) {
        const first: GuestMessage = { type: GUEST_MESSAGE_TYPE, from: ctx.self, data: request.arg };
        ctx.send(pid, first);
      }
      return pid <= PID_ABI_MAX ? pid : ERR_INTERNAL;
    } catch (error) {
      if (error instanceof KernelError || error instanceof ProcessExit) return ERR_INTERNAL;
      throw error;
    }
  }

  stats(): WasmProcessHostStats {
    let idleInstances = 0;
    let instancesCreated = 0;
    let instancesReused = 0;
    for (const pools of this.#pools.values()) {
      for (const pool of pools.values()) {
        idleInstances += pool.idleCount;
        instancesCreated += pool.created;
        instancesReused += pool.reused;
      }
    }
    return { liveProcesses: this.#live, idleInstances, instancesCreated, instancesReused };
  }

  /** The pids of this host's processes that are running now (started, not ended). */
  runningPids(): Pid[] {
    return [...this.#running];
  }

  /** Drops every idle instance (the processes still running keep theirs). */
  clear(): void {
    for (const pools of this.#pools.values()) for (const pool of pools.values()) pool.clear();
  }

  #backend(
    module: GuestModule,
    entry: string,
    grants: Grants,
    pool: InstancePool,
    onExit: ((exit: WasmProcessExit) => void) | undefined,
    program?: GuestProgram,
    http?: HttpPort,
  ): WasmProcessBackend {
    if (this.#live >= this.#processesMax) {
      throw new WasmProcessError(
        "WASM_PROCESS_LIMIT",
        `cannot start another WebAssembly process: ${this.#processesMax} are running (processesMax)`,
      );
    }
    this.#live++;
    this.#liveByModule.set(module.moduleId, (this.#liveByModule.get(module.moduleId) ?? 0) + 1);
    return new WasmProcessBackend(this.#backendHost, { module, entry, grants, pool, onExit, program, http });
  }

  readonly #backendHost = {
    outputFor: (module: GuestModule): ProcessOutput => {
      const custom = this.#options.output;
      if (custom !== undefined) return custom(module);
      let output = this.#environmentOutputs.get(module);
      if (output === undefined) {
        const env = this.#baseEnvironment(module);
        output = { stdout: env.stdout, stderr: env.stderr, end: () => {} };
        this.#environmentOutputs.set(module, output);
      }
      return output;
    },
    processStarted: (pid: Pid): void => {
      this.#running.add(pid);
    },
    processEnded: (pid: Pid | undefined, module: GuestModule): void => {
      this.#live--;
      const live = (this.#liveByModule.get(module.moduleId) ?? 1) - 1;
      if (live === 0) this.#liveByModule.delete(module.moduleId);
      else this.#liveByModule.set(module.moduleId, live);
      if (pid !== undefined) this.#running.delete(pid);
    },
  };

  #pool(module: GuestModule, grants: Grants): InstancePool {
    let pools = this.#pools.get(module);
    const retired = this.#retired.has(module);
    if (pools === undefined) {
      pools = new Map();
      // A process of replaced code (a child its old processes spawn) gets an instance of its own.
      if (!retired) this.#pools.set(module, pools);
    }
    let pool = pools.get(grants);
    if (pool === undefined) {
      pool = new InstancePool({
        module,
        environment: this.#environmentFor(module, grants),
        spawner: this,
        cpuMsPerRun: this.#baseEnvironment(module).quota?.cpuMsPerRun ?? this.#options.cpuMsPerRun,
        sliceMs: this.#options.sliceMs,
        idleMax: this.#idleMax,
      });
      if (retired) pool.retire();
      pools.set(grants, pool);
    }
    return pool;
  }

  #baseEnvironment(module: GuestModule): GuestEnvironment {
    let env = this.#environments.get(module);
    if (env === undefined) {
      env = this.#options.environment(module);
      this.#environments.set(module, env);
    }
    return env;
  }

  /** The module's environment narrowed to `grants`: what the guest does not hold is absent. */
  #environmentFor(module: GuestModule, grants: Grants): GuestEnvironment {
    const base = this.#baseEnvironment(module);
    const store = this.#options.store ?? base.store;
    const crdt = this.#options.crdt ?? base.crdt;
    return {
      ...base,
      store: (grants & GRANT_DB) !== 0 ? store : undefined,
      crdt: (grants & GRANT_CRDT) !== 0 ? crdt : undefined,
      // Messages reach peers like ops do: a process without sync rights gets no event port
      // (it cannot publish, subscribe or read the module's current event).
      events: (grants & GRANT_CRDT) !== 0 ? base.events : undefined,
      capabilities:
        (grants & GRANT_LINK) !== 0
          ? [...base.capabilities, "link"]
          : base.capabilities.filter((name) => name !== "link"),
    };
  }

  /** Exported functions a process may run: not the runtime's, not the start function. */
  #entriesOf(module: GuestModule): ReadonlySet<string> {
    let entries = this.#entries.get(module);
    if (entries === undefined) {
      entries = new Set(
        WebAssembly.Module.exports(module.module)
          .filter((entry) => entry.kind === "function" && !entry.name.startsWith("__nx_"))
          .map((entry) => entry.name)
          .filter((name) => name !== START_EXPORT),
      );
      this.#entries.set(module, entries);
    }
    return entries;
  }
}

function countOption(value: number, name: string, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new WasmProcessError(
      "WASM_PROCESS_INVALID_OPTION",
      `${name} must be an integer >= ${min}, got ${String(value)}`,
    );
  }
  return value;
}

/** Children remembered per process before the dead ones are pruned. */
const CHILDREN_PRUNE_AT = 1024;

function rememberChild(parent: ProcessLife, child: Pid): void {
  if (parent.children.size >= CHILDREN_PRUNE_AT) {
    for (const pid of parent.children) if (!parent.ctx.isAlive(pid)) parent.children.delete(pid);
  }
  parent.children.add(child);
}
