// Exercises the SDK's events module on the node's event parts, in process
// (test/sdk/reactive-probes.test.ts), for what the reactive probe does not do: `run` checks the
// event readers outside a callback, unsubscribe, byte payloads, family names and the Return
// policy, and prints "events sdk: ok (<n> checks)"; a failed check aborts naming it. on_tick and
// on_message are re-exported without handlers, so calling them must end the guest naming both.

import { ErrorCode, events, lastError, OnError, onError, stdout, system, utf8 } from "../assembly";
export { on_message, on_tick } from "../assembly/events";

let checks = 0;

function check(condition: bool, what: string): void {
  checks++;
  if (!condition) system.abort(`events check failed: ${what}`);
}

export function run(): void {
  check(events.subject() == "" && lastError() == ErrorCode.NotFound, "subject() outside a callback is empty");
  check(events.payload().length == 0 && lastError() == ErrorCode.NotFound, "payload() outside a callback is empty");
  check(events.origin() == "" && lastError() == ErrorCode.NotFound, "origin() without an origin is empty");
  check(events.subscribe("sdk/*") && lastError() == ErrorCode.Ok, "subscribe");
  check(events.unsubscribe("sdk/*"), "unsubscribe");
  check(!events.unsubscribe("sdk/*") && lastError() == ErrorCode.NotFound, "a second unsubscribe is false, not an error");
  check(events.publish("sdk/bytes", utf8("as bytes")), "publish a Uint8Array");
  check(events.publish("sdk/empty", ""), "publish an empty payload");
  check(events.familyName(events.Family.PNCounter) == "pncounter", "familyName(PNCounter)");
  check(events.familyName(events.Family.LwwRegister) == "lww-register", "familyName(LwwRegister)");
  check(events.familyName(events.Family.ORSet) == "orset", "familyName(ORSet)");
  check(events.familyName(0) == "unknown" && events.familyName(7) == "unknown", "familyName of another code");
  onError(OnError.Return);
  check(!events.tickEvery(5) && lastError() == ErrorCode.Internal, "tickEvery below the minimum is false under Return");
  check(events.tickEvery(0) && lastError() == ErrorCode.Ok, "tickEvery(0) stops ticks");
  stdout.writeLine(`events sdk: ok (${checks} checks)`);
}
