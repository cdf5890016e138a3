import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { GuestAbortError, GuestExitError } from "./abi/guest-errors.ts";
import { classifyGovernorStop, classifyGuestError, guestFunctionOf } from "./classify-guest-error.ts";

const context = { memoryBytes: 65_536, memoryCapBytes: 1024 * 1024 };

/** A RuntimeError as V8 raises it, with a wasm frame on top of its stack. */
function trap(message: string, frame: string): Error {
  const error = new WebAssembly.RuntimeError(message);
  error.stack = `RuntimeError: ${message}\n    at ${frame}\n    at file:///host.js:1:1`;
  return error;
}

describe("classifyGuestError", () => {
  test("names the guest function from V8's wasm frames", () => {
    assert.equal(guestFunctionOf("    at average (wasm://wasm/1a2b3c4d:wasm-function[3]:0x45)"), "average");
    assert.equal(guestFunctionOf("    at wasm://wasm/1a2b3c4d:wasm-function[7]:0x45"), "#7");
    assert.equal(
      guestFunctionOf("    at wasm://wasm/1a2b3c4d:wasm-function[7]:0x45", new Map([[7, "run"]])),
      "run",
    );
    assert.equal(guestFunctionOf("Error\n    at file:///x.js:1:1"), undefined);
  });

  const traps: readonly (readonly [string, string, string])[] = [
    ["unreachable", "unreachable", "unreachable executed"],
    ["memory access out of bounds", "out_of_bounds", "out-of-bounds memory access"],
    ["divide by zero", "divide_by_zero", "integer divide by zero"],
    ["remainder by zero", "divide_by_zero", "integer remainder by zero"],
    ["divide result unrepresentable", "integer_overflow", "integer overflow"],
    ["float unrepresentable in integer range", "invalid_conversion", "invalid conversion to integer"],
    ["table index is out of bounds", "indirect_call", "indirect call to a table index out of bounds"],
    [
      "null function or function signature mismatch",
      "indirect_call",
      "indirect call to a null function or one of the wrong type",
    ],
    ["something new", "trap", "something new"],
  ];
  for (const [v8Message, kind, text] of traps) {
    test(`"${v8Message}" is ${kind}`, () => {
      const failure = classifyGuestError(trap(v8Message, "f (wasm://wasm/00:wasm-function[1]:0x1)"), context);
      assert.equal(failure.kind, kind);
      assert.equal(failure.message, `guest trapped: ${text} in function f`);
    });
  }

  test("stack overflow, abort, exit, host failure", () => {
    const overflow = new RangeError("Maximum call stack size exceeded");
    overflow.stack =
      "RangeError: Maximum call stack size exceeded\n    at down (wasm://wasm/00:wasm-function[2]:0x9)";
    assert.equal(
      classifyGuestError(overflow, context).message,
      "guest trapped: stack overflow (call depth) in function down",
    );
    const abort = classifyGuestError(new GuestAbortError("bad input"), context);
    assert.equal(abort.kind, "abort");
    assert.equal(abort.message, "guest aborted: bad input");
    const exit = classifyGuestError(new GuestExitError(4), context);
    assert.equal(exit.kind, "exit");
    assert.equal(exit.exitCode, 4);
    const host = classifyGuestError(new TypeError("boom"), context);
    assert.equal(host.kind, "host_error");
    assert.equal(host.message, "host failed while running the guest: TypeError: boom");
  });

  test("a trap or abort with memory at the cap is reported as the cap", () => {
    const atCap = { memoryBytes: 1024 * 1024, memoryCapBytes: 1024 * 1024 };
    const failure = classifyGuestError(
      trap("unreachable", "alloc (wasm://wasm/00:wasm-function[1]:0x1)"),
      atCap,
    );
    assert.equal(failure.kind, "memory_cap");
    assert.equal(
      failure.message,
      "memory cap of 1 MiB reached (memory_max_mb): guest trapped: unreachable executed in function alloc",
    );
    assert.equal(classifyGuestError(new GuestAbortError("out of memory"), atCap).kind, "memory_cap");
    assert.equal(classifyGuestError(new GuestExitError(1), atCap).kind, "exit");
  });

  test("a trap or abort below the cap after a refused grow is reported as the cap; without one it is not", () => {
    const below = { memoryBytes: 960 * 1024, memoryCapBytes: 1024 * 1024 };
    const unreachable = () => trap("unreachable", "alloc (wasm://wasm/00:wasm-function[1]:0x1)");
    assert.equal(classifyGuestError(unreachable(), { ...below, growRefused: true }).kind, "memory_cap");
    assert.equal(
      classifyGuestError(new GuestAbortError("out of memory"), { ...below, growRefused: true }).kind,
      "memory_cap",
    );
    assert.equal(classifyGuestError(unreachable(), { ...below, growRefused: false }).kind, "unreachable");
    assert.equal(classifyGuestError(unreachable(), below).kind, "unreachable");
  });

  test("governor stops", () => {
    const budget = classifyGovernorStop({
      kind: "cpu_budget",
      usedMs: 1002.4,
      budgetMs: 1000,
      stack: "Error\n    at refill (file:///x.js:1:1)\n    at spin (wasm://wasm/00:wasm-function[0]:0x1)",
    });
    assert.equal(
      budget.message,
      "CPU budget exceeded after 1002 ms (cpu_ms_per_run = 1000) in function spin",
    );
    assert.equal(
      classifyGovernorStop({ kind: "killed", reason: "shutdown" }).message,
      "guest stopped: shutdown",
    );
  });
});
