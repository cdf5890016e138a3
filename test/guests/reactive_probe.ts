// Probe of reactive modules for the end-to-end tests of the event model (docs/design/event-model.md).
// It exports every callback and prints one stdout line per call, exactly:
//   init | shutdown | tick | remote <family> <key> <origin> | peer-connected <node id> |
//   peer-disconnected <node id> | message <topic> <payload as UTF-8> <origin, or - when none>
// (<family> as the --print-* flags spell it: gcounter ... rga). Its C twin,
// test/guests/reactive_probe_c.c, behaves identically; this one is the reference.
//
// Environment (read in init; only NX_* names reach a guest):
//   NX_PROBE_TICK_MS=ms          tick_every(ms) in init
//   NX_PROBE_SUBSCRIBE=pattern   msg_subscribe(pattern) in init
//   NX_PROBE_PUBLISH_TOPIC=topic, NX_PROBE_PUBLISH_COUNT=N
//                                on every tick, after printing `tick`, publish the payloads "1".."N"
//                                in order on topic (so it needs NX_PROBE_TICK_MS; peers that connect
//                                late still see whole runs)
//   NX_PROBE_FAIL_IN=<export>    init, shutdown, on_tick, on_remote_op, on_peer_connected,
//                                on_peer_disconnected or on_message: that callback fails every time,
//                                after printing its line
//   NX_PROBE_FAIL_HOW=trap|loop|alloc   how (default trap): `unreachable`; spin forever; grow
//                                memory a page at a time until the host refuses, then trap
// On a node with sync, init increments the GCounter probe/inits before printing `init`, and
// shutdown increments probe/shutdowns before printing `shutdown` (restart and durability tests);
// without sync both skip the counter.

import { events, gcounter, net, stdout, system } from "../../sdk/assemblyscript/assembly";
export {
  init,
  on_message,
  on_peer_connected,
  on_peer_disconnected,
  on_remote_op,
  on_tick,
  shutdown,
} from "../../sdk/assemblyscript/assembly/events";

let syncEnabled = false;
let failIn = "";
let failHow = "trap";
let publishTopic = "";
let publishCount: u32 = 0;
let spins: u64 = 0;

function env(name: string): string {
  const value = system.env(name);
  return value === null ? "" : value;
}

function maybeFail(callback: string): void {
  if (callback != failIn) return;
  if (failHow == "loop") {
    while (true) spins++;
  }
  if (failHow == "alloc") {
    while (memory.grow(1) >= 0) store<u8>((<usize>memory.size() << 16) - 1, 1);
  }
  unreachable();
}

function orDash(text: string): string {
  return text.length == 0 ? "-" : text;
}

events.onInit((): void => {
  syncEnabled = net.syncEnabled();
  failIn = env("NX_PROBE_FAIL_IN");
  const how = env("NX_PROBE_FAIL_HOW");
  failHow = how.length == 0 ? "trap" : how;
  publishTopic = env("NX_PROBE_PUBLISH_TOPIC");
  const count = env("NX_PROBE_PUBLISH_COUNT");
  publishCount = count.length == 0 ? 0 : U32.parseInt(count);
  if (syncEnabled) gcounter.inc("probe/inits");
  stdout.writeLine("init");
  const tickMs = env("NX_PROBE_TICK_MS");
  if (tickMs.length > 0) events.tickEvery(U32.parseInt(tickMs));
  const pattern = env("NX_PROBE_SUBSCRIBE");
  if (pattern.length > 0) events.subscribe(pattern);
  maybeFail("init");
});

events.onShutdown((): void => {
  if (syncEnabled) gcounter.inc("probe/shutdowns");
  stdout.writeLine("shutdown");
  maybeFail("shutdown");
});

events.onTick((): void => {
  stdout.writeLine("tick");
  if (publishTopic.length > 0) {
    for (let i: u32 = 1; i <= publishCount; i++) events.publish(publishTopic, i.toString());
  }
  maybeFail("on_tick");
});

events.onRemoteOp((op: events.RemoteOp): void => {
  stdout.writeLine(`remote ${events.familyName(op.family)} ${op.key} ${orDash(op.origin)}`);
  maybeFail("on_remote_op");
});

events.onPeerConnected((nodeId: string): void => {
  stdout.writeLine(`peer-connected ${nodeId}`);
  maybeFail("on_peer_connected");
});

events.onPeerDisconnected((nodeId: string): void => {
  stdout.writeLine(`peer-disconnected ${nodeId}`);
  maybeFail("on_peer_disconnected");
});

events.onMessage((message: events.Message): void => {
  stdout.writeLine(`message ${message.topic} ${message.text()} ${orDash(message.origin)}`);
  maybeFail("on_message");
});
