/**
 * A built reactive guest running in process on the node's own parts: the real loader
 * (validation, instrumentation), a GuestInstance with the real nx and WASI imports, a
 * ModuleEvents on a NodeEventBus as the event host calls' port, and the node's reactive program
 * (run, init, one callback per event, shutdown) as a kernel process. Tests raise events where
 * the node does (the bus is the sync service's event sink and the stdin-topic publisher; the
 * tick timer calls `events.deliver`), and read the guest's stdout lines, its host calls
 * (the counter behind `numax_host_calls_total`) and what it wrote to a real replica.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ModuleEvent } from "../../src/events/module-event.ts";
import type { ModuleEvents } from "../../src/events/module-events.ts";
import { NodeEventBus } from "../../src/events/node-event-bus.ts";
import type { NodeId } from "../../src/identity/node-id.ts";
import { createKernel } from "../../src/kernel/index.ts";
import { reactiveProgram } from "../../src/node/reactive-program.ts";
import { silentLogger } from "../../src/observe/logger.ts";
import { openLmdbBackend } from "../../src/store/lmdb-backend.ts";
import { openReplicatedState, type ReplicatedState } from "../../src/sync/replica/replicated-state.ts";
import type { CrdtHost } from "../../src/wasm/abi/crdt-host.ts";
import { HostCallCounter } from "../../src/wasm/abi/host-call-counter.ts";
import { NX_MODULE } from "../../src/wasm/abi/nx-signatures.ts";
import type { CallbackExport } from "../../src/wasm/guest-exports.ts";
import { GuestInstance, type GuestRunResult } from "../../src/wasm/guest-instance.ts";
import { loadGuestModuleFile } from "../../src/wasm/load-guest-module.ts";
import { ModuleCache } from "../../src/wasm/module-cache.ts";
import { exportsRun, moduleCallbacks } from "../../src/wasm/module-callbacks.ts";

const cache = new ModuleCache({ directory: undefined, logger: silentLogger });
const MEMORY_MAX_BYTES = 16 * 1024 * 1024;
/** How long a guest may take to settle after an event before the test fails. */
const SETTLE_TIMEOUT_MS = 10_000;

export interface ReactiveGuestOptions {
  /** The node's event bus, shared by the modules of one node; default: a bus of its own. */
  readonly bus?: NodeEventBus;
  /** Environment the guest reads (NX_* names). */
  readonly env?: Readonly<Record<string, string>>;
  /** The node's replicated state; undefined: a node without sync (crdt_* and net_* answer -5). */
  readonly crdt?: CrdtHost;
  /** `[modules.<id>] tick` of numax.toml, in ms. */
  readonly tickMs?: number;
  /**
   * The callbacks the node believes the module exports; default: those it exports. Fewer make
   * the real event port answer as for a module without them (tick_every and msg_subscribe -1).
   */
  readonly callbacks?: ReadonlySet<CallbackExport>;
}

export class ReactiveGuest {
  readonly bus: NodeEventBus;
  readonly events: ModuleEvents;
  readonly guest: GuestInstance;
  /** Complete stdout lines, in order. */
  readonly stdout: string[];
  /** How the module's life ended: after `stop()`, or at the first failing call. */
  readonly ended: Promise<GuestRunResult>;
  readonly #hostCalls: HostCallCounter;
  readonly #calls = new Map<string, number>();
  #result: GuestRunResult | undefined;

  private constructor(
    bus: NodeEventBus,
    events: ModuleEvents,
    guest: GuestInstance,
    stdout: string[],
    hostCalls: HostCallCounter,
    ended: Promise<GuestRunResult>,
  ) {
    this.stdout = stdout;
    this.bus = bus;
    this.events = events;
    this.guest = guest;
    this.#hostCalls = hostCalls;
    this.ended = ended.then((result) => {
      this.#result = result;
      return result;
    });
  }

  /** Loads the guest at `path` and starts its life; resolves once `run`/`init` returned (or failed). */
  static async start(path: string, options: ReactiveGuestOptions = {}): Promise<ReactiveGuest> {
    const module = await loadGuestModuleFile(path, {
      memoryMaxBytes: MEMORY_MAX_BYTES,
      cache,
      logger: silentLogger,
    });
    const bus = options.bus ?? new NodeEventBus();
    const events = bus.addModule({
      moduleId: module.moduleId,
      callbacks: options.callbacks ?? moduleCallbacks(module),
      tickMs: options.tickMs,
    });
    const hostCalls = new HostCallCounter();
    const lines: string[] = [];
    let tail = "";
    const decoder = new TextDecoder();
    const guest = GuestInstance.create(module, {
      cpuMsPerRun: undefined,
      env: {
        moduleId: module.moduleId,
        crdt: options.crdt,
        logger: silentLogger,
        env: options.env ?? {},
        args: [module.moduleId],
        clock: { nowMs: () => Date.now(), monotonicMs: () => performance.now() },
        randomFill: (target) => {
          process.getBuiltinModule("node:crypto").randomFillSync(target);
        },
        emitEvent: () => {},
        stdout: (bytes) => {
          const parts = (tail + decoder.decode(bytes, { stream: true })).split("\n");
          tail = parts.pop() ?? "";
          lines.push(...parts);
        },
        stderr: () => {},
        capabilities: ["wasi"],
        events,
        hostCalls,
      },
    });
    const program = reactiveProgram(events, exportsRun(module));
    const kernel = createKernel();
    const ended = new Promise<GuestRunResult>((resolve, reject) => {
      kernel.spawn(async (ctx) => {
        try {
          resolve(await program(guest, ctx));
        } catch (error) {
          reject(error);
        }
      });
    }).finally(() => kernel.shutdown());
    const started = new ReactiveGuest(bus, events, guest, lines, hostCalls, ended);
    await started.#settled();
    return started;
  }

  /** Raises an event (through the bus, or `events.deliver` as the tick timer does) and waits until the module handled it. */
  async step(raise: (guest: this) => void): Promise<void> {
    raise(this);
    await this.#settled();
  }

  /** A tick, as the module's tick timer delivers it. */
  tick(): Promise<void> {
    return this.step(() => this.events.deliver({ kind: "tick" }));
  }

  /** Delivers `event` to this module's queue directly, as the bus does after its own filtering. */
  deliver(event: ModuleEvent): Promise<void> {
    return this.step(() => this.events.deliver(event));
  }

  /** The node stops: events close, `shutdown` runs; resolves with how the life ended. */
  stop(): Promise<GuestRunResult> {
    this.events.close();
    return this.ended;
  }

  /** Calls of `nx.<name>` since the guest started. */
  calls(name: string): number {
    this.#hostCalls.drain((module, function_, count) => {
      const key = `${module}.${function_}`;
      this.#calls.set(key, (this.#calls.get(key) ?? 0) + count);
    });
    return this.#calls.get(`${NX_MODULE}.${name}`) ?? 0;
  }

  /**
   * Waits until the module waits for its next event with none queued, or its life ended. The
   * reactive program marks the current event before its callback and clears it after, with no
   * turn of the event loop in between, so checking between turns sees no gap.
   */
  async #settled(): Promise<void> {
    const deadline = performance.now() + SETTLE_TIMEOUT_MS;
    const idle = () => this.#result !== undefined || (this.events.state === "running" && this.events.idle);
    while (!idle()) {
      if (performance.now() > deadline) {
        throw new Error(`${this.events.moduleId} did not settle within ${SETTLE_TIMEOUT_MS} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }
}

/**
 * A module that only subscribes (a real ModuleEvents on the bus, no guest behind it): what the
 * bus fans out to a subscriber of `pattern`, as (topic, UTF-8 payload, origin).
 */
export class Subscriber {
  readonly #events: ModuleEvents;

  constructor(bus: NodeEventBus, pattern: string) {
    this.#events = bus.addModule({ moduleId: `subscriber-${pattern}`, callbacks: new Set(["on_message"]) });
    if (this.#events.subscribe(pattern) !== 0) throw new Error(`cannot subscribe to ${pattern}`);
  }

  /** The messages received since the last call. */
  received(): { topic: string; payload: string; origin: NodeId | undefined }[] {
    const messages: { topic: string; payload: string; origin: NodeId | undefined }[] = [];
    while (this.#events.queued > 0) {
      const event = this.#events.next(new AbortController().signal) as ModuleEvent;
      if (event.kind === "message") {
        messages.push({
          topic: event.topic,
          payload: new TextDecoder().decode(event.payload),
          origin: event.origin,
        });
      }
    }
    return messages;
  }
}

/** A replica on LMDB in a temp dir, reopened by `reopen` as after a restart; `close` removes it. */
export class TempReplica {
  readonly #nodeId: NodeId;
  readonly #dir: string;
  #backend: Awaited<ReturnType<typeof openLmdbBackend>> | undefined;
  #state: ReplicatedState | undefined;

  private constructor(nodeId: NodeId, dir: string) {
    this.#nodeId = nodeId;
    this.#dir = dir;
  }

  static async open(nodeId: NodeId): Promise<TempReplica> {
    const replica = new TempReplica(nodeId, await mkdtemp(join(tmpdir(), "nx-sdk-replica-")));
    await replica.#open();
    return replica;
  }

  get state(): ReplicatedState {
    if (this.#state === undefined) throw new Error("the replica is closed");
    return this.#state;
  }

  /** Closes the replica and its store, and opens them again from disk. */
  async reopen(): Promise<void> {
    await this.#closeStore();
    await this.#open();
  }

  async close(): Promise<void> {
    await this.#closeStore();
    await rm(this.#dir, { recursive: true, force: true });
  }

  async #open(): Promise<void> {
    this.#backend = await openLmdbBackend({ path: this.#dir });
    this.#state = openReplicatedState({ backend: this.#backend, nodeId: this.#nodeId });
  }

  async #closeStore(): Promise<void> {
    await this.#state?.close();
    await this.#backend?.close();
    this.#state = undefined;
    this.#backend = undefined;
  }
}
