import type { ExitReason } from "./exit-reason.ts";
import type { Pid, Ref, TimerRef } from "./pid.ts";
import type { ProcessBackend } from "./process-backend.ts";

/** What `receive` resolves to when its timeout passes with no matching message. */
export const TIMEOUT: unique symbol = Symbol("nx.kernel.timeout");
export type Timeout = typeof TIMEOUT;

/**
 * A value now or later. `receive` and `yield` return the value itself when they need not wait
 * (a matching message is already queued), which costs one microtask under `await` instead of a
 * Promise, and maps onto a JSPI `WebAssembly.Suspending` import that does not suspend.
 */
export type MaybePromise<T> = T | Promise<T>;

/** Selects messages in a selective receive; it must not have side effects. */
export type Matcher<T = unknown> = ((message: unknown) => message is T) | ((message: unknown) => boolean);

/**
 * The code of a process: an async (or plain) function given its context. The process ends with
 * reason `"normal"` when the function returns or its promise fulfils, and with the error when it
 * throws or rejects.
 *
 * @example
 * const echo: ProcessBody = async (ctx) => {
 *   for (;;) {
 *     const msg = await ctx.receive((m): m is { from: Pid; text: string } => typeof m === "object");
 *     ctx.send(msg.from, msg.text);
 *   }
 * };
 */
export type ProcessBody = (ctx: ProcessContext) => unknown;

/** A process backed by a ProcessBackend (wasm instance, behaviour, ...), made fresh per spawn. */
export interface BackendSpawnable {
  readonly backend: () => ProcessBackend;
}

/** What `spawn` runs: a function body, or a factory of a backend. */
export type Spawnable = ProcessBody | BackendSpawnable;

export interface SpawnOptions {
  /** Registers the new process under this name, atomically with the spawn. */
  readonly name?: string;
  /**
   * Bounds the mailbox to this many user messages (a positive integer). Further user messages
   * are shed and counted (`droppedMessages` in introspection); EXIT and DOWN messages are never
   * shed. Default: the kernel's `mailboxCapacity` (MAILBOX_CAPACITY_DEFAULT, 100 000).
   */
  readonly mailboxCapacity?: number;
  /** Starts the process already trapping exits (no window where a link signal could kill it). */
  readonly trapExit?: boolean;
  /** Shown in introspection (default: the function's name or the backend's kind). */
  readonly label?: string;
}

/**
 * Everything code running inside a process can do. A JS body receives it as its argument; a
 * ProcessBackend receives it in `start`. Once the process has ended, `receive` and `yield` return
 * promises that never settle, and every other operation throws `ProcessExit`, so code that
 * outlives its process stops at its next kernel call.
 */
export interface ProcessContext {
  readonly self: Pid;
  /** The process that spawned this one (KERNEL_PID when spawned from outside any process). */
  readonly parent: Pid;
  /** Aborted (with the exit reason) when this process ends: hand it to fetch, timers, streams. */
  readonly signal: AbortSignal;
  /** Messages waiting in the mailbox. */
  readonly mailboxLength: number;

  /**
   * Sends a copy of `message` (see message-copy.ts). Sending to a pid that is not alive does
   * nothing, as in Erlang; sending to a name nobody holds throws KERNEL_NOT_REGISTERED.
   */
  send(dest: Pid | string, message: unknown): void;

  /**
   * Takes the oldest message `matcher` accepts (any message without a matcher); messages it
   * skips stay in order. Waits when there is none; with `timeoutMs` resolves to `TIMEOUT` after
   * that long (0 polls). A process has at most one receive pending.
   */
  receive(): MaybePromise<unknown>;
  receive<T>(matcher: (message: unknown) => message is T): MaybePromise<T>;
  receive(matcher: Matcher | undefined): MaybePromise<unknown>;
  receive<T>(matcher: (message: unknown) => message is T, timeoutMs: number): MaybePromise<T | Timeout>;
  receive(matcher: Matcher | undefined, timeoutMs: number): MaybePromise<unknown>;

  /** Lets every other runnable process run once before this one continues. */
  yield(): MaybePromise<void>;

  spawn(what: Spawnable, options?: SpawnOptions): Pid;
  /** Spawns and links in one step: the child cannot end before the link exists. */
  spawnLink(what: Spawnable, options?: SpawnOptions): Pid;
  /** Spawns and monitors in one step. */
  spawnMonitor(what: Spawnable, options?: SpawnOptions): { readonly pid: Pid; readonly ref: Ref };

  /**
   * Links this process and `pid` both ways. Linking to a pid that is not alive delivers an exit
   * signal with reason `"noproc"` to this process (an EXIT message when trapping).
   */
  link(pid: Pid): void;
  unlink(pid: Pid): void;
  /** Watches `target`; a DOWN message with the reason follows its end (`"noproc"` when not alive). */
  monitor(target: Pid | string): Ref;
  /** Stops a monitor; `flush` also removes its DOWN message if already delivered. True if it was active. */
  demonitor(ref: Ref, options?: { readonly flush?: boolean }): boolean;
  /** Turns exit trapping on or off; returns the previous setting. */
  trapExit(on: boolean): boolean;

  /** Ends this process with `reason` (throws ProcessExit to unwind the caller). */
  exit(reason: ExitReason): never;
  /** Sends an exit signal to `pid`, with Erlang's `exit/2` semantics. */
  exit(pid: Pid, reason: ExitReason): void;

  /** Registers `pid` (default: this process) under `name`; released when it ends. */
  register(name: string, pid?: Pid): void;
  /** Releases `name`; false when it was not registered. */
  unregister(name: string): boolean;
  whereis(name: string): Pid | undefined;
  isAlive(pid: Pid): boolean;
  /** The backend's `owner` of live process `pid`; undefined when it has none or is not alive. */
  ownerOf(pid: Pid): string | undefined;

  /** Sends a copy of `message` (taken now) to `dest` after `delayMs`; cancelled if a dest pid ends. */
  sendAfter(delayMs: number, dest: Pid | string, message: unknown): TimerRef;
  /** Cancels a timer; the milliseconds it had left, or false when it already fired or was cancelled. */
  cancelTimer(ref: TimerRef): number | false;
  makeRef(): Ref;
  /** The kernel clock's monotonic time in ms (virtual under a VirtualClock). */
  nowMs(): number;

  /**
   * Request/reply (gen_server call): monitors `dest`, sends it a CallRequest and waits for the
   * reply. Rejects with KERNEL_CALL_TIMEOUT after `timeoutMs` (default 5000) and with
   * KERNEL_CALL_TARGET_EXITED when `dest` ends first.
   */
  call(dest: Pid | string, request: unknown, timeoutMs?: number): Promise<unknown>;
  /** Answers a CallRequest received by this process. */
  reply(request: CallRequestLike, value: unknown): void;
}

/** The fields of a call request that `reply` needs (see call.ts). */
export interface CallRequestLike {
  readonly from: Pid;
  readonly ref: Ref;
}
