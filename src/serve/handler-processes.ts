import { createKernel, type Kernel, type Pid } from "../kernel/index.ts";
import type { Logger } from "../observe/logger.ts";
import type { GuestEnvironment } from "../wasm/abi/guest-environment.ts";
import type { HttpPort } from "../wasm/abi/http-port.ts";
import type { GuestModule } from "../wasm/load-guest-module.ts";
import {
  exitReasonText,
  guestMessage,
  type SpawnRunning,
  type WasmProcessBackend,
  type WasmProcessExit,
  WasmProcessHost,
  type WasmProcessHostStats,
} from "../wasm/process/index.ts";

/** One handler process: how it ends, and how to end it early. */
export interface HandlerRun {
  readonly outcome: Promise<HandlerOutcome>;
  /** Kills the process (once; later calls do nothing); its outcome says `stopped` with `reason`. */
  stop(reason: string): void;
}

/** How one handler process ended. */
export type HandlerOutcome =
  | { readonly ok: true }
  /** `failure`: one line (trap, abort, CPU budget, memory cap, stopped); `kind` for the log. */
  | { readonly ok: false; readonly kind: string; readonly failure: string; readonly stopped: boolean };

export interface HandlerProcessesOptions {
  readonly modules: readonly GuestModule[];
  /** The module's environment (the module host's: store, replica, events as its other processes). */
  readonly environment: (module: GuestModule) => GuestEnvironment;
  /** CPU budget of every handler run, in ms of guest time. */
  readonly cpuMsPerRequest: number;
  /** Capability profile of handler processes (top-level modules of `nx run`: `trusted`). */
  readonly profile: string;
  readonly logger: Logger;
}

/**
 * Runs handlers as WebAssembly processes of a kernel of their own: every request (and every
 * module's `routes` declaration) is a fresh life whose instance comes from the module's
 * instance pool, reset to its instantiation image between lives (src/wasm/process/), so no
 * request sees another's memory and a pooled instance costs a memory restore, not an
 * instantiation. An HTTP request's life has no kernel process until its guest needs one (a
 * `proc_*` call: an event stream waiting between events, a handler asking a reactive module):
 * most handlers never do, and a process per request cost about 3 µs of the 30 a request took
 * (docs/design/wasm-processes.md, "Request lives"). A WebSocket's handler is a process from the
 * start: its frames are messages.
 */
export class HandlerProcesses {
  readonly #kernel: Kernel;
  readonly #host: WasmProcessHost;
  readonly #profile: string;
  readonly #spawnRunning: SpawnRunning;
  /** The request lives running now, with or without a process: closing stops them. */
  readonly #lives = new Set<WasmProcessBackend>();

  constructor(options: HandlerProcessesOptions) {
    const kernel = createKernel({ logger: options.logger.child("kernel") });
    this.#kernel = kernel;
    this.#host = new WasmProcessHost({
      modules: options.modules,
      environment: options.environment,
      cpuMsPerRun: options.cpuMsPerRequest,
      logger: options.logger.child("processes"),
    });
    this.#profile = options.profile;
    this.#spawnRunning = (spawnable) => kernel.spawnRunning(spawnable);
  }

  /**
   * Runs `entry` of `module` in a fresh life whose `req_*`/`resp_*`/`route_add` calls reach
   * `http`. `stop` ends it (the request's wall-clock limit, the client gone, shutdown); a plain
   * function rather than an AbortSignal, which costs an AbortController and an event listener
   * per request. With `started`, the life is a process from the start, and `started` gets how to
   * put a message (a data message from pid 0) in its mailbox, answering how many messages it
   * then holds unread: what a WebSocket's frames become.
   */
  run(
    module: GuestModule,
    entry: string,
    http: HttpPort,
    started?: (deliver: (payload: Uint8Array) => number) => void,
  ): HandlerRun {
    let stoppedBy: string | undefined;
    let resolveOutcome!: (outcome: HandlerOutcome) => void;
    const outcome = new Promise<HandlerOutcome>((resolve) => {
      resolveOutcome = resolve;
    });
    if (started === undefined) {
      const lives = this.#lives;
      let ended = false;
      const life = this.#host.runRequest(
        module,
        {
          entry,
          profile: this.#profile,
          http,
          onExit: (exit) => {
            ended = true;
            lives.delete(life);
            resolveOutcome(outcomeOf(exit, stoppedBy));
          },
        },
        this.#spawnRunning,
      );
      if (!ended) lives.add(life);
      return {
        outcome,
        stop: (reason) => {
          if (stoppedBy !== undefined) return;
          stoppedBy = reason;
          this.#stop(life);
        },
      };
    }
    const pid = this.#kernel.spawn(
      this.#host.spawnable(module, {
        entry,
        profile: this.#profile,
        http,
        onExit: (exit) => resolveOutcome(outcomeOf(exit, stoppedBy)),
      }),
    );
    started((payload) => {
      this.#kernel.send(pid, guestMessage(0 as Pid, payload));
      // Per frame: the mailbox's length alone, not processInfo's description of the process.
      return this.#kernel.mailboxLength(pid) ?? 0;
    });
    return {
      outcome,
      stop: (reason) => {
        if (stoppedBy !== undefined) return;
        stoppedBy = reason;
        this.#kernel.exit(pid, "kill");
      },
    };
  }

  /** Ends a request life: through the kernel once it has a process, at once otherwise. */
  #stop(life: WasmProcessBackend): void {
    const pid = life.pid;
    if (pid === undefined) life.terminate("kill");
    else this.#kernel.exit(pid, "kill");
  }

  /** New handler processes of `module`'s id run it (a reload); those running finish on their code. */
  setModule(module: GuestModule): void {
    this.#host.setModule(module);
  }

  /** Drops the idle instances of `module`, code that was tried (its `routes` run) and refused. */
  discard(module: GuestModule): void {
    this.#host.discard(module);
  }

  /** No new handler process runs module `moduleId` (removed). */
  removeModule(moduleId: string): void {
    this.#host.removeModule(moduleId);
  }

  /** Idle instances, and how many kernel processes handlers have had, for tests and metrics. */
  stats(): WasmProcessHostStats & { readonly processesSpawned: number } {
    return { ...this.#host.stats(), processesSpawned: this.#kernel.stats().spawnedTotal };
  }

  async close(timeoutMs: number): Promise<void> {
    // Lives with a process are among the running pids (with WebSocket processes and their children).
    for (const life of this.#lives) if (life.pid === undefined) life.terminate("kill");
    for (const pid of this.#host.runningPids()) this.#kernel.exit(pid, "kill");
    this.#host.clear();
    await this.#kernel.shutdown({ timeoutMs });
  }
}

function outcomeOf(exit: WasmProcessExit, stoppedBy: string | undefined): HandlerOutcome {
  if (exit.reason === "normal") return { ok: true };
  if (stoppedBy !== undefined) return { ok: false, kind: "stopped", failure: stoppedBy, stopped: true };
  const failure = exit.failure;
  if (failure !== undefined)
    return { ok: false, kind: failure.kind, failure: failure.message, stopped: false };
  return {
    ok: false,
    kind: "exit",
    failure: `ended with reason ${exitReasonText(exit.reason)}`,
    stopped: false,
  };
}
