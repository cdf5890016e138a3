import { isCallRequest } from "./call.ts";
import type { ExitReason } from "./exit-reason.ts";
import { KernelError, type KernelErrorCode } from "./kernel-error.ts";
import type { Pid } from "./pid.ts";
import {
  type ProcessBody,
  type ProcessContext,
  type Spawnable,
  type SpawnOptions,
  TIMEOUT,
} from "./process-context.ts";
import {
  type ChildState,
  decideSupervisor,
  type RestartStrategy,
  type RestartType,
  type SupervisorEvent,
  type SupervisorState,
} from "./supervisor-decide.ts";
import { isDownMessage, isExitMessage } from "./system-messages.ts";

/** How long a child may take to stop after `shutdown` before it is killed. */
export type ShutdownPolicy = number | "brutal_kill" | "infinity";

export interface ChildSpec {
  /** Unique among the supervisor's children. */
  readonly id: string;
  /** Spawned (linked to the supervisor) at every start and restart: a fresh process each time. */
  readonly start: Spawnable;
  /** Default `permanent`. */
  readonly restart?: RestartType;
  /**
   * ms to wait after `exit(child, "shutdown")` before `exit(child, "kill")`; `"brutal_kill"`
   * kills at once; `"infinity"` waits forever. Default 5000 for workers, `"infinity"` for
   * supervisors (they need the time to stop their own children).
   */
  readonly shutdown?: ShutdownPolicy;
  /** Default `worker`. */
  readonly type?: "worker" | "supervisor";
  /** Passed to spawn (the label defaults to the child id). */
  readonly options?: SpawnOptions;
}

export interface SupervisorSpec {
  /** Default `one_for_one`. */
  readonly strategy?: RestartStrategy;
  /** Restart intensity: more than `maxRestarts` restarts within `periodMs` and the supervisor exits. OTP defaults: 1 in 5000 ms. */
  readonly maxRestarts?: number;
  readonly periodMs?: number;
  /** Started in this order, stopped in reverse. */
  readonly children: readonly ChildSpec[];
}

/** One row of `whichChildren`. */
export interface ChildInfo {
  readonly id: string;
  readonly pid: Pid | null;
  readonly type: "worker" | "supervisor";
  readonly restart: RestartType;
}

/** Anything that can make a call: a Kernel (from outside) or a ProcessContext. */
export interface Caller {
  call(dest: Pid | string, request: unknown, timeoutMs?: number): Promise<unknown>;
}

export const SHUTDOWN_MS_DEFAULT = 5_000;
export const MAX_RESTARTS_DEFAULT = 1;
export const PERIOD_MS_DEFAULT = 5_000;

/**
 * A supervisor process body. It traps exits, starts the children in order (each linked to it),
 * restarts them by strategy and restart type, gives up (terminating its children, then exiting
 * with `{ shutdown: "reached_max_restart_intensity" }`) when restarts exceed the intensity, and
 * stops its children in reverse start order when its parent exits or it receives an abnormal
 * exit signal from any other process (e.g. `kernel.exit(sup, "shutdown")`).
 * Decisions are made by `decideSupervisor` (pure); this body carries them out.
 *
 * Throws KERNEL_INVALID_SUPERVISOR_SPEC at once for a malformed spec.
 *
 * @example
 * const sup = kernel.spawn(supervisor({
 *   strategy: "one_for_one", maxRestarts: 3, periodMs: 5_000,
 *   children: [{ id: "cache", start: cacheBody }, { id: "web", start: webBody, restart: "transient" }],
 * }));
 */
export function supervisor(spec: SupervisorSpec): ProcessBody {
  validateSupervisorSpec(spec);
  // Named `supervisor` so that introspection labels the process with it.
  const named = { supervisor: (ctx: ProcessContext): Promise<void> => new SupervisorRun(ctx, spec).run() };
  return named.supervisor;
}

/** The children of a supervisor, in start order. */
export async function whichChildren(
  caller: Caller,
  sup: Pid | string,
  timeoutMs?: number,
): Promise<ChildInfo[]> {
  return unwrap(await caller.call(sup, { op: "which_children" }, timeoutMs)) as ChildInfo[];
}

/** Adds and starts a child; resolves with its pid. */
export async function startChild(
  caller: Caller,
  sup: Pid | string,
  child: ChildSpec,
  timeoutMs?: number,
): Promise<Pid> {
  validateChildSpec(child);
  // A child spec holds code, which messages cannot carry: it is handed over through this table.
  const token = nextSpecToken++;
  pendingChildSpecs.set(token, child);
  try {
    return unwrap(await caller.call(sup, { op: "start_child", token }, timeoutMs)) as Pid;
  } finally {
    pendingChildSpecs.delete(token);
  }
}

/** Stops a child gracefully (its shutdown policy); a temporary child is then forgotten. */
export async function terminateChild(
  caller: Caller,
  sup: Pid | string,
  id: string,
  timeoutMs?: number,
): Promise<void> {
  unwrap(await caller.call(sup, { op: "terminate_child", id }, timeoutMs));
}

/** Starts a stopped child again; resolves with its pid. */
export async function restartChild(
  caller: Caller,
  sup: Pid | string,
  id: string,
  timeoutMs?: number,
): Promise<Pid> {
  return unwrap(await caller.call(sup, { op: "restart_child", id }, timeoutMs)) as Pid;
}

const pendingChildSpecs = new Map<number, ChildSpec>();
let nextSpecToken = 1;

interface ErrorReply {
  readonly error: { readonly code: KernelErrorCode; readonly message: string };
}

function unwrap(answer: unknown): unknown {
  const error = (answer as Partial<ErrorReply> | null)?.error;
  if (error !== undefined) throw new KernelError(error.code, error.message);
  return (answer as { value: unknown }).value;
}

type SupervisorRequest =
  | { readonly op: "which_children" }
  | { readonly op: "start_child"; readonly token: number }
  | { readonly op: "terminate_child"; readonly id: string }
  | { readonly op: "restart_child"; readonly id: string };

/** One running supervisor: its specs, its decision state, and the effects of the decisions. */
class SupervisorRun {
  private readonly ctx: ProcessContext;
  private readonly specs = new Map<string, ChildSpec>();
  private state: SupervisorState;

  constructor(ctx: ProcessContext, spec: SupervisorSpec) {
    this.ctx = ctx;
    for (const child of spec.children) this.specs.set(child.id, child);
    this.state = {
      strategy: spec.strategy ?? "one_for_one",
      maxRestarts: spec.maxRestarts ?? MAX_RESTARTS_DEFAULT,
      periodMs: spec.periodMs ?? PERIOD_MS_DEFAULT,
      children: spec.children.map(
        (c): ChildState => ({ id: c.id, restart: c.restart ?? "permanent", pid: undefined }),
      ),
      restartTimesMs: [],
    };
  }

  async run(): Promise<void> {
    const { ctx } = this;
    ctx.trapExit(true);
    for (const child of this.state.children) {
      const started = this.startChild(child.id);
      if (started instanceof Error) {
        const reason = new KernelError(
          "KERNEL_CHILD_START_FAILED",
          `supervisor child "${child.id}" failed to start: ${started.message}`,
          { cause: started },
        );
        // Stops the children already started, in reverse, then exits with `reason`.
        await this.apply({ type: "shutdown_requested", reason });
      }
    }
    for (;;) {
      const message = await ctx.receive();
      if (isExitMessage(message)) {
        await this.onExit(message.from, message.reason);
      } else if (isCallRequest(message)) {
        ctx.reply(message, await this.onRequest(message.request as SupervisorRequest));
      }
      // A supervisor has no other protocol: anything else is dropped.
    }
  }

  private async onExit(from: Pid, reason: ExitReason): Promise<void> {
    if (this.state.children.some((c) => c.pid === from)) {
      await this.apply({ type: "child_exited", pid: from, reason, nowMs: this.ctx.nowMs() });
    } else if (from === this.ctx.parent || !isNormal(reason)) {
      // As a process that did not trap exits would die, but stopping the children first.
      await this.apply({ type: "shutdown_requested", reason });
    }
  }

  private async onRequest(request: SupervisorRequest): Promise<unknown> {
    switch (request.op) {
      case "which_children":
        return {
          value: this.state.children.map(
            (c): ChildInfo => ({
              id: c.id,
              pid: c.pid ?? null,
              type: this.specs.get(c.id)!.type ?? "worker",
              restart: c.restart,
            }),
          ),
        };
      case "start_child": {
        const spec = pendingChildSpecs.get(request.token);
        if (spec === undefined)
          return failure("KERNEL_INVALID_OPTION", "start_child: the child spec was withdrawn");
        if (this.specs.has(spec.id)) {
          return failure(
            "KERNEL_INVALID_SUPERVISOR_SPEC",
            `start_child: a child with id "${spec.id}" already exists`,
          );
        }
        this.specs.set(spec.id, spec);
        await this.apply({ type: "child_added", id: spec.id, restart: spec.restart ?? "permanent" });
        return this.pidReply(spec.id);
      }
      case "terminate_child":
        if (!this.specs.has(request.id)) return unknownChild(request.id);
        await this.apply({ type: "terminate_requested", id: request.id });
        if (!this.state.children.some((c) => c.id === request.id)) this.specs.delete(request.id);
        return { value: undefined };
      case "restart_child": {
        const child = this.state.children.find((c) => c.id === request.id);
        if (child === undefined) return unknownChild(request.id);
        if (child.pid === undefined) {
          const started = this.startChild(child.id);
          if (started instanceof Error) {
            return failure(
              "KERNEL_CHILD_START_FAILED",
              `child "${child.id}" failed to start: ${started.message}`,
            );
          }
        }
        return this.pidReply(request.id);
      }
      default:
        return failure("KERNEL_INVALID_OPTION", "unknown supervisor request");
    }
  }

  private pidReply(id: string): unknown {
    return { value: this.state.children.find((c) => c.id === id)?.pid ?? null };
  }

  /** Feeds an event to the decision function and carries out its actions in order. */
  private async apply(first: SupervisorEvent): Promise<void> {
    const events: SupervisorEvent[] = [first];
    while (events.length > 0) {
      const decision = decideSupervisor(this.state, events.shift()!);
      this.state = decision.state;
      for (const action of decision.actions) {
        if (action.type === "terminate") {
          await this.stopChild(action.pid, this.specs.get(action.id)!);
        } else if (action.type === "start") {
          const started = this.startChild(action.id);
          if (started instanceof Error) {
            // Counts as a restart, so a child that can never start ends in the intensity limit.
            events.push({ type: "start_failed", id: action.id, reason: started, nowMs: this.ctx.nowMs() });
            break;
          }
        } else {
          this.ctx.exit(action.reason);
        }
      }
    }
  }

  /** Spawns a child linked to the supervisor; the error when spawn refuses. */
  private startChild(id: string): Pid | Error {
    const spec = this.specs.get(id)!;
    let pid: Pid;
    try {
      pid = this.ctx.spawnLink(spec.start, { ...spec.options, label: spec.options?.label ?? spec.id });
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
    this.state = decideSupervisor(this.state, { type: "child_started", id, pid }).state;
    return pid;
  }

  /** OTP's shutdown: monitor, unlink, exit(shutdown), wait up to the policy, then kill. */
  private async stopChild(pid: Pid, spec: ChildSpec): Promise<void> {
    const { ctx } = this;
    const ref = ctx.monitor(pid);
    ctx.unlink(pid);
    const isOurDown = (m: unknown): boolean => isDownMessage(m) && m.ref === ref;
    const policy = spec.shutdown ?? (spec.type === "supervisor" ? "infinity" : SHUTDOWN_MS_DEFAULT);
    if (policy === "brutal_kill") {
      ctx.exit(pid, "kill");
      await ctx.receive(isOurDown);
    } else {
      ctx.exit(pid, "shutdown");
      const down =
        policy === "infinity" ? await ctx.receive(isOurDown) : await ctx.receive(isOurDown, policy);
      if (down === TIMEOUT) {
        ctx.exit(pid, "kill");
        await ctx.receive(isOurDown);
      }
    }
    // An EXIT the child sent before the unlink may still be queued: it is stale now.
    const isStaleExit = (m: unknown): boolean => isExitMessage(m) && m.from === pid;
    while ((await ctx.receive(isStaleExit, 0)) !== TIMEOUT) {}
  }
}

function isNormal(reason: ExitReason): boolean {
  return reason === "normal";
}

function failure(code: KernelErrorCode, message: string): ErrorReply {
  return { error: { code, message } };
}

function unknownChild(id: string): ErrorReply {
  return failure("KERNEL_UNKNOWN_CHILD", `supervisor has no child with id "${id}"`);
}

const STRATEGIES: readonly string[] = ["one_for_one", "one_for_all", "rest_for_one"];
const RESTART_TYPES: readonly string[] = ["permanent", "transient", "temporary"];

function invalid(message: string): KernelError {
  return new KernelError("KERNEL_INVALID_SUPERVISOR_SPEC", `invalid supervisor spec: ${message}`);
}

export function validateSupervisorSpec(spec: SupervisorSpec): void {
  if (spec.strategy !== undefined && !STRATEGIES.includes(spec.strategy)) {
    throw invalid(`strategy must be one of ${STRATEGIES.join(", ")}, got ${JSON.stringify(spec.strategy)}`);
  }
  if (spec.maxRestarts !== undefined && !(Number.isSafeInteger(spec.maxRestarts) && spec.maxRestarts >= 0)) {
    throw invalid(`maxRestarts must be an integer >= 0, got ${spec.maxRestarts}`);
  }
  if (spec.periodMs !== undefined && !(spec.periodMs > 0 && spec.periodMs < Number.POSITIVE_INFINITY)) {
    throw invalid(`periodMs must be a finite number > 0, got ${spec.periodMs}`);
  }
  if (!Array.isArray(spec.children)) throw invalid("children must be an array of child specs");
  const ids = new Set<string>();
  for (const child of spec.children) {
    validateChildSpec(child);
    if (ids.has(child.id)) throw invalid(`child id "${child.id}" appears twice`);
    ids.add(child.id);
  }
}

function validateChildSpec(child: ChildSpec): void {
  if (typeof child.id !== "string" || child.id === "")
    throw invalid("every child needs a non-empty string id");
  const start = child.start as unknown;
  const startOk =
    typeof start === "function" ||
    (typeof start === "object" &&
      start !== null &&
      typeof (start as { backend?: unknown }).backend === "function");
  if (!startOk)
    throw invalid(`child "${child.id}": start must be a function or { backend: () => ProcessBackend }`);
  if (child.restart !== undefined && !RESTART_TYPES.includes(child.restart)) {
    throw invalid(`child "${child.id}": restart must be one of ${RESTART_TYPES.join(", ")}`);
  }
  const shutdown = child.shutdown;
  if (
    shutdown !== undefined &&
    shutdown !== "brutal_kill" &&
    shutdown !== "infinity" &&
    !(typeof shutdown === "number" && shutdown >= 0 && shutdown < Number.POSITIVE_INFINITY)
  ) {
    throw invalid(`child "${child.id}": shutdown must be ms >= 0, "brutal_kill" or "infinity"`);
  }
  if (child.type !== undefined && child.type !== "worker" && child.type !== "supervisor") {
    throw invalid(`child "${child.id}": type must be "worker" or "supervisor"`);
  }
}
