import { NumaxError } from "../../errors/numax-error.ts";

/**
 * Thrown by `nx.abort` through the guest's stack: the guest ended itself with `guestMessage`.
 * The runtime reports it as one line ("guest aborted: <message>").
 */
export class GuestAbortError extends NumaxError {
  readonly guestMessage: string;

  constructor(guestMessage: string) {
    super("GUEST_ABORT", `guest aborted: ${guestMessage}`);
    this.guestMessage = guestMessage;
  }
}

/**
 * Thrown by WASI `proc_exit` through the guest's stack. `exitCode` 0 is a normal end of the
 * guest, any other value a failure the runtime reports with that code.
 */
export class GuestExitError extends NumaxError {
  readonly exitCode: number;

  constructor(exitCode: number) {
    super("GUEST_EXIT", `guest exited with code ${exitCode}`);
    this.exitCode = exitCode;
  }
}
