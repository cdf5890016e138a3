import { type Clock, systemClock } from "../clock/clock.ts";
import { monotonicMs } from "../clock/monotonic-clock.ts";
import { ERR_RATE_LIMITED } from "./abi/abi-codes.ts";
import { AbiContext } from "./abi/abi-context.ts";
import type { GuestEnvironment } from "./abi/guest-environment.ts";
import type { GuestMemoryRef } from "./abi/guest-memory.ts";
import { asHostFunction, forwarding } from "./abi/host-call-forwarding.ts";
import { meteredCallActed, type RateAdmission } from "./abi/host-call-quota.ts";
import { createHttpFetchImports, type HttpFetchImports } from "./abi/http-fetch-imports.ts";
import { NX_MODULE } from "./abi/nx-signatures.ts";
import { createWasiPollOneoff } from "./abi/wasi-poll.ts";
import { WASI_MODULE } from "./abi/wasi-signatures.ts";
import { classifyGovernorStop, classifyGuestError } from "./classify-guest-error.ts";
import { ExportLoop, type ExportLoopListener } from "./export-loop.ts";
import { FuelGovernor, type GovernorStop, WAIT_STOPPED } from "./fuel-governor.ts";
import { registerGovernor, sharedRefillTrampoline } from "./fuel-governor-registry.ts";
import {
  FUEL_TABLE_EXPORT,
  INSTANCE_ID_EXPORT,
  LAST_GROW_EXPORT,
  MEMORY_EXPORT,
  RUN_EXPORT,
  START_EXPORT,
  STOPPED_EXPORT,
} from "./guest-exports.ts";
import { GuestFailure } from "./guest-failure.ts";
import { buildStandardImports } from "./guest-imports.ts";
import type { GuestModule } from "./load-guest-module.ts";

/**
 * One instance of a guest module and its run: instantiation wires the host imports, the memory
 * and the fuel-refill slot; {@link GuestInstance.run} runs the start function (first run only)
 * and `run` on a JSPI stack, and always resolves, to a success or a {@link GuestFailure}.
 *
 * @example
 * const guest = GuestInstance.create(module, { env, cpuMsPerRun: 5000 });
 * const result = await guest.run();
 * if (!result.ok) console.error(result.failure.message);
 */

// biome-ignore lint/complexity/noBannedTypes: host functions of any shape
type HostFunction = Function;
type HostFunctionOfAnyShape = (...args: unknown[]) => unknown;

export interface GuestInstanceOptions {
  readonly env: GuestEnvironment;
  /** CPU budget of each run in ms; undefined = none. */
  readonly cpuMsPerRun: number | undefined;
  /** Guest time between two turns of the event loop (default 4 ms). */
  readonly sliceMs?: number;
  /** Monotonic clock in ms for CPU accounting; default {@link monotonicMs}. */
  readonly nowMs?: () => number;
  /** What a rate quota's waits run on (`env.quota`); default {@link systemClock}. */
  readonly clock?: Clock;
  /**
   * The memory reference of every host import of the instance (set here after instantiation);
   * given by an instance pool that also makes imports of its own over it, so that one
   * `hostAccessed` flag covers every host access.
   */
  readonly memoryRef?: GuestMemoryRef;
  /** How the guest hands the event loop a turn; default: wait for setImmediate. */
  readonly yieldToLoop?: () => Promise<void>;
  /**
   * More host functions by module, over the standard nx / WASI ones (the actor runtime's
   * process functions). The module must have been checked against their signatures.
   */
  readonly extraImports?: Readonly<Record<string, Readonly<Record<string, HostFunction>>>>;
  /**
   * Host functions that return a promise (`receive`): the guest's stack is suspended (JSPI)
   * until it settles, the event loop runs meanwhile, and the wait does not count as CPU time.
   */
  readonly suspendingImports?: Readonly<
    Record<string, Readonly<Record<string, (...args: never[]) => Promise<unknown>>>>
  >;
}

export type GuestRunResult = { readonly ok: true } | { readonly ok: false; readonly failure: GuestFailure };

const OK: GuestRunResult = { ok: true };

const NO_ARGS: readonly number[] = [];

/**
 * `fn` under a rate quota (a suspending import): a call the quota admits at once runs at once
 * and returns a plain value, so the guest does not even suspend; one that must wait parks the
 * guest's stack for that long (not CPU time) and then runs; one refused answers -9 and does
 * nothing. A call whose error code says it did nothing either gets its units back (meteredCallActed).
 */
function throttled(
  fn: HostFunctionOfAnyShape,
  admission: RateAdmission,
  governor: FuelGovernor,
  unwind: boolean,
  clock: Clock,
): HostFunctionOfAnyShape {
  const metered = (args: unknown[]): unknown => {
    const result = fn(...args);
    if (typeof result === "number" && !meteredCallActed(result)) admission.refund(args);
    return result;
  };
  return (...args) => {
    const waitMs = admission.take(args);
    if (waitMs === 0) return metered(args);
    if (waitMs === undefined) return ERR_RATE_LIMITED;
    const waited = new Promise((resolve) => clock.setTimeout(() => resolve(undefined), waitMs));
    return governor
      .suspend(waited, unwind)
      .then((outcome) => (outcome === WAIT_STOPPED ? WAIT_STOPPED : metered(args)));
  };
}

export class GuestInstance {
  readonly module: GuestModule;
  readonly governor: FuelGovernor;
  readonly instance: WebAssembly.Instance;
  readonly memory: WebAssembly.Memory;
  /**
   * Exports called as entry points (`run`, or another for processes), each on its own JSPI
   * stack: wrapped at their first run. A pooled instance runs its lives through its export loop
   * and never needs one; made eagerly, the wrapper of `run` was ~300 B of each parked process.
   */
  #entries: Map<string, (...args: number[]) => Promise<unknown>> | undefined;
  /** The module has a start function that no image stands for (see skipStart). */
  #hasStartFunction: boolean;
  /** The start function's JSPI entry, made at its first run. */
  #startCall: (() => Promise<unknown>) | undefined;
  /** The result of the guest's latest memory.grow (see the instrumenter); absent for 64-bit memories. */
  readonly #lastGrow: WebAssembly.Global | undefined;
  /** Its `http_fetch` state, when it imports `http_fetch`: the latest response is dropped at every new life. */
  readonly #httpFetch: HttpFetchImports | undefined;
  #startPending: boolean;
  /** Made by the first {@link runExport}, again after a run that ended it. */
  #exportLoop: ExportLoop | undefined;
  #running = false;
  #broken = false;
  /** Settles the run in progress (see #begin). */
  #resolveRun: ((result: GuestRunResult) => void) | undefined;

  private constructor(
    module: GuestModule,
    governor: FuelGovernor,
    instance: WebAssembly.Instance,
    httpFetch: HttpFetchImports | undefined,
  ) {
    this.module = module;
    this.#httpFetch = httpFetch;
    this.governor = governor;
    this.instance = instance;
    this.memory = instance.exports[MEMORY_EXPORT] as WebAssembly.Memory;
    this.#hasStartFunction = module.hasStart;
    this.#startPending = module.hasStart;
    this.#lastGrow = instance.exports[LAST_GROW_EXPORT] as WebAssembly.Global | undefined;
  }

  /**
   * `waiting` as the guest's host wait (the body of a suspending import made elsewhere: an
   * instance pool's `proc_receive`): see FuelGovernor.suspend; a guest that cannot catch is
   * unwound at a stop, any other one trapped by the stop check after the call (the instrumenter's).
   */
  hostWait<T>(waiting: Promise<T>): Promise<T | typeof WAIT_STOPPED> {
    return this.governor.suspend(waiting, !this.module.catchesExceptions);
  }

  /** True when the instance is neither running nor stopped for good: it may run (again). */
  get reusable(): boolean {
    return !this.#running && !this.#broken;
  }

  /**
   * The instance's state is already what its start function leaves (an instance pool restored
   * it from the module's start image, src/wasm/process/start-image.ts): no run calls it, now or
   * after {@link rearmStart}. Only before the first run.
   */
  skipStart(): void {
    this.#hasStartFunction = false;
    this.#startPending = false;
  }

  /**
   * Makes the next {@link run} call the start function again. For an instance pool that has put
   * the instance's memory, globals and tables back to their state at instantiation: the start
   * function is part of every life, as it is of a fresh instance.
   */
  rearmStart(): void {
    this.#httpFetch?.reset();
    this.#startPending = this.#hasStartFunction;
  }

  /**
   * Instantiates `module` (synchronously: the module is compiled, so this takes well under a
   * millisecond for small guests). The guest's start function runs at the first {@link run}.
   */
  static create(module: GuestModule, options: GuestInstanceOptions): GuestInstance {
    const governor = new FuelGovernor({
      cpuMsPerRun: options.cpuMsPerRun,
      sliceMs: options.sliceMs,
      nowMs: options.nowMs ?? monotonicMs,
      yieldToLoop: options.yieldToLoop,
    });
    const memoryRef: GuestMemoryRef = options.memoryRef ?? { memory: undefined };
    const unwind = !module.catchesExceptions;
    const imports: Record<string, Record<string, unknown>> = buildStandardImports(
      options.env,
      memoryRef,
      module.imports,
    );
    for (const [name, functions] of Object.entries(options.extraImports ?? {})) {
      imports[name] = { ...imports[name], ...functions };
    }
    let httpFetch: HttpFetchImports | undefined;
    if (module.imports.some((i) => i.module === NX_MODULE && i.name.startsWith("http_"))) {
      httpFetch = createHttpFetchImports(new AbiContext(options.env, memoryRef));
      imports[NX_MODULE] = {
        ...imports[NX_MODULE],
        http_response_headers: httpFetch.http_response_headers,
        http_response_body: httpFetch.http_response_body,
      };
    }
    const counter = options.env.hostCalls;
    const callLog = options.env.callLog;
    /** `fn` counted and audited as the node asks (each wrapper costs a call only when present). */
    const observed = <Args extends unknown[], Result>(
      module: string,
      name: string,
      fn: (...args: Args) => Result,
    ): ((...args: Args) => Result) => {
      const logged = callLog === undefined ? fn : callLog.wrap(module, name, fn);
      return counter === undefined ? logged : counter.wrap(module, name, logged);
    };
    if (counter !== undefined || callLog !== undefined) {
      // Only the functions the module imports: the others are never called.
      for (const entry of module.imports) {
        const fn = imports[entry.module]?.[entry.name];
        if (entry.kind === "function" && typeof fn === "function") {
          imports[entry.module]![entry.name] = observed(
            entry.module,
            entry.name,
            fn as HostFunctionOfAnyShape,
          );
        }
      }
    }
    const quota = options.env.quota;
    if (quota !== undefined) {
      for (const entry of module.imports) {
        const admission = entry.module === NX_MODULE ? quota.admission(entry.name) : undefined;
        const fn = imports[NX_MODULE]?.[entry.name];
        if (admission === undefined || entry.kind !== "function" || typeof fn !== "function") continue;
        imports[NX_MODULE]![entry.name] = new WebAssembly.Suspending(
          throttled(fn as HostFunctionOfAnyShape, admission, governor, unwind, options.clock ?? systemClock),
        );
      }
    }
    const suspendingImports: Record<string, Record<string, (...args: never[]) => Promise<unknown>>> = {
      ...options.suspendingImports,
    };
    if (module.imports.some((i) => i.module === WASI_MODULE && i.name === "poll_oneoff")) {
      suspendingImports[WASI_MODULE] = {
        ...suspendingImports[WASI_MODULE],
        poll_oneoff: createWasiPollOneoff(options.env, memoryRef) as (...args: never[]) => Promise<unknown>,
      };
    }
    if (httpFetch !== undefined) {
      suspendingImports[NX_MODULE] = {
        ...suspendingImports[NX_MODULE],
        http_fetch: httpFetch.http_fetch as (...args: never[]) => Promise<unknown>,
      };
    }
    for (const [name, functions] of Object.entries(suspendingImports)) {
      const wrapped: Record<string, unknown> = {};
      for (const [field, uncounted] of Object.entries(functions)) {
        const fn = forwarding(observed(name, field, uncounted));
        wrapped[field] = new WebAssembly.Suspending(
          asHostFunction((a, b, c, d, e, f, g, h, i) =>
            governor.suspend(fn(a, b, c, d, e, f, g, h, i), unwind),
          ),
        );
      }
      imports[name] = { ...imports[name], ...wrapped };
    }
    const instance = new WebAssembly.Instance(module.module, imports as WebAssembly.Imports);
    memoryRef.memory = instance.exports[MEMORY_EXPORT] as WebAssembly.Memory;
    (instance.exports[INSTANCE_ID_EXPORT] as WebAssembly.Global).value = registerGovernor(governor);
    governor.attachStopFlag(instance.exports[STOPPED_EXPORT] as WebAssembly.Global);
    (instance.exports[FUEL_TABLE_EXPORT] as WebAssembly.Table).set(0, sharedRefillTrampoline());
    return new GuestInstance(module, governor, instance, httpFetch);
  }

  /**
   * Runs the guest's start function (first call only) and then `entry` (default `run`; the actor
   * runtime runs other exported functions as process entry points, and a reactive module's
   * `init` and `shutdown`, with their i32 `args`). Resolves when the guest returns (or calls
   * proc_exit(0)), traps, aborts, exceeds its CPU budget or is killed; never rejects. After a
   * budget stop or a kill the instance cannot run again.
   */
  run(entry: string = RUN_EXPORT, args: readonly number[] = NO_ARGS): Promise<GuestRunResult> {
    const refused = this.#refusal();
    if (refused !== undefined) return refused;
    const result = this.#begin();
    let call = this.#entries?.get(entry);
    if (call === undefined) {
      const exported = this.instance.exports[entry];
      if (typeof exported !== "function" || entry.startsWith("__nx_")) {
        this.#onThrow(
          new GuestFailure("host_error", `module ${this.module.label} exports no function ${entry}`),
        );
        return result;
      }
      call = WebAssembly.promising(exported as (...args: number[]) => void);
      this.#entries ??= new Map();
      this.#entries.set(entry, call);
    }
    if (this.#startPending) {
      // Awaited only when pending: an await per run would reorder concurrent modules' first steps.
      const entryCall = call;
      this.#startIfPending()
        .then(() => entryCall(...args))
        .then(this.#onReturn, this.#onThrow);
    } else {
      let returned: Promise<unknown>;
      try {
        returned = args.length === 0 ? call() : call(...args);
      } catch (error) {
        // JSPI's entry throws a RangeError synchronously when little stack is left: a failed run.
        this.#onThrow(error);
        return result;
      }
      returned.then(this.#onReturn, this.#onThrow);
    }
    return result;
  }

  /**
   * As {@link run} for an exported function `() -> ()`, through the instance's
   * {@link ExportLoop}: one JSPI entry for many runs instead of one each. For an instance that
   * serves one short run after another (a pooled instance's request lives). A run whose start
   * function is still pending, or of another export, is a plain {@link run}.
   */
  runExport(entry: string): Promise<GuestRunResult> {
    if (this.#startPending || !this.module.nullaryExports.has(entry)) return this.run(entry);
    const refused = this.#refusal();
    if (refused !== undefined) return refused;
    const result = this.#begin();
    let loop = this.#exportLoop;
    if (loop === undefined || !loop.alive) {
      loop = new ExportLoop(this.instance, this.#loopListener);
      this.#exportLoop = loop;
    }
    try {
      loop.call(entry);
    } catch (error) {
      // As in run: a JSPI entry with little stack left throws synchronously.
      this.#onThrow(error);
    }
    return result;
  }

  /**
   * As {@link run}, but what runs (after the start function, on its first run) is `invoke`: a
   * `WebAssembly.promising` function that calls into this guest, such as a reactive module's
   * dispatch loop (callback-dispatcher.ts). The run's CPU budget, memory cap and failure
   * classification are the guest's.
   */
  runWith(invoke: () => Promise<unknown>): Promise<GuestRunResult> {
    const refused = this.#refusal();
    if (refused !== undefined) return refused;
    const result = this.#begin();
    this.#startIfPending().then(invoke).then(this.#onReturn, this.#onThrow);
    return result;
  }

  /** Why the guest cannot run now, as the run's result; undefined when it can. */
  #refusal(): Promise<GuestRunResult> | undefined {
    if (this.#running)
      return Promise.reject(new Error("GuestInstance.run called while the guest is running"));
    if (this.#broken) {
      return Promise.resolve({
        ok: false,
        failure: new GuestFailure("killed", "guest instance was stopped earlier and cannot run again"),
      });
    }
    return undefined;
  }

  /**
   * Starts a run: its result settles at the guest's return or failure ({@link #onReturn},
   * {@link #onThrow}) or when the governor stops it, whichever comes first. The handlers are
   * made once per instance, not per run: a pooled instance runs a process per life, and the
   * closures and promises of each run were most of a spawn's garbage.
   */
  #begin(): Promise<GuestRunResult> {
    this.#running = true;
    if (this.#lastGrow !== undefined) this.#lastGrow.value = 0;
    // Not an executor kept by the instance: its closure was ~60 B of each parked process.
    const { promise, resolve } = Promise.withResolvers<GuestRunResult>();
    this.#resolveRun = resolve;
    this.governor.beginRun(this.#onStop);
    return promise;
  }

  #settle(result: GuestRunResult): void {
    if (!this.#running) return;
    this.#running = false;
    this.governor.endRun();
    const resolve = this.#resolveRun!;
    this.#resolveRun = undefined;
    resolve(result);
  }

  readonly #onReturn = (): void => this.#settle(OK);

  readonly #onThrow = (error: unknown): void => {
    const failure = classifyGuestError(error, {
      memoryBytes: this.memory.buffer.byteLength,
      memoryCapBytes: this.module.memoryMaxBytes,
      growRefused: this.#lastGrow?.value === -1,
      exportedFunctions: this.module.exportedFunctions,
    });
    this.#settle(failure.kind === "exit" && failure.exitCode === 0 ? OK : { ok: false, failure });
  };

  /** What the export loop reports each call's end to (made once, like the handlers above). */
  readonly #loopListener: ExportLoopListener = { returned: this.#onReturn, failed: this.#onThrow };

  /**
   * The governor ended the run: the guest traps at its next refill (REFILL_STOPPED), or as its
   * host call or wait returns (the instrumenter's stop check after every call that may reach the
   * host); the trap reaches #onThrow after this and changes nothing.
   */
  readonly #onStop = (stop: GovernorStop): void => {
    this.#broken = true;
    this.#settle({ ok: false, failure: classifyGovernorStop(stop, this.module.exportedFunctions) });
  };

  async #startIfPending(): Promise<void> {
    if (!this.#startPending) return;
    this.#startPending = false;
    this.#startCall ??= WebAssembly.promising(this.instance.exports[START_EXPORT] as () => void);
    await this.#startCall();
    // A start function may return straight from a host call made after a stop (its
    // `return_call_indirect`, which no stop check follows): the run is settled, enter nothing.
    if (this.governor.stopped !== undefined)
      throw new GuestFailure("killed", "stopped in its start function");
  }

  /**
   * Ends the guest at its next fuel check; a pending {@link run} resolves with a `killed` failure.
   * Between runs, the instance runs no more and its export loop's parked stack is freed.
   */
  kill(reason: string): void {
    if (this.#running) {
      this.governor.kill(reason);
      return;
    }
    this.#broken = true;
    this.#exportLoop?.close();
  }
}
