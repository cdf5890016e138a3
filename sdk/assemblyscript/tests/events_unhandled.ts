// Re-exports the SDK's on_tick without registering a handler with events.onTick: calling it must
// end the guest with a message naming both (test/sdk/reactive-probes.test.ts).

export { on_tick } from "../assembly/events";
