import type { Pid, Ref } from "../../kernel/pid.ts";
import type { ProcessContext } from "../../kernel/process-context.ts";
import type { GuestModule } from "../load-guest-module.ts";
import type { Grants } from "./capability-profile.ts";

/** Makes the kernel process of a life that has none yet (a request life's backend). */
export interface ProcessMaker {
  makeProcess(): void;
}

/**
 * One life of a WebAssembly process: what it runs and what it holds. A pooled instance serves
 * many lives one after the other; anything that belongs to the process rather than to the
 * instance lives here, so a late callback of an ended life can never touch the next one.
 *
 * A request life (wasm-process-backend.ts) starts without a kernel process: the first read of
 * {@link ctx} makes it, through its {@link ProcessMaker}, which calls {@link adopt} before it returns.
 */
export class ProcessLife {
  readonly module: GuestModule;
  /** The exported function the process runs. */
  readonly entry: string;
  readonly grants: Grants;
  /** Set by `proc_exit`: the reason the process ends with once the guest has unwound. */
  exitReason: string | undefined = undefined;
  #ctx: ProcessContext | undefined;
  readonly #maker: ProcessMaker;
  #children: Set<Pid> | undefined;
  #monitors: Map<Pid, Ref> | undefined;

  constructor(
    module: GuestModule,
    entry: string,
    grants: Grants,
    ctx: ProcessContext | undefined,
    maker: ProcessMaker,
  ) {
    this.module = module;
    this.entry = entry;
    this.grants = grants;
    this.#ctx = ctx;
    this.#maker = maker;
  }

  /** Its kernel process; a request life's is made by this first read. */
  get ctx(): ProcessContext {
    if (this.#ctx === undefined) this.#maker.makeProcess();
    return this.#ctx!;
  }

  /** False only for a request life that has not needed its process yet. */
  get hasProcess(): boolean {
    return this.#ctx !== undefined;
  }

  /** The process made for this request life (its backend's `start`). */
  adopt(ctx: ProcessContext): void {
    this.#ctx = ctx;
  }

  /**
   * Children this process spawned (pruned of dead ones as it grows): without the `link` grant
   * they are the only processes it may link to. Made on first use, as {@link monitors}: most
   * lives have neither.
   */
  get children(): Set<Pid> {
    this.#children ??= new Set();
    return this.#children;
  }

  /** The guest's monitors by target (the ABI names a monitor by its target pid). */
  get monitors(): Map<Pid, Ref> {
    this.#monitors ??= new Map();
    return this.#monitors;
  }
}
