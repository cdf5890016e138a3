// Test guest for the write-path durability tests: writes its running count under "ack/count" in a
// tight loop, NX_WRITES times (default 2 000 000), and logs "ack <count>" at random points (about
// one write in NX_LOG_ONE_IN, default 5 000; seeded by NX_SEED). With NX_SLEEP_EVERY = n > 0 it
// sleeps 1 ms (a receive with a timeout) after every n writes, so it wakes while commits run.
// A logged count is an acknowledgement: the store must hold at least that count after kill -9.

import { db, log, proc, system } from "../../sdk/assemblyscript/assembly";

function envU64(name: string, fallback: u64): u64 {
  const text = system.env(name);
  return text === null ? fallback : U64.parseInt(text);
}

let rng: u64 = 1;

function nextRandom(): u64 {
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return rng * 0x2545f4914f6cdd1d;
}

export function run(): void {
  const writes = envU64("NX_WRITES", 2_000_000);
  const logOneIn = max<u64>(envU64("NX_LOG_ONE_IN", 5_000), 1);
  const sleepEvery = envU64("NX_SLEEP_EVERY", 0);
  rng = envU64("NX_SEED", 1) | 1;
  for (let n: u64 = 1; n <= writes; n++) {
    if (!db.set("ack/count", n.toString())) {
      log.error(`write ${n} failed`);
      return;
    }
    if (nextRandom() % logOneIn == 0) log.info(`ack ${n}`);
    if (sleepEvery > 0 && n % sleepEvery == 0) proc.receive(1);
  }
  log.info(`done ${writes}`);
}
