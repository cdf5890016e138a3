// Reference guest of `npm run bench -- events` (bench/events.ts): messages per second from one
// WebAssembly process to another with plain proc_send / proc_receive, the same closed loop as
// events_dispatch: the sender sends NX_BENCH_BURST - 1 empty messages and a one-byte marker, then
// waits for the receiver's answer to the marker before the next burst. The receiver counts the
// empty ones and reports (bench/guests/lib/rate-report.ts). After NX_BENCH_DURATION_MS the
// sender sends a two-byte stop and both return, so the node ends by itself.

import { proc, system } from "../../../../sdk/assemblyscript/assembly";
import { envPositive } from "../../lib/gate-env";
import { RateReport } from "../../lib/rate-report";
import { monotonicNs } from "../../lib/wasi";

const ROLE = "role:receiver";
const HEADER_BYTES: i32 = 12;
const BUFFER_BYTES: usize = 64;
const MARKER_LEN: u32 = 1;
const STOP_LEN: u32 = 2;

const buffer = memory.data(<i32>BUFFER_BYTES);
const payload = memory.data(2);

function send(to: i32, len: usize): void {
  const result = proc.proc_send(to, payload, len);
  if (result != 0) system.abort(`proc_stream: proc_send returned ${result}`);
}

function receive(): i32 {
  const n = proc.proc_receive(buffer, BUFFER_BYTES, -1);
  if (n < HEADER_BYTES) system.abort(`proc_stream: proc_receive returned ${n}`);
  return n;
}

function receiver(): void {
  const report = new RateReport();
  while (true) {
    receive();
    const len = load<u32>(buffer, 8);
    if (len == 0) {
      report.events++;
      continue;
    }
    if (len == STOP_LEN) return;
    report.maybeEmit();
    send(<i32>load<u32>(buffer, 4), 0);
  }
}

export function run(): void {
  if (proc.receiveMatch(new proc.Match().startingWith(ROLE), 0) !== null) {
    receiver();
    return;
  }
  const burst = envPositive("NX_BENCH_BURST", 1000);
  const endNs = monotonicNs() + envPositive("NX_BENCH_DURATION_MS", 5000) * 1_000_000;
  const peer = proc.spawn(new proc.Spawn().withArg(ROLE).linked());
  if (peer <= 0) system.abort(`proc_stream: spawn returned ${peer}`);
  while (monotonicNs() < endNs) {
    for (let i: u64 = 1; i < burst; i++) send(peer, 0);
    send(peer, MARKER_LEN);
    receive();
  }
  send(peer, STOP_LEN);
}
