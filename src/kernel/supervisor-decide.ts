import { type ExitReason, isOrderlyExit } from "./exit-reason.ts";
import type { Pid } from "./pid.ts";

/**
 * Supervision decisions as a pure function: (state, event) → (state, actions). No clock, no
 * processes: the driver (supervisor.ts) feeds events with the time and carries out the actions
 * in order. OTP's supervisor semantics.
 */

export type RestartStrategy = "one_for_one" | "one_for_all" | "rest_for_one";

/**
 * - `permanent`: always restarted;
 * - `transient`: restarted only after an abnormal exit (not `normal`, `shutdown`, `{shutdown: _}`);
 * - `temporary`: never restarted, and forgotten once it ends.
 */
export type RestartType = "permanent" | "transient" | "temporary";

export interface ChildState {
  readonly id: string;
  readonly restart: RestartType;
  /** The running process, undefined while not running. */
  readonly pid: Pid | undefined;
}

export interface SupervisorState {
  readonly strategy: RestartStrategy;
  /** More than this many restarts within `periodMs` make the supervisor give up. */
  readonly maxRestarts: number;
  readonly periodMs: number;
  /** In start order. */
  readonly children: readonly ChildState[];
  /** Times of the restarts still inside the window. */
  readonly restartTimesMs: readonly number[];
}

export type SupervisorEvent =
  | { readonly type: "child_started"; readonly id: string; readonly pid: Pid }
  | { readonly type: "child_exited"; readonly pid: Pid; readonly reason: ExitReason; readonly nowMs: number }
  | {
      readonly type: "start_failed";
      readonly id: string;
      readonly reason: ExitReason;
      readonly nowMs: number;
    }
  | { readonly type: "child_added"; readonly id: string; readonly restart: RestartType }
  | { readonly type: "terminate_requested"; readonly id: string }
  | { readonly type: "shutdown_requested"; readonly reason: ExitReason };

export type SupervisorAction =
  | { readonly type: "start"; readonly id: string }
  | { readonly type: "terminate"; readonly id: string; readonly pid: Pid }
  | { readonly type: "exit"; readonly reason: ExitReason };

export interface SupervisorDecision {
  readonly state: SupervisorState;
  readonly actions: readonly SupervisorAction[];
}

/** The exit reason of a supervisor that exceeded its restart intensity. */
export const MAX_RESTART_INTENSITY_REASON: ExitReason = { shutdown: "reached_max_restart_intensity" };

export function decideSupervisor(state: SupervisorState, event: SupervisorEvent): SupervisorDecision {
  switch (event.type) {
    case "child_started":
      return unchanged(
        withChildren(
          state,
          state.children.map((c) => (c.id === event.id ? { ...c, pid: event.pid } : c)),
        ),
      );
    case "child_exited": {
      const index = state.children.findIndex((c) => c.pid === event.pid);
      if (index < 0) return unchanged(state);
      return afterChildEnded(state, index, event.reason, event.nowMs);
    }
    case "start_failed": {
      const index = state.children.findIndex((c) => c.id === event.id);
      if (index < 0) return unchanged(state);
      return afterChildEnded(state, index, event.reason, event.nowMs);
    }
    case "child_added":
      return {
        state: withChildren(state, [
          ...state.children,
          { id: event.id, restart: event.restart, pid: undefined },
        ]),
        actions: [{ type: "start", id: event.id }],
      };
    case "terminate_requested": {
      const index = state.children.findIndex((c) => c.id === event.id);
      if (index < 0) return unchanged(state);
      const { children, actions } = terminateInReverse(state.children, [index]);
      return { state: withChildren(state, children), actions };
    }
    case "shutdown_requested": {
      const { children, actions } = terminateInReverse(state.children, indexes(0, state.children.length));
      return {
        state: withChildren(state, children),
        actions: [...actions, { type: "exit", reason: event.reason }],
      };
    }
  }
}

/** The child at `index` ended (or failed to start) with `reason`. */
function afterChildEnded(
  state: SupervisorState,
  index: number,
  reason: ExitReason,
  nowMs: number,
): SupervisorDecision {
  const child = state.children[index];
  if (child.restart === "temporary") {
    return unchanged(
      withChildren(
        state,
        state.children.filter((_, i) => i !== index),
      ),
    );
  }
  const stopped = state.children.map((c, i) => (i === index ? { ...c, pid: undefined } : c));
  if (child.restart === "transient" && isOrderlyExit(reason)) return unchanged(withChildren(state, stopped));

  const restartTimesMs = [...state.restartTimesMs.filter((t) => t > nowMs - state.periodMs), nowMs];
  if (restartTimesMs.length > state.maxRestarts) {
    const { children, actions } = terminateInReverse(stopped, indexes(0, stopped.length));
    return {
      state: { ...state, children, restartTimesMs },
      actions: [...actions, { type: "exit", reason: MAX_RESTART_INTENSITY_REASON }],
    };
  }
  const affected =
    state.strategy === "one_for_one"
      ? [index]
      : state.strategy === "one_for_all"
        ? indexes(0, stopped.length)
        : indexes(index, stopped.length);
  const survivorsOfStop = affected.filter((i) => i !== index);
  const { children, actions } = terminateInReverse(stopped, survivorsOfStop);
  const restartIds = new Set(affected.map((i) => stopped[i].id));
  const starts: SupervisorAction[] = children
    .filter((c) => restartIds.has(c.id))
    .map((c) => ({ type: "start", id: c.id }));
  return { state: { ...state, children, restartTimesMs }, actions: [...actions, ...starts] };
}

/**
 * Terminates the running children at `targets`, last started first. Terminated temporary
 * children are forgotten (OTP never restarts them).
 */
function terminateInReverse(
  children: readonly ChildState[],
  targets: readonly number[],
): { children: ChildState[]; actions: SupervisorAction[] } {
  const targetSet = new Set(targets);
  const actions: SupervisorAction[] = [];
  for (let i = children.length - 1; i >= 0; i--) {
    const c = children[i];
    if (targetSet.has(i) && c.pid !== undefined) actions.push({ type: "terminate", id: c.id, pid: c.pid });
  }
  const remaining: ChildState[] = [];
  children.forEach((c, i) => {
    if (!targetSet.has(i)) remaining.push(c);
    else if (c.restart !== "temporary") remaining.push({ ...c, pid: undefined });
  });
  return { children: remaining, actions };
}

function indexes(from: number, to: number): number[] {
  const result: number[] = [];
  for (let i = from; i < to; i++) result.push(i);
  return result;
}

function withChildren(state: SupervisorState, children: readonly ChildState[]): SupervisorState {
  return { ...state, children };
}

function unchanged(state: SupervisorState): SupervisorDecision {
  return { state, actions: [] };
}
