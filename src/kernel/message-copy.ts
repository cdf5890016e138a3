import { KernelError } from "./kernel-error.ts";

/**
 * How the kernel copies a message so that sender and receiver never share mutable state.
 *
 * `structuredClone` is the definition of "by value", but it costs ~430 ns even for a number and
 * ~2 µs for a small object on Node 26 (measured in bench/kernel.ts), which alone would cap
 * messaging below 1M/s. So:
 *
 * 1. Immutable primitives (string, number, boolean, bigint, undefined, null) are passed as they
 *    are: nothing to copy.
 * 2. Plain data (objects whose prototype is `Object.prototype` or null, arrays, primitives) is
 *    copied by a direct walk (~10x faster).
 * 3. Everything else (Map, Set, Date, typed arrays, class instances, cycles) goes through
 *    `structuredClone`, for the whole message or for that sub-value.
 *
 * A message nested deeper than `MESSAGE_DEPTH_MAX` (in any of these shapes) is refused with
 * `KERNEL_MESSAGE_TOO_DEEP`: the bound keeps both copies off the edge of the stack. A cycle is not
 * depth: it is copied by `structuredClone`, which keeps it a cycle.
 *
 * The plain walk differs from `structuredClone` in two documented ways: a sub-object that appears
 * twice in one message arrives as two equal copies (aliasing is not preserved), and named
 * non-index properties on arrays are dropped. Functions and symbols are refused in both paths.
 */
export function copyMessage(message: unknown): unknown {
  if (typeof message !== "object" || message === null) return copyPrimitive(message);
  try {
    return copyPlain(message, 0);
  } catch (error) {
    if (error !== TOO_DEEP) throw error;
    // The plain walk cannot tell a cycle from deep nesting; this slower walk can.
    return cloneStructured(message, 0);
  }
}

/** Objects, arrays, Maps and Sets nested inside one another in one message, at most. */
export const MESSAGE_DEPTH_MAX = 64;

const TOO_DEEP = Symbol("too deep");

function tooDeep(): KernelError {
  return new KernelError(
    "KERNEL_MESSAGE_TOO_DEEP",
    `cannot send this message: it is nested deeper than ${MESSAGE_DEPTH_MAX} levels (MESSAGE_DEPTH_MAX): flatten it or send its parts`,
  );
}

/** Throws KERNEL_MESSAGE_TOO_DEEP when `value`, found `depth` levels down, nests past the bound; cycles end the walk. */
function checkDepth(
  value: object,
  depth: number,
  ancestors: Set<object>,
  deepestSeen: Map<object, number>,
): void {
  if (ancestors.has(value)) return;
  // A sub-value shared inside the message is walked again only from a deeper place: linear, not exponential.
  const seen = deepestSeen.get(value);
  if (seen !== undefined && seen >= depth) return;
  if (depth >= MESSAGE_DEPTH_MAX) throw tooDeep();
  deepestSeen.set(value, depth);
  if (holdsNoObjects(value)) return;
  ancestors.add(value);
  const children =
    value instanceof Map
      ? [...value.keys(), ...value.values()]
      : value instanceof Set
        ? [...value]
        : Object.values(value);
  for (const child of children) {
    if (typeof child === "object" && child !== null) checkDepth(child, depth + 1, ancestors, deepestSeen);
  }
  ancestors.delete(value);
}

function holdsNoObjects(value: object): boolean {
  return ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Date;
}

function copyPrimitive(value: unknown): unknown {
  if (typeof value === "function" || typeof value === "symbol") {
    throw new KernelError(
      "KERNEL_MESSAGE_NOT_COPYABLE",
      `cannot send a ${typeof value}: messages are copied by value (plain data, arrays, Map, Set, Date, typed arrays, Errors)`,
    );
  }
  return value;
}

function copyValue(value: unknown, depth: number): unknown {
  if (typeof value !== "object" || value === null) return copyPrimitive(value);
  return copyPlain(value, depth);
}

function copyPlain(value: object, depth: number): unknown {
  if (depth >= MESSAGE_DEPTH_MAX) throw TOO_DEEP;
  const proto = Object.getPrototypeOf(value);
  if (proto === Array.prototype) {
    const source = value as unknown[];
    const length = source.length;
    const copy = new Array<unknown>(length);
    for (let i = 0; i < length; i++) {
      const item = source[i];
      // A hole must stay a hole, as structuredClone keeps it.
      if (item === undefined && !(i in source)) return cloneStructured(value, depth);
      copy[i] = copyValue(item, depth + 1);
    }
    return copy;
  }
  if (proto === Object.prototype || proto === null) {
    const source = value as Record<string, unknown>;
    // structuredClone also turns a null-prototype object into an ordinary one.
    const copy: Record<string, unknown> = {};
    for (const key in source) {
      if (key === "__proto__") return cloneStructured(value, depth);
      copy[key] = copyValue(source[key], depth + 1);
    }
    return copy;
  }
  return cloneStructured(value, depth);
}

function cloneStructured(value: object, depth: number): unknown {
  // Byte arrays are the common case here (guest messages): skip the walk's allocations for them.
  if (!holdsNoObjects(value)) checkDepth(value, depth, new Set(), new Map());
  try {
    return structuredClone(value);
  } catch (error) {
    throw new KernelError(
      "KERNEL_MESSAGE_NOT_COPYABLE",
      `cannot send this message: ${error instanceof Error ? error.message : String(error)} (messages are copied by value)`,
      { cause: error },
    );
  }
}
