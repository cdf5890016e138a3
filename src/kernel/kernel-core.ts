import { type Clock, systemClock, type TimerHandle } from "../clock/clock.ts";
import { type Logger, silentLogger } from "../observe/logger.ts";
import { estimateValueBytes } from "./estimate-bytes.ts";
import { type ExitReason, exitReasonOfThrown } from "./exit-reason.ts";
import type { Kernel } from "./kernel.ts";
import { KernelError } from "./kernel-error.ts";
import {
  IO_YIELD_EVERY_REDUCTIONS_DEFAULT,
  type KernelOptions,
  MAILBOX_CAPACITY_DEFAULT,
  REDUCTION_BUDGET_DEFAULT,
} from "./kernel-options.ts";
import { Mailbox, NO_MESSAGE } from "./mailbox.ts";
import { copyMessage } from "./message-copy.ts";
import { formatPid, KERNEL_PID, type Pid, type Ref, type TimerRef } from "./pid.ts";
import {
  Process,
  STATE_EXITED,
  STATE_NEW,
  STATE_RUNNING,
  WAIT_NONE,
  WAIT_RECEIVE,
  WAIT_YIELD,
} from "./process.ts";
import type { ProcessBackend } from "./process-backend.ts";
import {
  type BackendSpawnable,
  type Matcher,
  type MaybePromise,
  type Spawnable,
  type SpawnOptions,
  TIMEOUT,
} from "./process-context.ts";
import { isProcessExit } from "./process-exit.ts";
import type { ExitedProcessInfo, KernelStats, ProcessInfo, ProcessStatus } from "./process-info.ts";
import { Scheduler } from "./scheduler.ts";
import { DownMessage, ExitMessage } from "./system-messages.ts";

/**
 * Heap of one idle process as measured by bench/kernel.ts: a JS body parked in receive
 * (idle_process_bytes, record + table entry + async frame + promises), and a backend process
 * without its backend's own memory (behaviour_process_bytes).
 */
const JS_PROCESS_BYTES = 1_150;
const BACKEND_PROCESS_BYTES = 350;
const LINK_BYTES = 40;
const MONITOR_BYTES = 80;
/** Introspection sizes at most this many queued messages and extrapolates the rest. */
const MAILBOX_SAMPLE_MAX = 64;
const NAME_LENGTH_MAX = 255;

/** A pending exit or DOWN signal; signals are processed in order from a queue, never recursively. */
interface Signal {
  readonly down: boolean;
  readonly target: Pid;
  readonly from: Pid;
  readonly reason: ExitReason;
  /** An exit signal caused by a link (trappable even with reason "kill"). */
  readonly link: boolean;
  readonly ref: Ref;
}

interface TimerEntry {
  readonly handle: TimerHandle;
  readonly dueMs: number;
  readonly dest: Pid | string;
  readonly message: unknown;
}

const NO_REF = 0 as Ref;

/** A promise that never settles: what a process that has ended is left waiting on. */
function never(): Promise<never> {
  return new Promise<never>(() => {});
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as PromiseLike<unknown>).then === "function"
  );
}

/**
 * The kernel: process table, signal queue, registry, timers and scheduling. See
 * docs/design/kernel.md for the design and the figures behind it.
 */
export class KernelCore implements Kernel {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly budget: number;
  /** Default mailbox bound of processes spawned without their own (KernelOptions.mailboxCapacity). */
  readonly mailboxCapacity: number;
  private readonly table = new Map<Pid, Process>();
  private readonly registry = new Map<string, Process>();
  private readonly scheduler: Scheduler<Process>;
  private readonly signals: (Signal | undefined)[] = [];
  private signalHead = 0;
  private processingSignals = false;
  private readonly timers = new Map<TimerRef, TimerEntry>();
  private nextPid = 1;
  private nextRef = 1;
  private nextTimerRef = 1;
  private spawnedTotal = 0;
  private exitedTotal = 0;
  private droppedMessagesTotal = 0;
  private closed = false;

  constructor(options: KernelOptions) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.budget = positiveInteger(options.reductionBudget ?? REDUCTION_BUDGET_DEFAULT, "reductionBudget");
    this.mailboxCapacity = positiveInteger(
      options.mailboxCapacity ?? MAILBOX_CAPACITY_DEFAULT,
      "mailboxCapacity",
    );
    const ioYieldEvery = positiveInteger(
      options.ioYieldEveryReductions ?? IO_YIELD_EVERY_REDUCTIONS_DEFAULT,
      "ioYieldEveryReductions",
    );
    this.scheduler = new Scheduler((p) => this.runSlice(p), ioYieldEvery, this.logger);
  }

  // ---- spawning -------------------------------------------------------------------------------

  spawn(what: Spawnable, options?: SpawnOptions, parent?: Process, link = false, running = false): Pid {
    if (this.closed) throw new KernelError("KERNEL_SHUT_DOWN", "cannot spawn: the kernel has shut down");
    if (options !== undefined) validateSpawnOptions(options, this.registry);
    let body = null;
    let backend: ProcessBackend | null = null;
    if (typeof what === "function") {
      body = what;
    } else if (typeof what === "object" && what !== null && typeof what.backend === "function") {
      backend = what.backend();
    } else {
      throw new KernelError(
        "KERNEL_INVALID_OPTION",
        "cannot spawn: expected a function (ctx) => ... or { backend: () => ProcessBackend }",
      );
    }
    const pid = this.nextPid++ as Pid;
    const process = new Process(
      this,
      pid,
      parent === undefined ? KERNEL_PID : parent.self,
      body,
      backend,
      options,
    );
    this.table.set(pid, process);
    this.spawnedTotal++;
    if (options?.name !== undefined) {
      process.name = options.name;
      this.registry.set(options.name, process);
    }
    if (link && parent !== undefined) {
      parent.addLink(pid);
      process.links = new Set([parent.self]);
    }
    if (running) this.start(process);
    else this.scheduler.schedule(process);
    return pid;
  }

  spawnRunning(what: BackendSpawnable, options?: SpawnOptions): Pid {
    return this.spawn(what, options, undefined, false, true);
  }

  private start(p: Process): void {
    p.state = STATE_RUNNING;
    let result: unknown;
    try {
      if (p.body !== null) {
        result = p.body(p);
      } else {
        const backend = p.backend!;
        p.pushMode = typeof backend.deliver === "function";
        result = backend.start(p);
        if (result === undefined) {
          if (p.pushMode) this.scheduleDelivery(p);
          return;
        }
      }
    } catch (error) {
      this.codeFailed(p, error);
      return;
    }
    if (isPromiseLike(result)) {
      result.then(
        () => this.terminate(p, "normal"),
        (error: unknown) => this.codeFailed(p, error),
      );
    } else {
      this.terminate(p, "normal");
    }
  }

  /**
   * A body, handler or backend threw or rejected: the process crashes with that error. A
   * ProcessExit from `ctx.exit` arrives here after its process has already ended.
   */
  private codeFailed(p: Process, error: unknown): void {
    if (p.state === STATE_EXITED) return;
    this.terminate(p, exitReasonOfThrown(error));
  }

  // ---- scheduling -----------------------------------------------------------------------------

  private runSlice(p: Process): void {
    if (p.state === STATE_EXITED) return;
    p.reductions++;
    if (p.state === STATE_NEW) {
      this.start(p);
      return;
    }
    if (p.deferred) {
      p.deferred = false;
      p.budget = this.budget;
      if (p.waitKind === WAIT_YIELD) {
        this.resumeWait(p, undefined);
      } else if (p.waitKind === WAIT_RECEIVE) {
        this.retryReceive(p);
      }
      return;
    }
    if (p.pushMode && p.waitKind === WAIT_NONE && !p.paused) this.deliverBatch(p);
  }

  private scheduleDelivery(p: Process): void {
    if (p.mailbox !== null && p.mailbox.length > 0 && p.waitKind === WAIT_NONE && !p.paused) {
      this.scheduler.schedule(p);
    }
  }

  /** Push mode: hands queued messages to the backend, at most a budget of them. */
  private deliverBatch(p: Process): void {
    const mailbox = p.mailbox;
    if (mailbox === null) return;
    const backend = p.backend!;
    let left = this.budget;
    while (left > 0) {
      const message = mailbox.shift();
      if (message === NO_MESSAGE) break;
      left--;
      let result: unknown;
      try {
        result = backend.deliver!(message);
      } catch (error) {
        this.codeFailed(p, error);
        break;
      }
      if (result !== undefined) {
        this.pauseDelivery(p, result);
        break;
      }
      if (p.state === STATE_EXITED || p.waitKind !== WAIT_NONE) break;
    }
    const taken = this.budget - left;
    p.reductions += taken;
    this.scheduler.reductionsSinceIo += taken;
    // Messages left after a full budget: continue in the next pass, behind everyone else.
    if (left === 0 && p.state !== STATE_EXITED && p.mailbox !== null && p.mailbox.length > 0) {
      if (p.waitKind === WAIT_NONE && !p.paused) this.scheduler.scheduleLater(p);
    } else if (p.state !== STATE_EXITED) {
      this.scheduleDelivery(p);
    }
  }

  private pauseDelivery(p: Process, pending: unknown): void {
    p.paused = true;
    Promise.resolve(pending).then(
      () => {
        p.paused = false;
        if (p.state !== STATE_EXITED) this.scheduleDelivery(p);
      },
      (error: unknown) => this.codeFailed(p, error),
    );
  }

  yieldProcess(p: Process): MaybePromise<void> {
    if (p.state === STATE_EXITED) return never();
    this.assertNoWait(p);
    p.waitKind = WAIT_YIELD;
    p.deferred = true;
    const promise = new Promise<void>((resolve) => {
      p.waitResolve = resolve as (value: unknown) => void;
    });
    this.scheduler.scheduleLater(p);
    return promise;
  }

  // ---- messages -------------------------------------------------------------------------------

  send(dest: Pid | string, message: unknown): void {
    const copy = copyMessage(message);
    const target = typeof dest === "number" ? this.table.get(dest) : this.registered(dest);
    if (target !== undefined) this.deliver(target, copy, false);
  }

  private registered(name: string): Process {
    const target = this.registry.get(name);
    if (target === undefined) {
      throw new KernelError(
        "KERNEL_NOT_REGISTERED",
        `cannot send to "${name}": no process is registered under that name`,
      );
    }
    return target;
  }

  /** Puts a (copied) message in front of `p`: straight into a matching pending receive, else the mailbox. */
  private deliver(p: Process, message: unknown, system: boolean): void {
    if (p.waitKind === WAIT_RECEIVE && !p.deferred) {
      const matcher = p.waitMatcher;
      let accepted = true;
      if (matcher !== undefined) {
        try {
          accepted = matcher(message);
        } catch (error) {
          this.terminate(p, exitReasonOfThrown(error));
          return;
        }
      }
      if (accepted) {
        this.resumeWait(p, message);
        return;
      }
    }
    let mailbox = p.mailbox;
    if (mailbox === null) mailbox = p.mailbox = new Mailbox(p.mailboxCapacity);
    if (system) {
      mailbox.pushSystem(message);
    } else if (!mailbox.pushUser(message)) {
      this.droppedMessagesTotal++;
      return;
    }
    if (p.pushMode && !p.queued && p.waitKind === WAIT_NONE && !p.paused && p.state === STATE_RUNNING) {
      this.scheduler.schedule(p);
    }
  }

  receive(p: Process, matcher: Matcher | undefined, timeoutMs: number | undefined): MaybePromise<unknown> {
    if (p.state === STATE_EXITED) return never();
    this.assertNoWait(p);
    if (timeoutMs !== undefined && !(timeoutMs >= 0)) {
      throw new KernelError(
        "KERNEL_INVALID_OPTION",
        `receive timeout must be a number of ms >= 0, got ${timeoutMs}`,
      );
    }
    const mailbox = p.mailbox;
    if (mailbox !== null && mailbox.length > 0) {
      if (p.budget <= 0) return this.park(p, matcher, timeoutMs, true);
      const message = matcher === undefined ? mailbox.shift() : mailbox.take(matcher);
      if (message !== NO_MESSAGE) {
        p.budget--;
        p.reductions++;
        this.scheduler.reductionsSinceIo++;
        return message;
      }
    }
    if (timeoutMs === 0) return TIMEOUT;
    return this.park(p, matcher, timeoutMs, false);
  }

  private park(
    p: Process,
    matcher: Matcher | undefined,
    timeoutMs: number | undefined,
    deferred: boolean,
  ): Promise<unknown> {
    p.waitKind = WAIT_RECEIVE;
    p.waitMatcher = matcher;
    p.deferred = deferred;
    const promise = new Promise<unknown>((resolve) => {
      p.waitResolve = resolve;
    });
    if (timeoutMs === 0) {
      p.waitPoll = true;
    } else if (timeoutMs !== undefined && timeoutMs !== Number.POSITIVE_INFINITY) {
      p.waitTimer = this.clock.setTimeout(() => this.receiveTimedOut(p), timeoutMs);
    }
    if (deferred) this.scheduler.scheduleLater(p);
    return promise;
  }

  /** The scheduler's turn for a receive deferred by an exhausted budget. */
  private retryReceive(p: Process): void {
    const message = this.takeFor(p);
    if (message !== NO_MESSAGE) this.resumeWait(p, message);
    else if (p.waitPoll) this.resumeWait(p, TIMEOUT);
  }

  private receiveTimedOut(p: Process): void {
    p.waitTimer = undefined;
    if (p.waitKind !== WAIT_RECEIVE) return;
    // A deferred receive may already have its message queued; that wins over the timeout.
    const message = p.deferred ? this.takeFor(p) : NO_MESSAGE;
    p.deferred = false;
    this.resumeWait(p, message === NO_MESSAGE ? TIMEOUT : message);
  }

  /** Takes the message the pending receive of `p` wants, or NO_MESSAGE (crashing `p` if its matcher throws). */
  private takeFor(p: Process): unknown {
    const mailbox = p.mailbox;
    if (mailbox === null || p.state === STATE_EXITED) return NO_MESSAGE;
    const matcher = p.waitMatcher;
    try {
      return matcher === undefined ? mailbox.shift() : mailbox.take(matcher);
    } catch (error) {
      this.terminate(p, exitReasonOfThrown(error));
      return NO_MESSAGE;
    }
  }

  private resumeWait(p: Process, value: unknown): void {
    if (p.state === STATE_EXITED) return;
    const resolve = p.waitResolve!;
    p.waitResolve = null;
    p.waitKind = WAIT_NONE;
    p.waitMatcher = undefined;
    p.waitPoll = false;
    if (p.waitTimer !== undefined) {
      this.clock.clearTimeout(p.waitTimer);
      p.waitTimer = undefined;
    }
    p.reductions++;
    p.budget = this.budget;
    resolve(value);
    if (p.pushMode) this.scheduleDelivery(p);
  }

  private assertNoWait(p: Process): void {
    if (p.waitKind !== WAIT_NONE) {
      throw new KernelError(
        "KERNEL_RECEIVE_IN_PROGRESS",
        `process ${formatPid(p.self)} already waits in receive or yield; await it before the next one`,
      );
    }
  }

  // ---- exits, links, monitors -----------------------------------------------------------------

  exit(pid: Pid, reason: ExitReason): void {
    this.exitSignal(KERNEL_PID, pid, reason);
  }

  exitSignal(from: Pid, target: Pid, reason: ExitReason): void {
    this.signals.push({ down: false, target, from, reason, link: false, ref: NO_REF });
    this.processSignals();
  }

  /** Ends `p` with `reason` and emits its link and monitor signals. Idempotent. */
  terminate(p: Process, reason: ExitReason): void {
    if (p.state === STATE_EXITED) return;
    p.state = STATE_EXITED;
    p.exitReason = reason;
    this.table.delete(p.self);
    this.exitedTotal++;
    if (p.name !== undefined) this.registry.delete(p.name);
    if (p.waitTimer !== undefined) this.clock.clearTimeout(p.waitTimer);
    p.waitTimer = undefined;
    p.waitResolve = null;
    p.waitMatcher = undefined;
    p.mailbox = null;
    if (p.timers !== null) {
      for (const ref of p.timers) this.dropTimer(ref);
      p.timers = null;
    }
    if (p.links !== null) {
      for (const pid of p.links) {
        this.table.get(pid)?.links?.delete(p.self);
        this.signals.push({ down: false, target: pid, from: p.self, reason, link: true, ref: NO_REF });
      }
      p.links = null;
    }
    if (p.monitors !== null) {
      for (const [ref, target] of p.monitors) this.table.get(target)?.watchers?.delete(ref);
      p.monitors = null;
    }
    if (p.watchers !== null) {
      for (const [ref, watcher] of p.watchers) {
        this.table.get(watcher)?.monitors?.delete(ref);
        this.signals.push({ down: true, target: watcher, from: p.self, reason, link: false, ref });
      }
      p.watchers = null;
    }
    this.runExitHooks(p, reason);
    if (this.signals.length > this.signalHead) this.processSignals();
  }

  /** User code that observes an end: backend cleanup, the abort signal, `whenExited` waiters. */
  private runExitHooks(p: Process, reason: ExitReason): void {
    if (p.backend?.terminate !== undefined) {
      try {
        p.backend.terminate(reason);
      } catch (error) {
        if (!isProcessExit(error)) {
          this.logger.warn("process backend terminate hook failed", { pid: p.self, error });
        }
      }
    }
    if (p.abortController !== null) p.abortController.abort(reason);
    if (p.exitWaiters !== null) {
      for (const waiter of p.exitWaiters) waiter(reason);
      p.exitWaiters = null;
    }
  }

  private processSignals(): void {
    if (this.processingSignals) return;
    this.processingSignals = true;
    const signals = this.signals;
    try {
      while (this.signalHead < signals.length) {
        const signal = signals[this.signalHead]!;
        signals[this.signalHead++] = undefined;
        this.handleSignal(signal);
      }
    } finally {
      signals.length = 0;
      this.signalHead = 0;
      this.processingSignals = false;
    }
  }

  /** Erlang's rules for a process receiving an exit or DOWN signal. */
  private handleSignal(signal: Signal): void {
    const target = this.table.get(signal.target);
    if (target === undefined) return;
    const { from, reason } = signal;
    if (signal.down) {
      this.deliver(target, new DownMessage(signal.ref, from, reason), true);
    } else if (reason === "kill" && !signal.link) {
      this.terminate(target, "killed");
    } else if (target.trapping) {
      this.deliver(target, new ExitMessage(from, reason), true);
    } else if (reason === "normal") {
      // A normal exit signal only ends the process that sent it to itself.
      if (from === target.self && !signal.link) this.terminate(target, "normal");
    } else {
      this.terminate(target, reason);
    }
  }

  link(p: Process, pid: Pid): void {
    if (pid === p.self) return;
    const other = this.table.get(pid);
    if (other === undefined) {
      this.signals.push({
        down: false,
        target: p.self,
        from: pid,
        reason: "noproc",
        link: true,
        ref: NO_REF,
      });
      this.processSignals();
      return;
    }
    p.addLink(pid);
    other.addLink(p.self);
  }

  unlink(p: Process, pid: Pid): void {
    p.links?.delete(pid);
    this.table.get(pid)?.links?.delete(p.self);
  }

  monitor(p: Process, target: Pid | string): Ref {
    const ref = this.makeRef();
    const watched = typeof target === "number" ? this.table.get(target) : this.registry.get(target);
    if (watched === undefined) {
      const pid = typeof target === "number" ? target : KERNEL_PID;
      this.signals.push({ down: true, target: p.self, from: pid, reason: "noproc", link: false, ref });
      this.processSignals();
      return ref;
    }
    p.addMonitor(ref, watched.self);
    watched.addWatcher(ref, p.self);
    return ref;
  }

  demonitor(p: Process, ref: Ref, flush: boolean): boolean {
    const target = p.monitors?.get(ref);
    if (target !== undefined) {
      p.monitors!.delete(ref);
      this.table.get(target)?.watchers?.delete(ref);
    }
    if (flush && p.mailbox !== null) {
      p.mailbox.take((m) => m instanceof DownMessage && m.ref === ref);
    }
    return target !== undefined;
  }

  makeRef(): Ref {
    return this.nextRef++ as Ref;
  }

  isAlive(pid: Pid): boolean {
    return this.table.has(pid);
  }

  ownerOf(pid: Pid): string | undefined {
    return this.table.get(pid)?.backend?.owner;
  }

  whenExited(pid: Pid): Promise<ExitReason> {
    const p = this.table.get(pid);
    if (p === undefined) return Promise.resolve("noproc");
    return new Promise((resolve) => {
      p.addExitWaiter(resolve);
    });
  }

  // ---- registry -------------------------------------------------------------------------------

  register(name: string, pid: Pid): void {
    validateName(name);
    const holder = this.registry.get(name);
    if (holder !== undefined) {
      throw new KernelError(
        "KERNEL_NAME_TAKEN",
        `cannot register "${name}": it is already held by ${formatPid(holder.self)}`,
      );
    }
    const p = this.table.get(pid);
    if (p === undefined) {
      throw new KernelError("KERNEL_NO_PROCESS", `cannot register "${name}": ${formatPid(pid)} is not alive`);
    }
    if (p.name !== undefined) {
      throw new KernelError(
        "KERNEL_ALREADY_REGISTERED",
        `cannot register ${formatPid(pid)} as "${name}": it is already registered as "${p.name}"`,
      );
    }
    p.name = name;
    this.registry.set(name, p);
  }

  unregister(name: string): boolean {
    const p = this.registry.get(name);
    if (p === undefined) return false;
    this.registry.delete(name);
    p.name = undefined;
    return true;
  }

  whereis(name: string): Pid | undefined {
    return this.registry.get(name)?.self;
  }

  // ---- timers ---------------------------------------------------------------------------------

  sendAfter(delayMs: number, dest: Pid | string, message: unknown): TimerRef {
    if (!(delayMs >= 0 && delayMs < Number.POSITIVE_INFINITY)) {
      throw new KernelError(
        "KERNEL_INVALID_OPTION",
        `sendAfter delay must be a finite number of ms >= 0, got ${delayMs}`,
      );
    }
    const copy = copyMessage(message);
    const ref = this.nextTimerRef++ as TimerRef;
    const target = typeof dest === "number" ? this.table.get(dest) : undefined;
    // A timer aimed at a pid that is not alive would be cancelled at once: do not start it.
    if (typeof dest === "number" && target === undefined) return ref;
    const handle = this.clock.setTimeout(() => this.fireTimer(ref), delayMs);
    this.timers.set(ref, { handle, dueMs: this.clock.now() + delayMs, dest, message: copy });
    target?.addTimer(ref);
    return ref;
  }

  private fireTimer(ref: TimerRef): void {
    const entry = this.timers.get(ref);
    if (entry === undefined) return;
    this.timers.delete(ref);
    const target =
      typeof entry.dest === "number" ? this.table.get(entry.dest) : this.registry.get(entry.dest);
    if (target === undefined) return;
    target.timers?.delete(ref);
    this.deliver(target, entry.message, false);
  }

  cancelTimer(ref: TimerRef): number | false {
    const entry = this.timers.get(ref);
    if (entry === undefined) return false;
    this.dropTimer(ref);
    if (typeof entry.dest === "number") this.table.get(entry.dest)?.timers?.delete(ref);
    return Math.max(0, entry.dueMs - this.clock.now());
  }

  private dropTimer(ref: TimerRef): void {
    const entry = this.timers.get(ref);
    if (entry === undefined) return;
    this.clock.clearTimeout(entry.handle);
    this.timers.delete(ref);
  }

  // ---- calls from outside ---------------------------------------------------------------------

  call(dest: Pid | string, request: unknown, timeoutMs?: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.spawn(
        async (ctx) => {
          try {
            resolve(await ctx.call(dest, request, timeoutMs));
          } catch (error) {
            reject(error);
          }
        },
        { label: "kernel.call" },
      );
    });
  }

  // ---- introspection --------------------------------------------------------------------------

  processes(): ProcessInfo[] {
    const infos: ProcessInfo[] = [];
    for (const p of this.table.values()) infos.push(this.describe(p));
    return infos;
  }

  mailboxLength(pid: Pid): number | undefined {
    return this.table.get(pid)?.mailbox?.length;
  }

  processInfo(pid: Pid): ProcessInfo | ExitedProcessInfo | undefined {
    const p = this.table.get(pid);
    if (p !== undefined) return this.describe(p);
    if (pid >= 1 && pid < this.nextPid) return { pid, status: "exited" };
    return undefined;
  }

  private describe(p: Process): ProcessInfo {
    const kind = p.backend === null ? "js" : p.backend.kind;
    const mailboxLength = p.mailbox?.length ?? 0;
    return {
      pid: p.self,
      name: p.name ?? null,
      label: p.label ?? p.backend?.label ?? (p.body !== null && p.body.name !== "" ? p.body.name : kind),
      kind,
      status: statusOf(p),
      parent: p.parent,
      mailboxLength,
      droppedMessages: p.mailbox?.dropped ?? 0,
      reductions: p.reductions,
      memoryBytes: this.estimateMemory(p),
      trapExit: p.trapping,
      links: p.links === null ? [] : [...p.links],
      monitors: p.monitors === null ? [] : [...p.monitors.values()],
      monitoredBy: p.watchers === null ? [] : [...p.watchers.values()],
    };
  }

  private estimateMemory(p: Process): number {
    let bytes = p.body !== null ? JS_PROCESS_BYTES : BACKEND_PROCESS_BYTES;
    bytes += (p.links?.size ?? 0) * LINK_BYTES;
    bytes += ((p.monitors?.size ?? 0) + (p.watchers?.size ?? 0)) * MONITOR_BYTES;
    const mailbox = p.mailbox;
    if (mailbox !== null && mailbox.length > 0) {
      const sample = mailbox.snapshot(MAILBOX_SAMPLE_MAX);
      let sampleBytes = 0;
      for (const message of sample) sampleBytes += 8 + estimateValueBytes(message);
      bytes += Math.round((sampleBytes / sample.length) * mailbox.length);
    }
    if (p.backend?.memoryBytes !== undefined) {
      try {
        bytes += p.backend.memoryBytes();
      } catch (error) {
        this.logger.warn("process backend memoryBytes failed", { pid: p.self, error });
      }
    }
    return bytes;
  }

  stats(): KernelStats {
    return {
      processCount: this.table.size,
      spawnedTotal: this.spawnedTotal,
      exitedTotal: this.exitedTotal,
      runQueueLength: this.scheduler.length,
      droppedMessagesTotal: this.droppedMessagesTotal,
      registeredNames: this.registry.size,
      pendingTimers: this.timers.size,
    };
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  async idle(maxTurns = 10_000): Promise<boolean> {
    for (let turn = 0; turn < maxTurns; turn++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.scheduler.length === 0) return true;
    }
    return false;
  }

  async shutdown(options?: { readonly timeoutMs?: number }): Promise<void> {
    const timeoutMs = options?.timeoutMs ?? 5_000;
    const roots = [...this.table.values()].filter((p) => p.parent === KERNEL_PID).reverse();
    for (const root of roots) await this.stopWithin(root, timeoutMs);
    for (const p of [...this.table.values()].reverse()) this.terminate(p, "killed");
    for (const ref of [...this.timers.keys()]) this.dropTimer(ref);
    this.closed = true;
  }

  /** exit(p, "shutdown"), then "kill" if it is still alive after `timeoutMs`. */
  private async stopWithin(p: Process, timeoutMs: number): Promise<void> {
    if (p.state === STATE_EXITED) return;
    const exited = this.whenExited(p.self);
    this.exit(p.self, "shutdown");
    let timer: TimerHandle | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = this.clock.setTimeout(resolve, timeoutMs);
    });
    const outcome = await Promise.race([
      exited.then(() => "exited" as const),
      timedOut.then(() => "timeout" as const),
    ]);
    this.clock.clearTimeout(timer);
    if (outcome === "timeout") {
      this.logger.warn("process did not stop within the shutdown timeout; killing it", {
        pid: formatPid(p.self),
        timeoutMs,
      });
      this.exit(p.self, "kill");
    }
  }
}

function statusOf(p: Process): Exclude<ProcessStatus, "exited"> {
  if (p.state === STATE_NEW || p.queued || p.deferred) return "runnable";
  if (p.waitKind === WAIT_RECEIVE) return "waiting";
  if (p.pushMode && p.waitKind === WAIT_NONE && !p.paused && (p.mailbox === null || p.mailbox.length === 0)) {
    return "waiting";
  }
  return "running";
}

function positiveInteger(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new KernelError(
      "KERNEL_INVALID_OPTION",
      `kernel option ${what} must be a positive integer, got ${value}`,
    );
  }
  return value;
}

function validateName(name: unknown): asserts name is string {
  if (typeof name !== "string" || name.length === 0 || name.length > NAME_LENGTH_MAX) {
    throw new KernelError(
      "KERNEL_INVALID_NAME",
      `invalid process name ${JSON.stringify(name)}: expected a non-empty string of at most ${NAME_LENGTH_MAX} characters`,
    );
  }
}

function validateSpawnOptions(options: SpawnOptions, registry: ReadonlyMap<string, Process>): void {
  const capacity = options.mailboxCapacity;
  if (capacity !== undefined && (!Number.isSafeInteger(capacity) || capacity < 1)) {
    throw new KernelError(
      "KERNEL_INVALID_OPTION",
      `mailboxCapacity must be a positive integer, got ${String(capacity)}`,
    );
  }
  if (options.name !== undefined) {
    validateName(options.name);
    const holder = registry.get(options.name);
    if (holder !== undefined) {
      throw new KernelError(
        "KERNEL_NAME_TAKEN",
        `cannot spawn with name "${options.name}": it is already held by ${formatPid(holder.self)}`,
      );
    }
  }
}
