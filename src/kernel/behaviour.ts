import { type CallRequest, isCallRequest } from "./call.ts";
import type { ExitReason } from "./exit-reason.ts";
import type { ProcessBackend } from "./process-backend.ts";
import type { BackendSpawnable, ProcessContext } from "./process-context.ts";

/** `[reply, nextState]` from a call handler. */
export type CallResult<S> = readonly [reply: unknown, state: S];

/**
 * A push-style process (gen_server-like): no loop, no promise per message. The kernel calls a
 * handler per message from its run queue, so a process handling millions of messages costs a
 * function call each. A handler may return a promise; delivery then pauses until it settles
 * (the handler may `await ctx.receive(...)` or `ctx.call(...)` meanwhile).
 *
 * Stop with `ctx.exit(reason)` from any handler; a throw crashes the process with that error.
 *
 * @example
 * const counter = behaviour({
 *   init: () => 0,
 *   handle: (message, count) => (message === "inc" ? count + 1 : count),
 *   handleCall: (request, count) => [count, count], // reply with the count
 * });
 * const pid = kernel.spawn(counter);
 * kernel.send(pid, "inc");
 * await kernel.call(pid, "get"); // 1
 */
export interface BehaviourDefinition<S> {
  /** Builds the initial state when the process starts. */
  init(ctx: ProcessContext): S;
  /** Any message that is not a call (EXIT and DOWN messages included). Default: ignore it. */
  handle?(message: unknown, state: S, ctx: ProcessContext): S | Promise<S>;
  /** A `call` request; the reply is sent for you. Without it, calls go to `handle`. */
  handleCall?(request: unknown, state: S, ctx: ProcessContext): CallResult<S> | Promise<CallResult<S>>;
  /** Runs once when the process ends (any reason), after it is gone: for cleanup only. */
  terminate?(reason: ExitReason, state: S): void;
  /** Introspection label (default "behaviour"). */
  readonly label?: string;
}

/** A Spawnable that runs `definition` as a push-mode process. */
export function behaviour<S>(definition: BehaviourDefinition<S>): BackendSpawnable {
  return { backend: () => new BehaviourBackend(definition) };
}

class BehaviourBackend<S> implements ProcessBackend {
  readonly kind = "behaviour";
  readonly label: string | undefined;
  private readonly definition: BehaviourDefinition<S>;
  private ctx: ProcessContext | undefined;
  private state: S | undefined;
  private started = false;

  constructor(definition: BehaviourDefinition<S>) {
    this.definition = definition;
    this.label = definition.label;
  }

  start(ctx: ProcessContext): undefined {
    this.ctx = ctx;
    this.state = this.definition.init(ctx);
    this.started = true;
    return undefined;
  }

  deliver(message: unknown): Promise<void> | undefined {
    const { definition } = this;
    const ctx = this.ctx!;
    if (definition.handleCall !== undefined && isCallRequest(message)) {
      const result = definition.handleCall(message.request, this.state as S, ctx);
      if (result instanceof Promise) return result.then((settled) => this.answer(message, settled));
      this.answer(message, result);
      return undefined;
    }
    if (definition.handle === undefined) return undefined;
    const next = definition.handle(message, this.state as S, ctx);
    if (next instanceof Promise) {
      return next.then((state) => {
        this.state = state;
      });
    }
    this.state = next;
    return undefined;
  }

  terminate(reason: ExitReason): void {
    if (this.started && this.definition.terminate !== undefined) {
      this.definition.terminate(reason, this.state as S);
    }
  }

  private answer(request: CallRequest, [value, state]: CallResult<S>): void {
    this.state = state;
    this.ctx!.reply(request, value);
  }
}
