import { NumaxError } from "../../src/errors/numax-error.ts";

/**
 * What a gate reports as one line: bad flags (`GATE_USAGE`, exit 2), a node that would not start
 * or died (`GATE_NODE_FAILED`), a guest that reported something unexpected
 * (`GATE_GUEST_PROTOCOL`), a step that took too long (`GATE_TIMEOUT`), or an unreadable report or
 * baseline (`GATE_REPORT_INVALID`).
 */
export type GateErrorCode =
  | "GATE_USAGE"
  | "GATE_NODE_FAILED"
  | "GATE_GUEST_PROTOCOL"
  | "GATE_TIMEOUT"
  | "GATE_REPORT_INVALID"
  | "GATE_INTERRUPTED";

export class GateError extends NumaxError {
  declare readonly code: GateErrorCode;

  constructor(code: GateErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
