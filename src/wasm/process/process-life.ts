import type { Pid, Ref } from "../../kernel/pid.ts";
import type { ProcessContext } from "../../kernel/process-context.ts";
import type { GuestModule } from "../load-guest-module.ts";
import type { Grants } from "./capability-profile.ts";

/**
 * One life of a WebAssembly process: what it runs and what it holds. A pooled instance serves
 * many lives one after the other; anything that belongs to the process rather than to the
 * instance lives here, so a late callback of an ended life can never touch the next one.
 */
export interface ProcessLife {
  readonly ctx: ProcessContext;
  readonly module: GuestModule;
  /** The exported function the process runs. */
  readonly entry: string;
  readonly grants: Grants;
  /**
   * Children this process spawned (pruned of dead ones as it grows): without the `link` grant
   * they are the only processes it may link to. Made at the first spawn: most processes
   * spawn none, and a spawn should allocate no more than it uses.
   */
  children: Set<Pid> | undefined;
  /** The guest's monitors by target (the ABI names a monitor by its target pid); made at the first. */
  monitors: Map<Pid, Ref> | undefined;
  /** Set by `proc_exit`: the reason the process ends with once the guest has unwound. */
  exitReason: string | undefined;
}

/** `life`'s children, made on first use. */
export function childrenOf(life: ProcessLife): Set<Pid> {
  if (life.children === undefined) life.children = new Set();
  return life.children;
}

/** `life`'s monitors, made on first use. */
export function monitorsOf(life: ProcessLife): Map<Pid, Ref> {
  if (life.monitors === undefined) life.monitors = new Map();
  return life.monitors;
}
