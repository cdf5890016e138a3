import { formatExitReason } from "./exit-reason.ts";
import { KernelError } from "./kernel-error.ts";
import { formatPid, type Pid, type Ref } from "./pid.ts";
import { type CallRequestLike, type ProcessContext, TIMEOUT } from "./process-context.ts";
import { type DownMessage, isDownMessage } from "./system-messages.ts";

/** The message `call` sends: answer it with `ctx.reply(request, value)`. */
export interface CallRequest {
  readonly type: "$call";
  readonly from: Pid;
  readonly ref: Ref;
  readonly request: unknown;
}

interface CallReply {
  readonly type: "$reply";
  readonly ref: Ref;
  readonly value: unknown;
}

/** Default time `call` waits for a reply (OTP's default, 5 s). */
export const CALL_TIMEOUT_MS_DEFAULT = 5_000;

export function isCallRequest(message: unknown): message is CallRequest {
  return typeof message === "object" && message !== null && (message as { type?: unknown }).type === "$call";
}

/**
 * Request/reply between processes, as gen_server:call: the monitor's ref doubles as the request
 * id, so a reply or the callee's DOWN, whichever comes first, ends the wait.
 */
export async function call(
  ctx: ProcessContext,
  dest: Pid | string,
  request: unknown,
  timeoutMs = CALL_TIMEOUT_MS_DEFAULT,
): Promise<unknown> {
  const ref = ctx.monitor(dest);
  const target = typeof dest === "string" ? ctx.whereis(dest) : dest;
  if (target !== undefined) ctx.send(target, { type: "$call", from: ctx.self, ref, request });
  const answer = await ctx.receive(
    (m): m is CallReply | DownMessage =>
      (isDownMessage(m) && m.ref === ref) ||
      (typeof m === "object" &&
        m !== null &&
        (m as CallReply).type === "$reply" &&
        (m as CallReply).ref === ref),
    timeoutMs,
  );
  const destText = typeof dest === "string" ? `"${dest}"` : formatPid(dest);
  if (answer === TIMEOUT) {
    ctx.demonitor(ref, { flush: true });
    throw new KernelError("KERNEL_CALL_TIMEOUT", `call to ${destText} got no reply within ${timeoutMs} ms`);
  }
  if (isDownMessage(answer)) {
    throw new KernelError(
      "KERNEL_CALL_TARGET_EXITED",
      `call to ${destText} failed: the process ended (${formatExitReason(answer.reason)})`,
      { cause: answer.reason },
    );
  }
  ctx.demonitor(ref, { flush: true });
  return answer.value;
}

/**
 * Sends the reply to a CallRequest. A reply that arrives after the caller gave up (timeout) stays
 * in the caller's mailbox, as in OTP before process aliases.
 */
export function reply(ctx: ProcessContext, request: CallRequestLike, value: unknown): void {
  ctx.send(request.from, { type: "$reply", ref: request.ref, value });
}
