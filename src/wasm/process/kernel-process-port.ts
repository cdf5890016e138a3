import { KernelError } from "../../kernel/kernel-error.ts";
import type { Pid } from "../../kernel/pid.ts";
import { type ProcessContext, TIMEOUT } from "../../kernel/process-context.ts";
import { ProcessExit } from "../../kernel/process-exit.ts";
import { DownMessage } from "../../kernel/system-messages.ts";
import { ERR_INTERNAL, ERR_NOT_FOUND, OK } from "../abi/abi-codes.ts";
import {
  GuestProcessExit,
  type GuestProcessPort,
  RECEIVE_HEADER_BYTES,
  RECEIVE_TIMED_OUT,
  type ReceiveAnswer,
  type ReceiveCriteria,
  type ReceivedMessage,
  type SpawnRequest,
} from "../abi/process-port.ts";
import { GRANT_LINK } from "./capability-profile.ts";
import { GUEST_MESSAGE_TYPE, type GuestMessage, guestView, isGuestMessage } from "./guest-message.ts";
import type { ProcessLife } from "./process-life.ts";

/** Largest pid the i32 ABI can carry. */
const PID_ABI_MAX = 0x7fff_ffff;

/**
 * Sent by a process to itself to end a wait early: when a message that matches a pending receive
 * but does not fit the guest's buffer arrives, the receive must answer -2 while the message stays
 * in its place in the mailbox. The kernel only ends a wait by handing over a message, so the
 * waiting matcher lets the big one pass and a wake-up is sent instead. Wake-ups are never shown
 * to the guest.
 */
const WAKE = "\u0000nx.process.wake\u0000";

/** Spawns children for guests (implemented by the WasmProcessHost). */
export interface ChildSpawner {
  /** The child's pid or an ABI code; see GuestProcessPort.spawn. */
  spawnChild(parent: ProcessLife, request: SpawnRequest): number;
}

/**
 * The `proc_*` functions of one pooled instance, bound to the process it currently runs as
 * ({@link attach} at the start of each life, {@link detach} at its end). Between lives, and
 * after a kill, every function answers -3.
 */
export class KernelProcessPort implements GuestProcessPort {
  readonly #spawner: ChildSpawner;
  #life: ProcessLife | undefined;

  // The state of the receive in progress, read by the matchers (allocated once, not per receive).
  #criteria: ReceiveCriteria | undefined;
  #capacity = 0;
  /** Size of the first matching message that did not fit, -1 when none (poll matcher). */
  #blockedBytes = -1;
  #wakePending = false;
  /** Where the receive in progress answers. */
  #answer: ReceiveAnswer | undefined;

  constructor(spawner: ChildSpawner) {
    this.#spawner = spawner;
  }

  attach(life: ProcessLife): void {
    this.#life = life;
  }

  detach(): void {
    this.#life = undefined;
  }

  /**
   * Hands the event loop and the other processes a turn (the fuel refill calls this); a request
   * life without a process of its own waits for the event loop's next turn (setImmediate).
   */
  yieldProcess(): Promise<void> {
    const life = this.#life;
    // A guest still running after its process ended: its yield never ends, but the kill that
    // ended the process (terminate) ends the wait, and the guest traps (FuelGovernor.refill).
    if (life === undefined) return new Promise<void>(() => {});
    if (!life.hasProcess) return new Promise((resolve) => setImmediate(resolve));
    return Promise.resolve(life.ctx.yield());
  }

  /** The process the instance runs as (a request life's is made here: every caller needs one). */
  #context(): ProcessContext {
    const life = this.#life;
    if (life === undefined) throw new DetachedError();
    return life.ctx;
  }

  self(): number {
    const life = this.#life;
    return life === undefined ? ERR_INTERNAL : abiPid(life.ctx.self);
  }

  spawn(request: SpawnRequest): number {
    const life = this.#life;
    if (life === undefined) return ERR_INTERNAL;
    return this.#spawner.spawnChild(life, request);
  }

  send(pid: number, payload: string): number {
    return this.#command(() => {
      const ctx = this.#context();
      if (!ctx.isAlive(pid as Pid)) return ERR_NOT_FOUND;
      const message: GuestMessage = { type: GUEST_MESSAGE_TYPE, from: ctx.self, data: payload };
      ctx.send(pid as Pid, message);
      return OK;
    });
  }

  link(pid: number): number {
    return this.#command(() => {
      const ctx = this.#context();
      const life = this.#life!;
      // Refused before the liveness check, so a guest cannot probe which pids exist this way.
      if ((life.grants & GRANT_LINK) === 0 && !life.children.has(pid as Pid)) return ERR_INTERNAL;
      // Unlike Erlang's link/1, linking to a process that is gone answers -1 instead of
      // killing the caller with `noproc`: a guest checks a code more easily than it traps exits.
      if (!ctx.isAlive(pid as Pid)) return ERR_NOT_FOUND;
      ctx.link(pid as Pid);
      return OK;
    });
  }

  unlink(pid: number): number {
    return this.#command(() => {
      this.#context().unlink(pid as Pid);
      return OK;
    });
  }

  monitor(pid: number): number {
    return this.#command(() => {
      const life = this.#life!;
      if (!life.monitors.has(pid as Pid)) {
        life.monitors.set(pid as Pid, this.#context().monitor(pid as Pid));
      }
      return OK;
    });
  }

  demonitor(pid: number): number {
    return this.#command(() => {
      const life = this.#life!;
      const ref = life.monitors.get(pid as Pid);
      if (ref === undefined) return 0;
      life.monitors.delete(pid as Pid);
      return this.#context().demonitor(ref, { flush: true }) ? 1 : 0;
    });
  }

  trapExit(on: boolean): number {
    return this.#command(() => (this.#context().trapExit(on) ? 1 : 0));
  }

  register(name: string): number {
    return this.#command(() => {
      this.#context().register(name);
      return OK;
    });
  }

  unregister(name: string): number {
    return this.#command(() => {
      const ctx = this.#context();
      // A guest may only release its own name.
      if (ctx.whereis(name) !== ctx.self) return ERR_NOT_FOUND;
      ctx.unregister(name);
      return OK;
    });
  }

  whereis(name: string): number {
    return this.#command(() => {
      const pid = this.#context().whereis(name);
      return pid === undefined ? ERR_NOT_FOUND : abiPid(pid);
    });
  }

  moduleOf(pid: number): string | undefined {
    // Asked before a call that needs the caller's process anyway: a request life makes it here.
    const ctx = this.#life?.ctx;
    if (ctx === undefined || !ctx.isAlive(pid as Pid)) return undefined;
    return ctx.ownerOf(pid as Pid) ?? "";
  }

  exit(reason: string): never {
    if (this.#life !== undefined) this.#life.exitReason = reason;
    throw new GuestProcessExit(reason);
  }

  /** Runs a kernel command; kernel refusals (name taken, process gone) answer -3. */
  #command(run: () => number): number {
    try {
      return run();
    } catch (error) {
      if (error instanceof DetachedError || error instanceof KernelError || error instanceof ProcessExit) {
        return ERR_INTERNAL;
      }
      throw error;
    }
  }

  // ---- receive ----------------------------------------------------------------------------------

  receive(
    criteria: ReceiveCriteria | undefined,
    capacityBytes: number,
    timeoutMs: number,
    answer: ReceiveAnswer,
  ): number | Promise<number> {
    const ctx = this.#context();
    this.#criteria = criteria;
    this.#capacity = capacityBytes;
    this.#answer = answer;
    const deadlineMs = timeoutMs < 0 ? Number.POSITIVE_INFINITY : ctx.nowMs() + timeoutMs;
    return this.#poll(ctx, deadlineMs, timeoutMs === 0);
  }

  /** Takes the oldest acceptable message without waiting (the scan stops at one that does not fit). */
  #poll(ctx: ProcessContext, deadlineMs: number, pollOnly: boolean): number | Promise<number> {
    this.#blockedBytes = -1;
    const taken = ctx.receive(this.#pollMatcher, 0);
    if (!(taken instanceof Promise)) return this.#afterPoll(ctx, taken, deadlineMs, pollOnly);
    return taken.then((later) => {
      try {
        return this.#afterPoll(ctx, later, deadlineMs, pollOnly);
      } catch (error) {
        return this.#answer!.failed(error);
      }
    });
  }

  #afterPoll(
    ctx: ProcessContext,
    taken: unknown,
    deadlineMs: number,
    pollOnly: boolean,
  ): number | Promise<number> {
    if (taken === WAKE) return this.#poll(ctx, deadlineMs, pollOnly);
    const answer = this.#answer!;
    if (taken !== TIMEOUT) return answer.answer(this.#received(taken));
    if (this.#blockedBytes >= 0) return answer.answer({ requiredBytes: this.#blockedBytes });
    if (pollOnly) return answer.answer(RECEIVE_TIMED_OUT);
    const leftMs = deadlineMs - ctx.nowMs();
    if (leftMs <= 0) return answer.answer(RECEIVE_TIMED_OUT);
    const waited =
      leftMs === Number.POSITIVE_INFINITY
        ? ctx.receive(this.#waitMatcher)
        : ctx.receive(this.#waitMatcher, leftMs);
    if (!(waited instanceof Promise)) return this.#afterWait(ctx, waited, deadlineMs);
    // The one reaction of a parked receive before the governor's: the outcome goes to the answer
    // from here. A host failure after the wait is the receive's answer, as it is before it.
    return waited.then((message) => {
      try {
        return this.#afterWait(ctx, message, deadlineMs);
      } catch (error) {
        return this.#answer!.failed(error);
      }
    });
  }

  #afterWait(ctx: ProcessContext, message: unknown, deadlineMs: number): number | Promise<number> {
    if (message === WAKE) return this.#poll(ctx, deadlineMs, false);
    return this.#answer!.answer(message === TIMEOUT ? RECEIVE_TIMED_OUT : this.#received(message));
  }

  #received(message: unknown): ReceivedMessage {
    const view = guestView(message);
    if (message instanceof DownMessage) {
      const monitors = this.#life?.monitors;
      if (monitors?.get(message.pid) === message.ref) monitors.delete(message.pid);
    }
    return view;
  }

  readonly #pollMatcher = (message: unknown): boolean => {
    if (this.#blockedBytes >= 0) return false; // keep everything behind the big one in place
    if (message === WAKE) return true;
    const size = this.#acceptedSize(message);
    if (size < 0) return false;
    if (size > this.#capacity) {
      this.#blockedBytes = size;
      return false;
    }
    return true;
  };

  readonly #waitMatcher = (message: unknown): boolean => {
    if (message === WAKE) return true;
    const size = this.#acceptedSize(message);
    if (size < 0) return false;
    if (size > this.#capacity) {
      this.#wakeSoon();
      return false;
    }
    return true;
  };

  /** The encoded size of `message` when the current criteria accept it, else -1. */
  #acceptedSize(message: unknown): number {
    const criteria = this.#criteria;
    if (isGuestMessage(message)) {
      // The common case, without building a view.
      if (criteria !== undefined) {
        if (criteria.kinds !== 0 && (criteria.kinds & 1) === 0) return -1;
        if (criteria.from !== 0 && criteria.from !== message.from) return -1;
        if (criteria.prefix !== "" && !message.data.startsWith(criteria.prefix)) return -1;
      }
      return RECEIVE_HEADER_BYTES + message.data.length;
    }
    const view = guestView(message);
    if (criteria !== undefined && !matches(criteria, view)) return -1;
    return RECEIVE_HEADER_BYTES + view.payload.length;
  }

  #wakeSoon(): void {
    if (this.#wakePending) return;
    this.#wakePending = true;
    const life = this.#life;
    // Not from inside the matcher: it runs in the middle of another process's send (so the
    // receiving life has its process).
    const ctx = life?.ctx;
    queueMicrotask(() => {
      this.#wakePending = false;
      if (ctx === undefined || this.#life !== life) return;
      try {
        ctx.send(ctx.self, WAKE);
      } catch {}
    });
  }
}

function matches(criteria: ReceiveCriteria, view: ReceivedMessage): boolean {
  if (criteria.kinds !== 0 && (criteria.kinds & (1 << view.kind)) === 0) return false;
  if (criteria.from !== 0 && criteria.from !== view.from) return false;
  const prefix = criteria.prefix;
  if (prefix === "") return true;
  const payload = view.payload;
  if (typeof payload === "string") return payload.startsWith(prefix);
  if (payload.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (payload[i] !== prefix.charCodeAt(i)) return false;
  return true;
}

/** A pid as the ABI carries it; pids beyond the i32 range (after 2^31 spawns) answer -3. */
function abiPid(pid: Pid): number {
  return pid <= PID_ABI_MAX ? pid : ERR_INTERNAL;
}

/** A port call between two lives of its instance (a guest that outlived its process). */
class DetachedError extends Error {}
