import { NumaxError } from "../../errors/numax-error.ts";

/**
 * What the `proc_*` host functions need of the process a guest instance runs as. The ABI layer
 * (process-imports.ts) validates guest memory and encodes; the port (src/wasm/process) talks to
 * the actor kernel. Methods answer ABI codes (>= 0 success, negative errors) and never throw,
 * except {@link GuestProcessPort.exit}, which unwinds the guest on purpose.
 *
 * Message payloads cross this seam as "binary strings" (one char per byte, 0..255, what Node's
 * `latin1` encoding reads and writes): the kernel passes strings between processes without
 * copying them, where a Uint8Array would be cloned (see docs/design/wasm-processes.md).
 */
export interface GuestProcessPort {
  self(): number;
  /** The child's pid, or -1 unknown module or entry, -3 refused (profile above the caller's, limit). */
  spawn(request: SpawnRequest): number;
  /** 0, or -1 when `pid` is not alive (the message is dropped, as any send to a dead process). */
  send(pid: number, payload: string): number;
  /**
   * The oldest message `criteria` accept (any when undefined) whose encoding fits `capacityBytes`;
   * a matching message that does not fit stays in place and is reported by its size. Waits up to
   * `timeoutMs` (< 0: forever, 0: poll). Hands the outcome to `answer` where it is known and
   * answers what that answers, now or as a promise.
   */
  receive(
    criteria: ReceiveCriteria | undefined,
    capacityBytes: number,
    timeoutMs: number,
    answer: ReceiveAnswer,
  ): number | Promise<number>;
  link(pid: number): number;
  unlink(pid: number): number;
  monitor(pid: number): number;
  /** 1 when a monitor was active, 0 otherwise; a DOWN from `pid` already queued is removed. */
  demonitor(pid: number): number;
  /** The previous setting, 0 or 1. */
  trapExit(on: boolean): number;
  register(name: string): number;
  unregister(name: string): number;
  whereis(name: string): number;
  /**
   * The module whose code live process `pid` runs: its id; "" for a process that runs no
   * module's code (a JavaScript process of the node); undefined when `pid` is not alive.
   */
  moduleOf(pid: number): string | undefined;
  /** Ends the process with `reason` by throwing {@link GuestProcessExit} through the guest. */
  exit(reason: string): never;
}

export interface SpawnRequest {
  /** Module id of a module the node knows; "" for the caller's own module. */
  readonly module: string;
  /** Exported function the child runs; "" for `run`. */
  readonly entry: string;
  /** Capability profile text (capability-profile.ts); "" for `sandboxed`. */
  readonly profile: string;
  /** The child's first message (binary string), sent by the caller before anyone else can. */
  readonly arg: string | undefined;
  readonly link: boolean;
  readonly monitor: boolean;
}

/**
 * Where a receive's outcome goes: the ABI layer, which writes it into guest memory. The port
 * calls it where the outcome becomes known, inside its own wait's reaction, rather than the ABI
 * chaining a promise of its own on the port's: that layer (a promise, its reaction, two closures
 * and their scope) was ~0.3 KB of each process parked in a receive.
 */
export interface ReceiveAnswer {
  /** `outcome` for the guest: the receive's ABI answer (the bytes written, or a negative code). */
  answer(outcome: ReceiveOutcome): number;
  /** The host failed while the receive waited: the receive's ABI answer. */
  failed(error: unknown): number;
}

/** A selective receive from the guest: every given condition must hold. */
export interface ReceiveCriteria {
  /** Bit `k` accepts messages of kind `k`; 0 accepts every kind. */
  readonly kinds: number;
  /** Only messages from this pid; 0 for any sender. */
  readonly from: number;
  /** Only payloads starting with these bytes (binary string); "" for any. */
  readonly prefix: string;
}

/** Message kinds as the guest sees them (the `kind` field of the receive header). */
export const MESSAGE_KIND_DATA = 0;
export const MESSAGE_KIND_DOWN = 1;
export const MESSAGE_KIND_EXIT = 2;
export const MESSAGE_KIND_VALUE = 3;

/** `u32 kind, u32 from, u32 payload_len` before the payload. */
export const RECEIVE_HEADER_BYTES = 12;

export interface ReceivedMessage {
  readonly kind: number;
  readonly from: number;
  /** Binary string (latin1) or bytes. */
  readonly payload: string | Uint8Array;
}

export const RECEIVE_TIMED_OUT = -1;

/** A matching message is first in line but needs this many bytes of output (header included). */
export interface ReceiveTooSmall {
  readonly requiredBytes: number;
}

export type ReceiveOutcome = ReceivedMessage | ReceiveTooSmall | typeof RECEIVE_TIMED_OUT;

/**
 * Thrown by `proc_exit` through the guest's stack, so that the stack unwinds (the instance stays
 * reusable) and the runtime ends the process with `reason`.
 */
export class GuestProcessExit extends NumaxError {
  readonly reason: string;

  constructor(reason: string) {
    super("GUEST_PROCESS_EXIT", `guest process exited with reason ${JSON.stringify(reason)}`);
    this.reason = reason;
  }
}
