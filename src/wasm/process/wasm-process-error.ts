import { NumaxError } from "../../errors/numax-error.ts";

export type WasmProcessErrorCode =
  | "WASM_PROCESS_UNKNOWN_MODULE"
  | "WASM_PROCESS_UNKNOWN_ENTRY"
  | "WASM_PROCESS_INVALID_PROFILE"
  | "WASM_PROCESS_LIMIT"
  | "WASM_PROCESS_INVALID_OPTION";

/** An operating error of the WebAssembly process runtime, reported to JavaScript callers. */
export class WasmProcessError extends NumaxError {
  declare readonly code: WasmProcessErrorCode;

  constructor(code: WasmProcessErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
