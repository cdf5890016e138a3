import { NumaxError } from "../errors/numax-error.ts";

/** Stable codes of every operating error the kernel reports. */
export type KernelErrorCode =
  | "KERNEL_INVALID_OPTION"
  | "KERNEL_INVALID_NAME"
  | "KERNEL_NAME_TAKEN"
  | "KERNEL_ALREADY_REGISTERED"
  | "KERNEL_NOT_REGISTERED"
  | "KERNEL_NO_PROCESS"
  | "KERNEL_MESSAGE_NOT_COPYABLE"
  | "KERNEL_MESSAGE_TOO_DEEP"
  | "KERNEL_RECEIVE_IN_PROGRESS"
  | "KERNEL_CALL_TIMEOUT"
  | "KERNEL_CALL_TARGET_EXITED"
  | "KERNEL_INVALID_SUPERVISOR_SPEC"
  | "KERNEL_CHILD_START_FAILED"
  | "KERNEL_UNKNOWN_CHILD"
  | "KERNEL_SHUT_DOWN";

/** An operating error of the actor kernel (bad argument, unknown name, call timeout, ...). */
export class KernelError extends NumaxError {
  declare readonly code: KernelErrorCode;

  constructor(code: KernelErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
