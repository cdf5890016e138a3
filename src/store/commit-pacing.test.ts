import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { COMMIT_PACING_FACTOR, COMMIT_PACING_MAX_MS, commitPauseMs } from "./commit-pacing.ts";

describe("commitPauseMs", () => {
  it("commits at once after a quiet spell, and the first group of all", () => {
    assert.equal(commitPauseMs({ lastCommitMs: 50, lastCommitEndMs: 1000, nowMs: 2000 }), 0);
    assert.equal(commitPauseMs({ lastCommitMs: 0, lastCommitEndMs: 0, nowMs: 5 }), 0);
  });

  it("lets a group gather for the factor times the last commit, counted from its end", () => {
    const input = { lastCommitMs: 2, lastCommitEndMs: 1000, nowMs: 1001 };
    assert.equal(commitPauseMs(input), 2 * COMMIT_PACING_FACTOR - 1);
  });

  it("caps the pause at COMMIT_PACING_MAX_MS", () => {
    const input = { lastCommitMs: 500, lastCommitEndMs: 1000, nowMs: 1000 };
    assert.equal(commitPauseMs(input), COMMIT_PACING_MAX_MS);
  });

  it("never pauses once the pacing window has passed", () => {
    const input = {
      lastCommitMs: 3,
      lastCommitEndMs: 1000,
      nowMs: 1000 + 3 * COMMIT_PACING_FACTOR,
    };
    assert.equal(commitPauseMs(input), 0);
  });

  it("always returns a pause within [0, COMMIT_PACING_MAX_MS]", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 10_000, noNaN: true }),
        fc.double({ min: 0, max: 1e9, noNaN: true }),
        fc.double({ min: 0, max: 1e9, noNaN: true }),
        (lastCommitMs, lastCommitEndMs, sinceMs) => {
          const pause = commitPauseMs({
            lastCommitMs,
            lastCommitEndMs,
            nowMs: lastCommitEndMs + sinceMs,
          });
          assert.ok(pause >= 0 && pause <= COMMIT_PACING_MAX_MS, `${pause}`);
        },
      ),
      { seed: 0x5eed, numRuns: 200 },
    );
  });
});
