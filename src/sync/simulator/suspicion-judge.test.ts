import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { MemberInfo } from "../../membership/membership-view.ts";
import { createSuspicionJudge } from "./suspicion-judge.ts";

/** Nodes a and m on one side, b on the other; `cut` says whether the partition holds. */
function world() {
  const state = { cut: false };
  const side = new Map([
    ["a", 0],
    ["m", 0],
    ["b", 1],
  ]);
  const judge = createSuspicionJudge({
    reachable: (observer, member) => !state.cut || side.get(observer) === side.get(member),
  });
  return { state, judge };
}

const m = (state: "suspect" | "dead", incarnation = 1): MemberInfo => ({
  nodeId: "m",
  address: "node-m:9000",
  state,
  incarnation,
});

describe("the simulator's judge of suspicions and deaths", () => {
  test("a node that suspected the member across the partition and declares it dead after the heal makes a true declaration, though a node that reached it suspected it first", () => {
    // partition-50 seed 1: the first recorder's false suspicion decided for the whole incarnation.
    const { state, judge } = world();
    state.cut = true;
    judge.record("a", m("suspect"), "a");
    judge.record("b", m("suspect"), "b");
    state.cut = false;
    judge.record("b", m("dead"), "b");
    assert.deepEqual(judge.counts(), { suspicions: 1, falseSuspicions: 1, falseDeaths: 0 });
  });

  test("a node that suspected the member while it reached it and declares it dead while it still does makes a false declaration", () => {
    const { judge } = world();
    judge.record("a", m("suspect"), "a");
    judge.record("a", m("dead"), "a");
    judge.record("b", m("dead"), "a");
    assert.deepEqual(judge.counts(), { suspicions: 1, falseSuspicions: 1, falseDeaths: 1 });
  });

  test("a false suspicion that times out across a partition raised since is a true declaration", () => {
    const { state, judge } = world();
    judge.record("b", m("suspect"), "b");
    state.cut = true;
    judge.record("b", m("dead"), "b");
    assert.deepEqual(judge.counts(), { suspicions: 1, falseSuspicions: 1, falseDeaths: 0 });
  });

  test("a death heard by gossip is not a declaration: only the declaring node's own claim is judged", () => {
    const { state, judge } = world();
    state.cut = true;
    judge.record("b", m("suspect"), "b");
    state.cut = false;
    judge.record("a", m("suspect"), "b");
    judge.record("b", m("dead"), "b");
    judge.record("a", m("dead"), "b");
    assert.deepEqual(judge.counts(), { suspicions: 1, falseSuspicions: 0, falseDeaths: 0 });
  });

  test("a node that heard the suspicion by gossip while it reached the member and lets it time out makes a false declaration", () => {
    const { state, judge } = world();
    state.cut = true;
    judge.record("b", m("suspect"), "b");
    state.cut = false;
    judge.record("a", m("suspect"), "b");
    judge.record("a", m("dead"), "a");
    assert.deepEqual(judge.counts(), { suspicions: 1, falseSuspicions: 0, falseDeaths: 1 });
  });

  test("each incarnation is judged once: the refuted one and its successor", () => {
    const { judge } = world();
    judge.record("a", m("suspect", 1), "a");
    judge.record("a", m("dead", 1), "a");
    judge.record("b", m("dead", 1), "b");
    judge.record("a", m("suspect", 2), "a");
    assert.deepEqual(judge.counts(), { suspicions: 2, falseSuspicions: 2, falseDeaths: 1 });
  });
});
