import assert from "node:assert/strict";
import { test } from "node:test";
import {
  createDeterminism,
  DETERMINISTIC_EPOCH_MS,
  DETERMINISTIC_SEED_MAX,
  parseSeed,
} from "./determinism.ts";

function bytes(seed: bigint, lengths: readonly number[]): string {
  const determinism = createDeterminism(seed);
  return lengths
    .map((length) => {
      const target = new Uint8Array(length);
      determinism.randomFill(target);
      return Buffer.from(target).toString("hex");
    })
    .join("");
}

test("one seed gives one byte stream, however it is read; another seed another", () => {
  assert.equal(bytes(7n, [100]), bytes(7n, [1, 31, 32, 36]));
  assert.notEqual(bytes(7n, [100]), bytes(8n, [100]));
});

test("virtual time starts at the epoch and every reading advances it", () => {
  const determinism = createDeterminism(1n);
  assert.equal(determinism.nowMs(), DETERMINISTIC_EPOCH_MS + 1);
  assert.equal(determinism.monotonicMs(), 2);
  assert.equal(determinism.nowMs(), DETERMINISTIC_EPOCH_MS + 3);
});

test("seeds are integers from 0 to 2^64 - 1", () => {
  assert.equal(parseSeed("0"), 0n);
  assert.equal(parseSeed(String(DETERMINISTIC_SEED_MAX)), DETERMINISTIC_SEED_MAX);
  for (const bad of ["-1", "1.5", "x", "", String(DETERMINISTIC_SEED_MAX + 1n)])
    assert.equal(parseSeed(bad), undefined);
});
