import assert from "node:assert/strict";
import { test } from "node:test";
import { writeAtTurnEnd } from "./turn-writes.ts";

test("a write that throws goes to its own failure handler and the turn's later writes still run", async () => {
  const done: string[] = [];
  const failures: unknown[] = [];
  const boom = new Error("boom");
  await new Promise<void>((resolve) => {
    writeAtTurnEnd(
      () => done.push("first"),
      (error) => failures.push(error),
    );
    writeAtTurnEnd(
      () => {
        throw boom;
      },
      (error) => failures.push(error),
    );
    writeAtTurnEnd(
      () => {
        done.push("third");
        resolve();
      },
      (error) => failures.push(error),
    );
  });
  assert.deepEqual(done, ["first", "third"]);
  assert.deepEqual(failures, [boom]);
});
