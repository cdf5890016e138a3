import type { TimerHandle } from "../clock/clock.ts";
import { call, reply } from "./call.ts";
import type { ExitReason } from "./exit-reason.ts";
import type { KernelCore } from "./kernel-core.ts";
import type { Mailbox } from "./mailbox.ts";
import type { Pid, Ref, TimerRef } from "./pid.ts";
import type { ProcessBackend } from "./process-backend.ts";
import type {
  CallRequestLike,
  Matcher,
  MaybePromise,
  ProcessBody,
  ProcessContext,
  Spawnable,
  SpawnOptions,
} from "./process-context.ts";
import { ProcessExit } from "./process-exit.ts";

export const STATE_NEW = 0;
export const STATE_RUNNING = 1;
export const STATE_EXITED = 2;

export const WAIT_NONE = 0;
export const WAIT_RECEIVE = 1;
export const WAIT_YIELD = 2;

/**
 * One process: the kernel's record of it and, at the same time, the ProcessContext its code
 * uses (one object per process keeps an idle process small). Fields are the kernel's; user code
 * only sees the ProcessContext interface.
 */
export class Process implements ProcessContext {
  readonly self: Pid;
  readonly parent: Pid;
  readonly core: KernelCore;
  readonly body: ProcessBody | null;
  readonly backend: ProcessBackend | null;
  readonly label: string | undefined;
  readonly mailboxCapacity: number;

  state = STATE_NEW;
  exitReason: ExitReason | undefined = undefined;
  /** Created on the first message that has to wait. */
  mailbox: Mailbox | null = null;
  trapping = false;
  name: string | undefined = undefined;
  links: Set<Pid> | null = null;
  /** Monitors this process holds: ref → target. */
  monitors: Map<Ref, Pid> | null = null;
  /** Monitors on this process: ref → watcher. */
  watchers: Map<Ref, Pid> | null = null;
  /** sendAfter timers aimed at this process (cancelled when it ends). */
  timers: Set<TimerRef> | null = null;

  /** A pending receive or yield, resolved by the kernel. */
  waitKind = WAIT_NONE;
  waitMatcher: Matcher | undefined = undefined;
  waitResolve: ((value: unknown) => void) | null = null;
  waitTimer: TimerHandle | undefined = undefined;
  /** The pending receive was a poll (timeout 0) deferred by an exhausted budget. */
  waitPoll = false;
  /** The pending wait is to be resumed by the scheduler, not by an arriving message. */
  deferred = false;
  /** In the run queue. */
  queued = false;
  /** Push mode: the backend has `deliver`. */
  pushMode = false;
  /** Push mode: delivery waits for the promise the last `deliver` returned. */
  paused = false;
  /** Receives left before this process must let others run. */
  budget: number;
  reductions = 0;
  abortController: AbortController | null = null;
  exitWaiters: ((reason: ExitReason) => void)[] | null = null;

  constructor(
    core: KernelCore,
    self: Pid,
    parent: Pid,
    body: ProcessBody | null,
    backend: ProcessBackend | null,
    options: SpawnOptions | undefined,
  ) {
    this.core = core;
    this.self = self;
    this.parent = parent;
    this.body = body;
    this.backend = backend;
    this.label = options?.label;
    this.mailboxCapacity = options?.mailboxCapacity ?? core.mailboxCapacity;
    this.trapping = options?.trapExit === true;
    this.budget = core.budget;
  }

  get signal(): AbortSignal {
    if (this.abortController === null) {
      this.abortController = new AbortController();
      if (this.state === STATE_EXITED) this.abortController.abort(this.exitReason);
    }
    return this.abortController.signal;
  }

  get mailboxLength(): number {
    return this.mailbox === null ? 0 : this.mailbox.length;
  }

  nowMs(): number {
    return this.core.clock.now();
  }

  send(dest: Pid | string, message: unknown): void {
    if (this.state === STATE_EXITED) throw new ProcessExit(this.exitReason!);
    this.core.send(dest, message);
  }

  receive(matcher?: Matcher, timeoutMs?: number): MaybePromise<never> {
    return this.core.receive(this, matcher, timeoutMs) as MaybePromise<never>;
  }

  yield(): MaybePromise<void> {
    return this.core.yieldProcess(this);
  }

  spawn(what: Spawnable, options?: SpawnOptions): Pid {
    this.assertAlive();
    return this.core.spawn(what, options, this, false);
  }

  spawnLink(what: Spawnable, options?: SpawnOptions): Pid {
    this.assertAlive();
    return this.core.spawn(what, options, this, true);
  }

  spawnMonitor(what: Spawnable, options?: SpawnOptions): { readonly pid: Pid; readonly ref: Ref } {
    this.assertAlive();
    const pid = this.core.spawn(what, options, this, false);
    return { pid, ref: this.core.monitor(this, pid) };
  }

  link(pid: Pid): void {
    this.assertAlive();
    this.core.link(this, pid);
    this.assertAlive();
  }

  unlink(pid: Pid): void {
    this.assertAlive();
    this.core.unlink(this, pid);
  }

  monitor(target: Pid | string): Ref {
    this.assertAlive();
    return this.core.monitor(this, target);
  }

  demonitor(ref: Ref, options?: { readonly flush?: boolean }): boolean {
    this.assertAlive();
    return this.core.demonitor(this, ref, options?.flush === true);
  }

  trapExit(on: boolean): boolean {
    this.assertAlive();
    const previous = this.trapping;
    this.trapping = on;
    return previous;
  }

  exit(reason: ExitReason): never;
  exit(pid: Pid, reason: ExitReason): void;
  exit(...args: [ExitReason] | [Pid, ExitReason]): void {
    this.assertAlive();
    if (args.length === 1) {
      this.core.terminate(this, args[0]);
      throw new ProcessExit(args[0]);
    }
    this.core.exitSignal(this.self, args[0], args[1]);
    this.assertAlive();
  }

  register(name: string, pid: Pid = this.self): void {
    this.assertAlive();
    this.core.register(name, pid);
  }

  unregister(name: string): boolean {
    this.assertAlive();
    return this.core.unregister(name);
  }

  whereis(name: string): Pid | undefined {
    return this.core.whereis(name);
  }

  isAlive(pid: Pid): boolean {
    return this.core.isAlive(pid);
  }

  ownerOf(pid: Pid): string | undefined {
    return this.core.ownerOf(pid);
  }

  sendAfter(delayMs: number, dest: Pid | string, message: unknown): TimerRef {
    this.assertAlive();
    return this.core.sendAfter(delayMs, dest, message);
  }

  cancelTimer(ref: TimerRef): number | false {
    this.assertAlive();
    return this.core.cancelTimer(ref);
  }

  makeRef(): Ref {
    return this.core.makeRef();
  }

  call(dest: Pid | string, request: unknown, timeoutMs?: number): Promise<unknown> {
    return call(this, dest, request, timeoutMs);
  }

  reply(request: CallRequestLike, value: unknown): void {
    reply(this, request, value);
  }

  addLink(pid: Pid): void {
    if (this.links === null) this.links = new Set();
    this.links.add(pid);
  }

  addMonitor(ref: Ref, target: Pid): void {
    if (this.monitors === null) this.monitors = new Map();
    this.monitors.set(ref, target);
  }

  addWatcher(ref: Ref, watcher: Pid): void {
    if (this.watchers === null) this.watchers = new Map();
    this.watchers.set(ref, watcher);
  }

  addTimer(ref: TimerRef): void {
    if (this.timers === null) this.timers = new Set();
    this.timers.add(ref);
  }

  addExitWaiter(waiter: (reason: ExitReason) => void): void {
    if (this.exitWaiters === null) this.exitWaiters = [];
    this.exitWaiters.push(waiter);
  }

  /** Ends the caller's code when its process is gone (see ProcessContext). */
  assertAlive(): void {
    if (this.state === STATE_EXITED) throw new ProcessExit(this.exitReason!);
  }
}
