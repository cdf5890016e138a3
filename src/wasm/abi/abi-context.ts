import { describeError } from "../../errors/numax-error.ts";
import type { Logger } from "../../observe/logger.ts";
import { WriteRefusedError } from "../../store/store-error.ts";
import { ERR_INTERNAL } from "./abi-codes.ts";
import type { GuestEnvironment } from "./guest-environment.ts";
import { GuestInputError } from "./guest-input.ts";
import { type GuestMemoryRef, GuestMemoryViews } from "./guest-memory.ts";
import { asHostFunction, forwarding } from "./host-call-forwarding.ts";

/** Host warnings about one guest instance stop after this many, so a failing loop cannot flood the log. */
const HOST_FAILURE_LOG_LINES_MAX = 100;

/**
 * What every host function of one guest instance shares: the environment, cached memory views
 * and the one place where an unexpected host error becomes a return code and a log line.
 */
export class AbiContext {
  readonly env: GuestEnvironment;
  readonly views: GuestMemoryViews;
  readonly logger: Logger;
  /** Lines logged so far, per budget (see `#logBounded`). */
  readonly #logged = { failures: 0, refusals: 0 };

  constructor(env: GuestEnvironment, memory: GuestMemoryRef) {
    this.env = env;
    this.views = new GuestMemoryViews(memory);
    this.logger = env.logger;
  }

  /**
   * Logs an unexpected error of host function `name` (bounded) and answers -3. A write refused
   * because the store cannot commit is not logged here: the store logs that once, rate-limited.
   */
  fail(name: string, error: unknown): number {
    if (!(error instanceof WriteRefusedError)) this.logFailure(name, error);
    return ERR_INTERNAL;
  }

  logFailure(name: string, error: unknown): void {
    this.#logBounded("failures", `host function ${name} failed: ${describeError(error)}`);
  }

  /**
   * Logs a call refused for what the guest asked (a CRDT write over one sync message, -10), on a
   * budget of its own: a guest that keeps asking must not silence the log of real failures.
   */
  logRefusal(name: string, error: unknown): void {
    this.#logBounded("refusals", `host function ${name}: ${describeError(error)}`);
  }

  #logBounded(kind: "failures" | "refusals", message: string): void {
    const logged = this.#logged[kind];
    if (logged > HOST_FAILURE_LOG_LINES_MAX) return;
    this.#logged[kind] = logged + 1;
    if (logged === HOST_FAILURE_LOG_LINES_MAX) {
      this.logger.warn(`further host function ${kind} of this guest are not logged`, {
        module: this.env.moduleId,
      });
      return;
    }
    this.logger.warn(message, { module: this.env.moduleId });
  }

  /**
   * Wraps a host function so that nothing it throws reaches the guest: any error answers -3,
   * logged unless it is the guest's own invalid input.
   * Hot functions inline their own try/catch instead, answering what `caught` does.
   */
  guard<A extends unknown[]>(name: string, fn: (...args: A) => number): (...args: A) => number {
    const forward = forwarding(fn);
    return asHostFunction((a, b, c, d, e, f, g, h, i): number => {
      try {
        return forward(a, b, c, d, e, f, g, h, i);
      } catch (error) {
        return this.caught(name, error);
      }
    });
  }

  /** What a guarded host function `name` answers for `error`: -3, logged unless the guest's own invalid input. */
  caught(name: string, error: unknown): number {
    return error instanceof GuestInputError ? ERR_INTERNAL : this.fail(name, error);
  }
}
