/**
 * The guest-facing half of the event model (docs/design/event-model.md) as the SDK tests check
 * it: the callback exports with their arity and the host calls with their exact types. The
 * runtime's own tables (nx-signatures.ts) will list the host calls too; until they do, a guest
 * import is accepted when either the runtime or this contract declares it with that type.
 */
import { isNxSignature } from "../../src/wasm/abi/nx-signatures.ts";
import { EXPORT_FUNCTION, functionTypeOf, readModuleLayout } from "../../src/wasm/binary/module-layout.ts";
import type { FunctionType, ValueType } from "../../src/wasm/module-imports.ts";

/** Callback exports of a reactive module: `(i32 x params) -> ()`. */
export const EVENT_CALLBACK_PARAMS: ReadonlyMap<string, number> = new Map([
  ["init", 0],
  ["shutdown", 0],
  ["on_tick", 0],
  ["on_remote_op", 2],
  ["on_peer_connected", 1],
  ["on_peer_disconnected", 1],
  ["on_message", 2],
]);

const i32s = (count: number): ValueType[] => Array.from({ length: count }, () => "i32" as const);

/** Host calls of the event model, in module `nx`. */
export const EVENT_HOST_CALLS: ReadonlyMap<string, FunctionType> = new Map([
  ["event_subject", { params: i32s(2), results: i32s(1) }],
  ["event_payload", { params: i32s(2), results: i32s(1) }],
  ["event_origin", { params: i32s(2), results: i32s(1) }],
  ["tick_every", { params: i32s(1), results: i32s(1) }],
  ["msg_subscribe", { params: i32s(2), results: i32s(1) }],
  ["msg_unsubscribe", { params: i32s(2), results: i32s(1) }],
  ["msg_publish", { params: i32s(4), results: i32s(1) }],
]);

function sameType(a: FunctionType, b: FunctionType): boolean {
  const same = (x: readonly string[], y: readonly string[]) =>
    x.length === y.length && x.every((t, i) => t === y[i]);
  return same(a.params, b.params) && same(a.results, b.results);
}

/** Whether `nx.<name>` with `type` is a host function the runtime or the event contract declares. */
export function isKnownNxImport(name: string, type: FunctionType): boolean {
  const event = EVENT_HOST_CALLS.get(name);
  return isNxSignature(name, type) || (event !== undefined && sameType(event, type));
}

/** The arity of every exported function, by export name. */
export function exportedFunctionArities(
  bytes: Uint8Array,
): Map<string, { paramCount: number; resultCount: number }> {
  const layout = readModuleLayout(bytes);
  const arities = new Map<string, { paramCount: number; resultCount: number }>();
  for (const entry of layout.exports) {
    const arity = entry.kind === EXPORT_FUNCTION ? functionTypeOf(layout, entry.index) : undefined;
    if (arity !== undefined) arities.set(entry.name, arity);
  }
  return arities;
}

/**
 * What is wrong with the callback exports of a module (empty when nothing): a callback whose
 * arity is not the contract's.
 */
export function callbackExportProblems(bytes: Uint8Array): string[] {
  const problems: string[] = [];
  for (const [name, arity] of exportedFunctionArities(bytes)) {
    const params = EVENT_CALLBACK_PARAMS.get(name);
    if (params === undefined) continue;
    if (arity.paramCount !== params || arity.resultCount !== 0) {
      problems.push(
        `${name} takes ${arity.paramCount} and returns ${arity.resultCount}; the contract says ${params} i32 -> ()`,
      );
    }
  }
  return problems;
}
