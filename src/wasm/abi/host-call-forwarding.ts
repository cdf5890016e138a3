/**
 * How a wrapper around a host function hands the guest's arguments on: as
 * {@link HOST_FUNCTION_PARAMS_MAX} named parameters, never as a rest parameter and a spread.
 * Wasm calls its JS imports without inlining them, so `(...args) => fn(...args)` may allocate an
 * array at every host call, in every layer (V8 was seen to remove those arrays; the named
 * parameters still made a counted call cheaper, CHANGELOG.md). A guest passing fewer arguments
 * leaves the last parameters undefined, and the wrapped function, declaring only its own, never
 * sees them.
 *
 * @example
 * const forward = forwarding(fn);
 * const counted: HostCallForwarder<number> = (a, b, c, d, e, f, g, h, i) => {
 *   calls++;
 *   return forward(a, b, c, d, e, f, g, h, i);
 * };
 */

/** The most parameters a host function takes (`proc_spawn` and WASI `path_open`: 9). */
export const HOST_FUNCTION_PARAMS_MAX = 9;

/** A host function's wrapper, taking the guest's arguments one by one. */
export type HostCallForwarder<Result> = (
  a: unknown,
  b: unknown,
  c: unknown,
  d: unknown,
  e: unknown,
  f: unknown,
  g: unknown,
  h: unknown,
  i: unknown,
) => Result;

/**
 * `fn` as a forwarder: the same function, called with every parameter slot filled. Throws when
 * `fn` declares more than {@link HOST_FUNCTION_PARAMS_MAX} parameters of the guest's (`params`,
 * default its own `length`): its last ones would be undefined at every call, so a host function
 * that outgrows the bound fails when its imports are built, not in a guest.
 */
export function forwarding<Args extends unknown[], Result>(
  fn: (...args: Args) => Result,
  params: number = fn.length,
): HostCallForwarder<Result> {
  if (params > HOST_FUNCTION_PARAMS_MAX) {
    throw new RangeError(
      `host function ${fn.name || "(anonymous)"} takes ${params} parameters: wrappers pass on ${HOST_FUNCTION_PARAMS_MAX} (HOST_FUNCTION_PARAMS_MAX)`,
    );
  }
  return fn as unknown as HostCallForwarder<Result>;
}

/** `forwarder` under the type of the host function it wraps. */
export function asHostFunction<Args extends unknown[], Result>(
  forwarder: HostCallForwarder<Result>,
): (...args: Args) => Result {
  return forwarder as unknown as (...args: Args) => Result;
}
