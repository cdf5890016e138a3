import type { Clock } from "../clock/clock.ts";
import type { Logger } from "../observe/logger.ts";

export interface KernelOptions {
  /** Default: systemClock. Tests and the simulator pass a VirtualClock. */
  readonly clock?: Clock;
  /** Default: silentLogger. */
  readonly logger?: Logger;
  /**
   * Messages a process takes (receive or push delivery) before it must let others run.
   * Default 1000: a slice of 20-100 µs of message handling, so a flooded process delays others
   * by about that much (Erlang gives a slice 4000 reductions, a few hundred receives).
   */
  readonly reductionBudget?: number;
  /**
   * Reductions run between two macrotask turns of the event loop, so timers and sockets keep
   * being served under load. Default 20 000 (about 1 ms at full speed).
   */
  readonly ioYieldEveryReductions?: number;
  /**
   * User messages a mailbox holds before further ones are shed (counted, never EXIT or DOWN),
   * for every process spawned without its own `mailboxCapacity`. Default 100 000: far above what
   * a process that keeps up ever holds, low enough that a receiver that stopped taking messages
   * costs tens of MB, not the node.
   */
  readonly mailboxCapacity?: number;
}

export const REDUCTION_BUDGET_DEFAULT = 1_000;
export const IO_YIELD_EVERY_REDUCTIONS_DEFAULT = 20_000;
export const MAILBOX_CAPACITY_DEFAULT = 100_000;
