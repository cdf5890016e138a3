/**
 * What the event host calls of one module reach (docs/design/event-model.md): the event whose
 * callback runs now, the module's tick period and subscriptions, and publishing. The node's
 * event layer (src/events/module-events.ts) implements it; the ABI layer only calls it.
 */
export interface ModuleEventPort {
  /** The data of the event whose callback runs now; undefined between callbacks. */
  current(): CurrentEvent | undefined;
  /** `tick_every`: 0, -1 (no `on_tick` export) or -3 (below the minimum period). */
  tickEvery(ms: number): number;
  /** `msg_subscribe`: 0, -1 (no `on_message` export) or -3 (invalid pattern, too many). */
  subscribe(pattern: string): number;
  /** `msg_unsubscribe`: 0 or -1 (not subscribed to exactly that pattern). */
  unsubscribe(pattern: string): number;
  /** `msg_publish`: 0 or -3 (invalid topic, payload too large); `payload` is a copy it may keep. */
  publish(topic: string, payload: Uint8Array): number;
}

/** The bytes `event_subject`, `event_payload` and `event_origin` hand over; undefined: that call answers -1. */
export interface CurrentEvent {
  readonly subject: Uint8Array | undefined;
  readonly payload: Uint8Array | undefined;
  readonly origin: Uint8Array | undefined;
}
