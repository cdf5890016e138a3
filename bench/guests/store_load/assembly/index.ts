// Load guest of the `store` gate: writes values of NX_GATE_VALUE_BYTES (256) bytes under keys
// drawn uniformly from NX_GATE_KEYS (1 000 000) keys, at NX_GATE_RATE writes per second for
// NX_GATE_DURATION_MS, open-loop (lib/open-loop.ts). At the end it stores the number of writes
// that succeeded under "gate/ops_done" (decimal), which the runner reads back from the datastore
// after the node exited to check that every acknowledged write was flushed.
//
// Settings: NX_GATE_RATE (required), NX_GATE_DURATION_MS (10000), NX_GATE_KEYS (1000000),
// NX_GATE_VALUE_BYTES (256), NX_GATE_SEED (1), NX_GATE_REPORT_MS (1000).

import { crypto, db, OnError, onError } from "../../../../sdk/assemblyscript/assembly";
import { envPositive, envU64 } from "../../lib/gate-env";
import { OpenLoop } from "../../lib/open-loop";

const KEY_PREFIX = "gate/k/";

let keySpace: u64 = 1;
let keyDigits: i32 = 1;
let key = new Uint8Array(0);
let value = new Uint8Array(0);
let rng: u64 = 1;

/** xorshift64*: uniform enough for picking keys, and allocation-free. */
function nextRandom(): u64 {
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return rng * 0x2545f4914f6cdd1d;
}

function write(index: u64): bool {
  let slot = nextRandom() % keySpace;
  const base = key.dataStart + <usize>KEY_PREFIX.length;
  for (let i = keyDigits - 1; i >= 0; i--) {
    store<u8>(base + <usize>i, <u8>(0x30 + <u32>(slot % 10)));
    slot /= 10;
  }
  store<u64>(value.dataStart, index);
  return db.set(key, value);
}

export function run(): void {
  onError(OnError.Return);
  const rate = envPositive("NX_GATE_RATE", 0);
  const durationMs = envPositive("NX_GATE_DURATION_MS", 10_000);
  keySpace = envPositive("NX_GATE_KEYS", 1_000_000);
  const valueBytes = envPositive("NX_GATE_VALUE_BYTES", 256);
  rng = envU64("NX_GATE_SEED", 1) | 1;
  const reportMs = envPositive("NX_GATE_REPORT_MS", 1000);

  keyDigits = (keySpace - 1).toString().length;
  key = new Uint8Array(KEY_PREFIX.length + keyDigits);
  for (let i = 0; i < KEY_PREFIX.length; i++) key[i] = <u8>KEY_PREFIX.charCodeAt(i);
  value = new Uint8Array(<i32>max<u64>(valueBytes, 8));
  crypto.fillRandom(value);

  const loop = new OpenLoop(rate, durationMs, reportMs);
  loop.line
    .begin("start")
    .u64("rate", rate)
    .u64("duration_ms", durationMs)
    .u64("keys", keySpace)
    .u64("value_bytes", <u64>value.byteLength)
    .emit();
  loop.run(write);
  db.set("gate/ops_done", loop.done.toString());
}
