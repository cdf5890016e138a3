// Dispatch guest of `npm run bench -- events` (bench/events.ts): events per second into one
// module's `on_message`, a handler that only counts.
//
// It subscribes to `bench/load` and pumps itself, closed-loop: a message with a one-byte payload
// (the pump) makes it publish NX_BENCH_BURST - 1 empty messages and then the next pump, which
// arrives after them (messages are in order per sender). Its queue never holds more than a burst,
// so nothing is dropped (the runner checks numax_module_events_dropped_total), and the module is
// never idle: the rate is what the node's dispatch (queue, callback call, metrics) allows,
// publishing included, as the reference (proc_stream) counts its sends. The empty messages take
// the handler's first branch, which counts them and returns without a host call.
//
// Reports: bench/guests/lib/rate-report.ts, one line per second.

import { abi, system } from "../../../../sdk/assemblyscript/assembly";
import { envPositive } from "../../lib/gate-env";
import { RateReport } from "../../lib/rate-report";

export { init, on_message };

const TOPIC = "bench/load";
/** Bursts stay below the event queue's capacity (EVENT_QUEUE_MAX, 1024). */
const BURST_MAX: u64 = 1000;

const topic = String.UTF8.encode(TOPIC);
const pumpByte = memory.data(1);
const report = new RateReport();
let burst: u64 = 0;

function publish(payloadLen: usize): void {
  const result = abi.msg_publish(changetype<usize>(topic), <usize>topic.byteLength, pumpByte, payloadLen);
  if (result != 0) system.abort(`events_dispatch: msg_publish returned ${result}`);
}

function pump(): void {
  for (let i: u64 = 1; i < burst; i++) publish(0);
  publish(1);
}

function init(): void {
  burst = envPositive("NX_BENCH_BURST", BURST_MAX);
  if (burst > BURST_MAX) system.abort(`events_dispatch: NX_BENCH_BURST is at most ${BURST_MAX}`);
  const result = abi.msg_subscribe(changetype<usize>(topic), <usize>topic.byteLength);
  if (result != 0) system.abort(`events_dispatch: msg_subscribe returned ${result}`);
  pump();
}

function on_message(topicLen: i32, payloadLen: i32): void {
  if (payloadLen == 0) {
    report.events++;
    return;
  }
  report.maybeEmit();
  pump();
}
