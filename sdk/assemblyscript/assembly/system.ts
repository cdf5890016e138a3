// The guest's surroundings: environment, identity, host capabilities, events, abort.
//
//   const region = system.env("NX_REGION");       // only NX_* and NUMAX_* names are visible
//   system.emit("order.created", orderId);

import { env_get, event_emit, host_capabilities, module_id } from "./abi";
import { fieldArg, keyArg } from "./arg-span";
import { abortWith, succeeded } from "./error";
import { outputText, readOutput } from "./output-buffer";

/** The environment variable `name`, or null when unset or not visible (only `NX_*` / `NUMAX_*` are). */
export function env(name: string): string | null {
  keyArg.of(name);
  const n = readOutput((outPtr: usize, outCap: usize): i32 => env_get(keyArg.ptr, keyArg.len, outPtr, outCap));
  return succeeded(n, "system.env", name) ? outputText(n) : null;
}

/** The identifier the host gave this module. */
export function moduleId(): string {
  const n = readOutput((outPtr: usize, outCap: usize): i32 => module_id(outPtr, outCap));
  return succeeded(n, "system.moduleId", 0) ? outputText(n) : "";
}

/** The names of the host APIs this node exposes. */
export function capabilities(): string[] {
  const n = readOutput((outPtr: usize, outCap: usize): i32 => host_capabilities(outPtr, outCap));
  if (!succeeded(n, "system.capabilities", 0) || n == 0) return [];
  return outputText(n).split("\n");
}

/** Whether the host lists capability `name`. */
export function hasCapability(name: string): bool {
  return capabilities().includes(name);
}

/**
 * Emits the runtime event `name` (non-empty; ASCII letters, digits and `_ - . :`) with `payload`
 * (string, Uint8Array or ArrayBuffer; "" for none).
 */
export function emit<P>(name: string, payload: P): bool {
  keyArg.of(name);
  fieldArg.of(payload);
  return succeeded(event_emit(keyArg.ptr, keyArg.len, fieldArg.ptr, fieldArg.len), "system.emit", name);
}

/** Ends the guest now; the host reports `message` as the reason. Never returns. */
export function abort(message: string): void {
  abortWith(message);
}
