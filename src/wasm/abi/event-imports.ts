import { ERR_INTERNAL, ERR_NOT_FOUND } from "./abi-codes.ts";
import type { AbiContext } from "./abi-context.ts";
import { KEY_BYTES_MAX, VALUE_BYTES_MAX } from "./abi-limits.ts";
import { GuestInputError, inputCopy, inputView, outputPointer } from "./guest-input.ts";
import { writeBytes } from "./guest-output.ts";
import { allowsSubscription } from "./host-call-policy.ts";
import type { CurrentEvent } from "./module-event-port.ts";

/** Topics and patterns are ASCII (src/events/topic.ts checks which characters): latin1 never fails. */
const ascii = new TextDecoder("latin1");

/**
 * The host calls of reactive modules (docs/design/event-model.md): reading the current event
 * (`event_subject`, `event_payload`, `event_origin`), the tick period (`tick_every`) and module
 * messages (`msg_subscribe`, `msg_unsubscribe`, `msg_publish`). Without an event port (a guest
 * run outside a node) the reads answer -1 and the rest -3.
 */
export function createEventImports(ctx: AbiContext): Record<string, (...args: never[]) => number> {
  const { env, views } = ctx;
  function eventRead(name: string, part: (event: CurrentEvent) => Uint8Array | undefined) {
    return ctx.guard(name, (outPtr: number, outCap: number): number => {
      const event = env.events?.current();
      const bytes = event === undefined ? undefined : part(event);
      if (bytes === undefined) return ERR_NOT_FOUND;
      const memory = views.bytes();
      const out = outputPointer(memory, outPtr, outCap);
      return writeBytes(memory, views.data(), out, outCap >>> 0, bytes);
    });
  }
  // The port checks topics and payload sizes (src/events/topic.ts); reads here are only bounded
  // by the ABI's own limits, so the answer to a too-long topic or payload is the port's -3.
  function topicText(ptr: number, len: number): string {
    const bytes = inputView(views.bytes(), ptr, len, KEY_BYTES_MAX);
    if (bytes.length === 0) throw new GuestInputError("empty topic");
    return ascii.decode(bytes);
  }
  return {
    event_subject: eventRead("event_subject", (event) => event.subject),
    event_payload: eventRead("event_payload", (event) => event.payload),
    event_origin: eventRead("event_origin", (event) => event.origin),
    tick_every: ctx.guard(
      "tick_every",
      (ms: number): number => env.events?.tickEvery(ms >>> 0) ?? ERR_INTERNAL,
    ),
    msg_subscribe: ctx.guard("msg_subscribe", (ptr: number, len: number): number => {
      const events = env.events;
      if (events === undefined) return ERR_INTERNAL;
      const pattern = topicText(ptr, len);
      return allowsSubscription(env.policy, "msg_subscribe", pattern)
        ? events.subscribe(pattern)
        : ERR_INTERNAL;
    }),
    msg_unsubscribe: ctx.guard(
      "msg_unsubscribe",
      (ptr: number, len: number): number => env.events?.unsubscribe(topicText(ptr, len)) ?? ERR_INTERNAL,
    ),
    msg_publish: ctx.guard(
      "msg_publish",
      (topicPtr: number, topicLen: number, payloadPtr: number, payloadLen: number): number => {
        const events = env.events;
        if (events === undefined) return ERR_INTERNAL;
        const topic = topicText(topicPtr, topicLen);
        if (env.policy?.allowsKey("msg_publish", "messages.publish", topic) === false) return ERR_INTERNAL;
        const payload = inputCopy(views.bytes(), payloadPtr, payloadLen, VALUE_BYTES_MAX);
        return events.publish(topic, payload);
      },
    ),
  };
}
