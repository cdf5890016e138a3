import { type ExitReason, formatExitReason } from "../../kernel/exit-reason.ts";
import type { Pid } from "../../kernel/pid.ts";
import { DownMessage, ExitMessage } from "../../kernel/system-messages.ts";
import {
  MESSAGE_KIND_DATA,
  MESSAGE_KIND_DOWN,
  MESSAGE_KIND_EXIT,
  MESSAGE_KIND_VALUE,
  type ReceivedMessage,
} from "../abi/process-port.ts";
import { GuestFailure } from "../guest-failure.ts";

/**
 * Messages between WebAssembly processes and everything else in the kernel.
 *
 * A wasm process sends bytes. In the kernel they travel as a {@link GuestMessage}, a plain
 * object whose `data` is a binary string (one char per byte): the kernel copies messages by
 * value, and a string is passed on as it is (~50 ns), where a Uint8Array would go through
 * `structuredClone` (~1 µs). JavaScript processes read one with {@link guestMessageBytes} or
 * {@link guestMessageText} and answer with {@link guestMessage} (or a Uint8Array, or a string).
 *
 * What a guest receives (`proc_receive`: header `u32 kind, u32 from, u32 payload_len`):
 *
 * | kernel message                           | kind      | from        | payload                    |
 * | ---------------------------------------- | --------- | ----------- | -------------------------- |
 * | GuestMessage                             | 0 data    | its `from`  | its bytes                  |
 * | Uint8Array, other typed array, ArrayBuffer | 0 data  | 0           | the bytes                  |
 * | string                                   | 0 data    | 0           | UTF-8                      |
 * | DownMessage (a monitor fired)            | 1 down    | the pid     | the exit reason as UTF-8   |
 * | ExitMessage (a link, when trapping)      | 2 exit    | the pid     | the exit reason as UTF-8   |
 * | anything else                            | 3 value   | 0           | JSON, UTF-8 (bigint as text) |
 */
export interface GuestMessage {
  readonly type: typeof GUEST_MESSAGE_TYPE;
  /** The sending process (0: outside any process). */
  readonly from: Pid;
  /** The bytes as a binary string: char code `i` is byte `i`. */
  readonly data: string;
}

export const GUEST_MESSAGE_TYPE = "nx.message";

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** A message for a wasm process (or any process) carrying `payload` from `from`. */
export function guestMessage(from: Pid, payload: Uint8Array | string): GuestMessage {
  const bytes = typeof payload === "string" ? utf8.encode(payload) : payload;
  return {
    type: GUEST_MESSAGE_TYPE,
    from,
    data: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("latin1"),
  };
}

export function isGuestMessage(value: unknown): value is GuestMessage {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as GuestMessage).type === GUEST_MESSAGE_TYPE &&
    typeof (value as GuestMessage).data === "string" &&
    typeof (value as GuestMessage).from === "number"
  );
}

/** The bytes a guest sent. */
export function guestMessageBytes(message: GuestMessage): Uint8Array {
  return new Uint8Array(Buffer.from(message.data, "latin1"));
}

/** The bytes a guest sent, decoded as UTF-8 (invalid sequences become U+FFFD). */
export function guestMessageText(message: GuestMessage): string {
  return utf8Decoder.decode(guestMessageBytes(message));
}

/**
 * The text a guest receives for an exit reason: strings as they are (`normal`, `killed`,
 * `noproc`, `shutdown`, a guest's own `proc_exit` reason); a guest failure as `<kind>: <message>`
 * (`cpu_budget: CPU budget exceeded after ...`); another error as `error: <message>`; anything
 * else as JSON.
 */
export function exitReasonText(reason: ExitReason): string {
  if (typeof reason === "string") return reason;
  if (reason instanceof GuestFailure) return `${reason.kind}: ${reason.message}`;
  if (reason instanceof Error) return `error: ${reason.message}`;
  return formatExitReason(reason);
}

/** Views of JS values already computed for a message (a scan may look at a message many times). */
const views = new WeakMap<object, ReceivedMessage>();

/** How `message` appears to a guest (see the table above). */
export function guestView(message: unknown): ReceivedMessage {
  if (isGuestMessage(message)) return { kind: MESSAGE_KIND_DATA, from: message.from, payload: message.data };
  if (typeof message === "string") return { kind: MESSAGE_KIND_DATA, from: 0, payload: utf8.encode(message) };
  if (typeof message !== "object" || message === null) return valueView(message);
  const known = views.get(message);
  if (known !== undefined) return known;
  let view: ReceivedMessage;
  if (message instanceof DownMessage) {
    view = {
      kind: MESSAGE_KIND_DOWN,
      from: message.pid,
      payload: utf8.encode(exitReasonText(message.reason)),
    };
  } else if (message instanceof ExitMessage) {
    view = {
      kind: MESSAGE_KIND_EXIT,
      from: message.from,
      payload: utf8.encode(exitReasonText(message.reason)),
    };
  } else if (ArrayBuffer.isView(message)) {
    view = {
      kind: MESSAGE_KIND_DATA,
      from: 0,
      payload: new Uint8Array(message.buffer, message.byteOffset, message.byteLength),
    };
  } else if (message instanceof ArrayBuffer) {
    view = { kind: MESSAGE_KIND_DATA, from: 0, payload: new Uint8Array(message) };
  } else {
    view = valueView(message);
  }
  views.set(message, view);
  return view;
}

function valueView(value: unknown): ReceivedMessage {
  let json: string;
  try {
    json = JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v)) ?? "null";
  } catch {
    json = JSON.stringify(String(value));
  }
  return { kind: MESSAGE_KIND_VALUE, from: 0, payload: utf8.encode(json) };
}
