import { describeError } from "../errors/numax-error.ts";
import { GuestAbortError, GuestExitError } from "./abi/guest-errors.ts";
import type { GovernorStop } from "./fuel-governor.ts";
import { GuestFailure, type GuestFailureKind } from "./guest-failure.ts";

/**
 * Turns whatever ended a guest run (a V8 trap, a host exception, a governor stop) into a
 * {@link GuestFailure} with its kind, a readable line and the guest function. Pure: the memory
 * sizes are passed in.
 */

/** V8's trap messages (src/common/message-template.h, WasmTrap*) and what they mean to a guest author. */
const TRAP_MESSAGES: readonly (readonly [pattern: string, kind: GuestFailureKind, text: string])[] = [
  ["unreachable", "unreachable", "unreachable executed"],
  ["memory access out of bounds", "out_of_bounds", "out-of-bounds memory access"],
  ["divide by zero", "divide_by_zero", "integer divide by zero"],
  ["remainder by zero", "divide_by_zero", "integer remainder by zero"],
  ["divide result unrepresentable", "integer_overflow", "integer overflow"],
  ["float unrepresentable in integer range", "invalid_conversion", "invalid conversion to integer"],
  ["table index is out of bounds", "indirect_call", "indirect call to a table index out of bounds"],
  ["signature mismatch", "indirect_call", "indirect call to a null function or one of the wrong type"],
  ["dereferencing a null pointer", "null_reference", "null reference"],
  ["illegal cast", "cast_failure", "failed cast"],
  ["segment out of bounds", "out_of_bounds", "segment access out of bounds"],
  ["table access out of bounds", "out_of_bounds", "table access out of bounds"],
  ["out of bounds", "out_of_bounds", "access out of bounds"],
  ["unaligned", "trap", "unaligned atomic access"],
];

const WASM_FRAMES = /at (?:(\S+) \()?wasm:\/\/wasm\/[^:]*:wasm-function\[(\d+)\]/g;
/** Frames of the runtime's own wasm (the refill trampoline) are named so, and are not the guest's. */
const RUNTIME_FRAME_PREFIX = "__nx_";

/**
 * The innermost guest function on `stack`: its name-section name, else the name it is exported
 * under, else `#<function index>`.
 */
export function guestFunctionOf(
  stack: string | undefined,
  exportedFunctions?: ReadonlyMap<number, string>,
): string | undefined {
  if (stack === undefined) return undefined;
  for (const match of stack.matchAll(WASM_FRAMES)) {
    if (match[1]?.startsWith(RUNTIME_FRAME_PREFIX) === true) continue;
    const index = Number(match[2]);
    return match[1] ?? exportedFunctions?.get(index) ?? `#${index}`;
  }
  return undefined;
}

function inFunction(functionName: string | undefined): string {
  return functionName === undefined ? "" : ` in function ${functionName}`;
}

export interface GuestErrorContext {
  /** Current size of the guest's memory. */
  readonly memoryBytes: number | undefined;
  /** The memory cap applied to the guest, in bytes. */
  readonly memoryCapBytes: number;
  /** The guest's latest `memory.grow` was refused: it asked for more than the cap leaves. */
  readonly growRefused?: boolean;
  /** Export names by function index, for functions the name section does not name. */
  readonly exportedFunctions?: ReadonlyMap<number, string>;
}

function mib(bytes: number): string {
  return `${Math.round((bytes / (1024 * 1024)) * 100) / 100} MiB`;
}

/**
 * A trap or abort while the memory is at the cap, or after the guest's latest `memory.grow` was
 * refused, is reported as the cap: a failed grow answers -1 and the guest's allocator then traps
 * or aborts, which is the cap showing through. An allocator that asks for more pages than are
 * left stops below the cap, hence the refused grow.
 */
function withMemoryCap(failure: GuestFailure, context: GuestErrorContext): GuestFailure {
  const atCap = context.memoryBytes !== undefined && context.memoryBytes >= context.memoryCapBytes;
  if (!atCap && context.growRefused !== true) return failure;
  return new GuestFailure(
    "memory_cap",
    `memory cap of ${mib(context.memoryCapBytes)} reached (memory_max_mb): ${failure.message}`,
    { functionName: failure.functionName, cause: failure },
  );
}

export function classifyGovernorStop(
  stop: GovernorStop,
  exportedFunctions?: ReadonlyMap<number, string>,
): GuestFailure {
  if (stop.kind === "killed") return new GuestFailure("killed", `guest stopped: ${stop.reason}`);
  const functionName = guestFunctionOf(stop.stack, exportedFunctions);
  return new GuestFailure(
    "cpu_budget",
    `CPU budget exceeded after ${Math.round(stop.usedMs)} ms (cpu_ms_per_run = ${stop.budgetMs})${inFunction(functionName)}`,
    { functionName },
  );
}

export function classifyGuestError(error: unknown, context: GuestErrorContext): GuestFailure {
  if (error instanceof GuestFailure) return error;
  const stack = error instanceof Error ? error.stack : undefined;
  const functionName = guestFunctionOf(stack, context.exportedFunctions);
  if (error instanceof GuestExitError) {
    return new GuestFailure("exit", `guest exited with code ${error.exitCode}`, {
      exitCode: error.exitCode,
      functionName,
    });
  }
  if (error instanceof GuestAbortError) {
    return withMemoryCap(
      new GuestFailure("abort", `guest aborted: ${error.guestMessage}${inFunction(functionName)}`, {
        functionName,
        cause: error,
      }),
      context,
    );
  }
  if (error instanceof RangeError && /call stack size/i.test(error.message)) {
    return new GuestFailure(
      "stack_overflow",
      `guest trapped: stack overflow (call depth)${inFunction(functionName)}`,
      {
        functionName,
        cause: error,
      },
    );
  }
  if (error instanceof WebAssembly.RuntimeError) {
    const entry = TRAP_MESSAGES.find(([pattern]) => error.message.includes(pattern));
    const [kind, text] = entry === undefined ? (["trap", error.message] as const) : [entry[1], entry[2]];
    return withMemoryCap(
      new GuestFailure(kind, `guest trapped: ${text}${inFunction(functionName)}`, {
        functionName,
        cause: error,
      }),
      context,
    );
  }
  return new GuestFailure("host_error", `host failed while running the guest: ${describeError(error)}`, {
    functionName,
    cause: error,
  });
}
