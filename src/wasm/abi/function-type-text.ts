import type { FunctionType, ValueType } from "../module-imports.ts";

/** Each type parsed so far, by its text, alone in a list: one object however many functions share it. */
const parsed = new Map<string, readonly [FunctionType]>();

function valueTypes(list: string): ValueType[] {
  return list === "" ? [] : (list.split(" ") as ValueType[]);
}

/**
 * The function type whose parameters and results are `params` and `results`, value types
 * separated by spaces ("i32 i64"; "" for none). The ABI's tables (nx, WASI, processes) declare
 * about 130 functions with about 30 distinct types; each text is parsed once and its type shared
 * (a type is never changed), where an object and two arrays per function were a tenth of the
 * young generation a plain `nx run` fills before its first scavenge.
 */
export function functionType(params: string, results: string): FunctionType {
  return onlyFunctionType(params, results)[0];
}

/** [{@link functionType}]: the list of accepted types of a function that has one, shared as well. */
export function onlyFunctionType(params: string, results: string): readonly [FunctionType] {
  const text = `${params}->${results}`;
  let only = parsed.get(text);
  if (only === undefined) {
    only = [{ params: valueTypes(params), results: valueTypes(results) }];
    parsed.set(text, only);
  }
  return only;
}
