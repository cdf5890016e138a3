// Load guest of the cluster gates (three-node, ten-node, chaos, partition): increments the
// replicated GCounter NX_GATE_COUNTER_KEY by 1 at NX_GATE_RATE per second for
// NX_GATE_DURATION_MS, open-loop (lib/open-loop.ts).
//
// Distinct keys (NX_GATE_KEYS=N, the gates' --keys N): each operation instead writes field
// "<NX_GATE_FIELD_PREFIX><i mod N>" of the LWW-Map NX_GATE_COUNTER_KEY (value: i, 8 bytes). While
// i < N every write is a field nobody wrote before, so no two writes of a run amend the same op:
// each is an op of its own for every peer to decode, dedup, apply, store and relay.
//
// Before the load it waits until the wall clock reaches NX_GATE_START_AT_MS (so the nodes of a
// cluster start together) and until NX_GATE_MIN_PEERS peers are connected (at most
// NX_GATE_PEER_WAIT_MS, then it gives up with one line).
//
// Resuming (chaos gate): with NX_GATE_RESUME=1 the guest starts counting from the counter's
// value as its node knows it at start ("resumed" in its start line). The chaos gate gives each
// node a counter key of its own, so that value is exactly how many of this node's increments
// survived a SIGKILL: the count and the increments are the same op, durable together, with no
// separate progress record that a kill could separate from them.
//
// Settings: NX_GATE_RATE (required), NX_GATE_DURATION_MS (10000), NX_GATE_COUNTER_KEY
// ("gate-counter"), NX_GATE_START_AT_MS (0), NX_GATE_MIN_PEERS (0), NX_GATE_PEER_WAIT_MS
// (30000), NX_GATE_RESUME (0), NX_GATE_INTERVAL_HIST (0: 1 sends each interval's histogram),
// NX_GATE_REPORT_MS (1000), NX_GATE_KEYS (0: the counter), NX_GATE_FIELD_PREFIX ("").

import { abi, gcounter, lwwMap, OnError, onError, system, time, utf8 } from "../../../../sdk/assemblyscript/assembly";
import { envPositive, envText, envU64 } from "../../lib/gate-env";
import { OpenLoop } from "../../lib/open-loop";
import { monotonicNs, sleepNs } from "../../lib/wasi";

const PEER_POLL_NS: u64 = 5_000_000;
const ERR_SYNC_DISABLED: i32 = -5;

let counterKey = new Uint8Array(0);
const peersOut = new Uint8Array(65536);

let keys: u64 = 0;
let fieldPrefix = "";
const fieldValue = new Uint8Array(8);

function increment(_index: u64): bool {
  return gcounter.inc(counterKey, 1);
}

function writeField(index: u64): bool {
  store<u64>(fieldValue.dataStart, index);
  return lwwMap.set(counterKey, fieldPrefix + (index % keys).toString(), fieldValue);
}

/** Connected peers now (-5: no sync on this node). */
function peerCount(): i32 {
  const n = abi.net_peers(peersOut.dataStart, <usize>peersOut.byteLength);
  if (n == ERR_SYNC_DISABLED) return n;
  // -2: the list does not fit 64 KiB, far more peers than any gate waits for.
  return n < 0 ? i32.MAX_VALUE : <i32>load<u32>(peersOut.dataStart);
}

function waitForPeers(minPeers: i32, waitMs: u64): i32 {
  let peers = peerCount();
  if (minPeers == 0) return peers;
  if (peers == ERR_SYNC_DISABLED) {
    system.abort(`gate: NX_GATE_MIN_PEERS=${minPeers} but this node runs without sync (no --listen/--peer)`);
  }
  const deadline = monotonicNs() + waitMs * 1_000_000;
  while (peers < minPeers) {
    if (monotonicNs() >= deadline) {
      system.abort(`gate: only ${peers} of ${minPeers} peers connected after ${waitMs} ms`);
    }
    // Asleep, not spinning: the other nodes of the cluster are still starting on the same cores.
    sleepNs(PEER_POLL_NS);
    peers = peerCount();
  }
  return peers;
}

export function run(): void {
  onError(OnError.Return);
  const rate = envPositive("NX_GATE_RATE", 0);
  const durationMs = envPositive("NX_GATE_DURATION_MS", 10_000);
  const key = envText("NX_GATE_COUNTER_KEY", "gate-counter");
  const startAtMs = envU64("NX_GATE_START_AT_MS", 0);
  const minPeers = <i32>envU64("NX_GATE_MIN_PEERS", 0);
  const peerWaitMs = envPositive("NX_GATE_PEER_WAIT_MS", 30_000);
  const resume = envU64("NX_GATE_RESUME", 0) == 1;
  const reportMs = envPositive("NX_GATE_REPORT_MS", 1000);

  counterKey = utf8(key);
  keys = envU64("NX_GATE_KEYS", 0);
  fieldPrefix = envText("NX_GATE_FIELD_PREFIX", "");

  const peers = waitForPeers(minPeers, peerWaitMs);
  for (let now = time.now(); now < startAtMs; now = time.now()) sleepNs((startAtMs - now) * 1_000_000);
  const counterBefore = gcounter.value(counterKey);
  const resumed: u64 = resume ? counterBefore : 0;

  const loop = new OpenLoop(rate, durationMs, reportMs);
  loop.doneBase = resumed;
  loop.intervalHistograms = envU64("NX_GATE_INTERVAL_HIST", 0) == 1;
  loop.line
    .begin("start")
    .u64("rate", rate)
    .u64("duration_ms", durationMs)
    .u64("resumed", resumed)
    .i64("peers", peers)
    .u64("counter_before", counterBefore)
    .u64("keys", keys)
    .emit();
  if (keys == 0) loop.run(increment);
  else loop.run(writeField);
  loop.line.begin("final").u64("done", loop.done).u64("counter_local", gcounter.value(counterKey)).emit();
}
