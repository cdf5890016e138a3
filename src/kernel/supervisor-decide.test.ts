import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { ExitReason } from "./exit-reason.ts";
import type { Pid } from "./pid.ts";
import {
  decideSupervisor,
  MAX_RESTART_INTENSITY_REASON,
  type RestartStrategy,
  type RestartType,
  type SupervisorAction,
  type SupervisorState,
} from "./supervisor-decide.ts";

const RUNS = Number(process.env.NX_PROPERTY_RUNS ?? 200);
const SEED = Number(process.env.NX_PROPERTY_SEED ?? 7);

function state(
  strategy: RestartStrategy,
  restarts: readonly RestartType[] = ["permanent", "permanent", "permanent"],
  intensity: { maxRestarts?: number; periodMs?: number } = {},
): SupervisorState {
  return {
    strategy,
    maxRestarts: intensity.maxRestarts ?? 3,
    periodMs: intensity.periodMs ?? 1_000,
    children: restarts.map((restart, i) => ({ id: `c${i}`, restart, pid: (10 + i) as Pid })),
    restartTimesMs: [],
  };
}

function exited(pid: number, reason: ExitReason = "crash", nowMs = 0) {
  return { type: "child_exited", pid: pid as Pid, reason, nowMs } as const;
}

function describeActions(actions: readonly SupervisorAction[]): string[] {
  return actions.map((a) => (a.type === "exit" ? `exit` : `${a.type}:${a.id}`));
}

describe("decideSupervisor", () => {
  it("one_for_one restarts only the child that ended", () => {
    const { state: next, actions } = decideSupervisor(state("one_for_one"), exited(11));
    assert.deepEqual(describeActions(actions), ["start:c1"]);
    assert.equal(next.children[1].pid, undefined);
    assert.equal(next.children[0].pid, 10);
    assert.deepEqual(next.restartTimesMs, [0]);
  });

  it("one_for_all stops the others in reverse start order, then starts all in order", () => {
    const { actions } = decideSupervisor(state("one_for_all"), exited(11));
    assert.deepEqual(describeActions(actions), [
      "terminate:c2",
      "terminate:c0",
      "start:c0",
      "start:c1",
      "start:c2",
    ]);
  });

  it("rest_for_one stops the children started after it, then restarts it and them", () => {
    const { state: next, actions } = decideSupervisor(state("rest_for_one"), exited(11));
    assert.deepEqual(describeActions(actions), ["terminate:c2", "start:c1", "start:c2"]);
    assert.equal(next.children[0].pid, 10, "earlier children keep running");
  });

  it("transient children restart only after an abnormal exit; temporary ones never, and are forgotten", () => {
    const s = state("one_for_one", ["transient", "temporary", "permanent"]);
    for (const orderly of ["normal", "shutdown", { shutdown: "detail" }] as ExitReason[]) {
      assert.deepEqual(decideSupervisor(s, exited(10, orderly)).actions, []);
    }
    assert.deepEqual(describeActions(decideSupervisor(s, exited(10, new Error("x"))).actions), ["start:c0"]);
    const afterTemporary = decideSupervisor(s, exited(11, new Error("x")));
    assert.deepEqual(afterTemporary.actions, []);
    assert.deepEqual(
      afterTemporary.state.children.map((c) => c.id),
      ["c0", "c2"],
    );
    assert.deepEqual(describeActions(decideSupervisor(s, exited(12, "normal")).actions), ["start:c2"]);
  });

  it("a temporary sibling stopped by one_for_all is not restarted", () => {
    const { state: next, actions } = decideSupervisor(
      state("one_for_all", ["permanent", "permanent", "temporary"]),
      exited(10),
    );
    assert.deepEqual(describeActions(actions), ["terminate:c2", "terminate:c1", "start:c0", "start:c1"]);
    assert.deepEqual(
      next.children.map((c) => c.id),
      ["c0", "c1"],
    );
  });

  it("gives up past maxRestarts within periodMs: stops every child in reverse, then exits", () => {
    let s = state("one_for_one", undefined, { maxRestarts: 2, periodMs: 1_000 });
    for (const nowMs of [0, 500]) {
      const decision = decideSupervisor(s, exited(11, "crash", nowMs));
      assert.deepEqual(describeActions(decision.actions), ["start:c1"]);
      s = decideSupervisor(decision.state, { type: "child_started", id: "c1", pid: 11 as Pid }).state;
    }
    const third = decideSupervisor(s, exited(11, "crash", 900));
    assert.deepEqual(describeActions(third.actions), ["terminate:c2", "terminate:c0", "exit"]);
    assert.deepEqual(third.actions.at(-1), { type: "exit", reason: MAX_RESTART_INTENSITY_REASON });
  });

  it("forgets restarts older than the window", () => {
    let s = state("one_for_one", undefined, { maxRestarts: 1, periodMs: 1_000 });
    for (const nowMs of [0, 1_000, 2_000, 3_000]) {
      const decision = decideSupervisor(s, exited(11, "crash", nowMs));
      assert.deepEqual(describeActions(decision.actions), ["start:c1"], `restart at ${nowMs}`);
      s = decideSupervisor(decision.state, { type: "child_started", id: "c1", pid: 11 as Pid }).state;
    }
  });

  it("ignores an exit from a pid that is not a current child", () => {
    const s = state("one_for_all");
    assert.deepEqual(decideSupervisor(s, exited(99)), { state: s, actions: [] });
  });

  it("a shutdown request stops running children in reverse start order, then exits with the reason", () => {
    const s = state("one_for_one");
    const stopped = { ...s, children: s.children.map((c, i) => (i === 1 ? { ...c, pid: undefined } : c)) };
    const { actions } = decideSupervisor(stopped, { type: "shutdown_requested", reason: "shutdown" });
    assert.deepEqual(describeActions(actions), ["terminate:c2", "terminate:c0", "exit"]);
  });

  it("never restarts more than maxRestarts times inside any window (property)", () => {
    const event = fc.record({
      child: fc.nat({ max: 2 }),
      gapMs: fc.nat({ max: 700 }),
      abnormal: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.constantFrom<RestartStrategy>("one_for_one", "one_for_all", "rest_for_one"),
        fc.nat({ max: 4 }),
        fc.array(event, { maxLength: 60 }),
        (strategy, maxRestarts, events) => {
          const periodMs = 1_000;
          let s = state(strategy, ["permanent", "transient", "permanent"], { maxRestarts, periodMs });
          let nowMs = 0;
          let nextPid = 100;
          const restartTimes: number[] = [];
          for (const e of events) {
            nowMs += e.gapMs;
            const child = s.children[e.child];
            if (child?.pid === undefined) continue;
            const decision = decideSupervisor(s, exited(child.pid, e.abnormal ? "crash" : "normal", nowMs));
            s = decision.state;
            if (decision.actions.some((a) => a.type === "exit")) {
              // Giving up happens exactly when this restart would be one too many in the window.
              const inWindow = restartTimes.filter((t) => t > nowMs - periodMs).length;
              assert.equal(inWindow, maxRestarts);
              return;
            }
            if (decision.actions.some((a) => a.type === "start")) restartTimes.push(nowMs);
            for (const action of decision.actions) {
              if (action.type === "start") {
                s = decideSupervisor(s, {
                  type: "child_started",
                  id: action.id,
                  pid: nextPid++ as Pid,
                }).state;
              }
            }
            const inWindow = restartTimes.filter((t) => t > nowMs - periodMs).length;
            assert.ok(inWindow <= maxRestarts, `${inWindow} restarts inside one window`);
            assert.ok(
              s.children.every((c) => c.pid !== undefined || c.restart === "transient"),
              "every permanent child runs after a decision",
            );
          }
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
