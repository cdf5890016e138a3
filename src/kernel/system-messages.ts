import type { ExitReason } from "./exit-reason.ts";
import type { Pid, Ref } from "./pid.ts";

/**
 * Base of the messages the kernel itself puts in mailboxes. A bounded mailbox never sheds them.
 * A process that forwards one with `send` forwards a plain copy, which is then a user message.
 */
export abstract class SystemMessage {
  abstract readonly type: "EXIT" | "DOWN";
}

/** What a process that traps exits receives instead of dying: Erlang's `{'EXIT', From, Reason}`. */
export class ExitMessage extends SystemMessage {
  readonly type = "EXIT";
  readonly from: Pid;
  readonly reason: ExitReason;

  constructor(from: Pid, reason: ExitReason) {
    super();
    this.from = from;
    this.reason = reason;
  }
}

/** What a monitor delivers when its target ends: Erlang's `{'DOWN', Ref, process, Pid, Reason}`. */
export class DownMessage extends SystemMessage {
  readonly type = "DOWN";
  readonly ref: Ref;
  readonly pid: Pid;
  readonly reason: ExitReason;

  constructor(ref: Ref, pid: Pid, reason: ExitReason) {
    super();
    this.ref = ref;
    this.pid = pid;
    this.reason = reason;
  }
}

/**
 * True for an EXIT message the kernel delivered. A process cannot forge one: a copy sent with
 * `send` is plain data and does not pass.
 */
export function isExitMessage(message: unknown): message is ExitMessage {
  return message instanceof ExitMessage;
}

/** True for a DOWN message the kernel delivered (never for a copy sent with `send`). */
export function isDownMessage(message: unknown): message is DownMessage {
  return message instanceof DownMessage;
}
