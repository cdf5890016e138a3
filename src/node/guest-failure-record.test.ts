import assert from "node:assert/strict";
import { test } from "node:test";
import { GuestFailure } from "../wasm/guest-failure.ts";
import type { GuestModule } from "../wasm/load-guest-module.ts";
import { guestFailureRecord } from "./guest-failure-record.ts";

const module = { moduleId: "spin" } as GuestModule;

test("a failure names the guest function and its kind", () => {
  const failure = new GuestFailure(
    "divide_by_zero",
    "guest trapped: integer divide by zero in function average",
    {
      functionName: "average",
    },
  );
  assert.deepEqual(guestFailureRecord({ module, failure, reason: "divide_by_zero" }, undefined), {
    message: "guest failed",
    fields: { module: "spin", function: "average", kind: "divide_by_zero" },
  });
});

test("a process stopped by a signal (no failure, exit reason shutdown) names the signal and its entry point", () => {
  assert.deepEqual(guestFailureRecord({ module, failure: undefined, reason: "shutdown" }, "SIGTERM"), {
    message: "stopped by SIGTERM while running spin.run",
    fields: { module: "spin", function: "run", kind: "killed" },
  });
});

test("a process that ended without a failure gives its exit reason as the kind", () => {
  assert.deepEqual(guestFailureRecord({ module, failure: undefined, reason: "killed" }, undefined).fields, {
    module: "spin",
    function: "run",
    kind: "killed",
  });
});
