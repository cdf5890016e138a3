// Test guest for the write-path durability tests. Writes NX_WRITES times (default 2 000 000) in a
// tight loop and logs "ack <count>" at random points (about one write in NX_LOG_ONE_IN, default
// 5 000). A logged count is an acknowledgement: after kill -9 the store must
// hold at least that count.
// - By default every write stores the running count under "ack/count".
// - NX_VALUE_BYTES = b > 0: write n stores b bytes under "fill/<n>" instead (then "ack/count"),
//   which fills a disk.
// - NX_GCOUNTER = 1: every write increments the replicated GCounter "ack" by 1 instead (a node
//   with sync on), so its value is the count.
// - NX_SLEEP_EVERY = s > 0: sleep 1 ms (a receive with a timeout) after every s writes, so the
//   guest wakes while commits run.
// - A refused write (a full disk) logs "refused <n>" once, then is retried every 10 ms; the first
//   success after that logs "resumed <n>". The end logs "done <writes>".

import { crypto, db, gcounter, log, OnError, onError, proc, system } from "../../sdk/assemblyscript/assembly";

function envU64(name: string, fallback: u64): u64 {
  const text = system.env(name);
  return text === null ? fallback : U64.parseInt(text);
}

let fillValue = new Uint8Array(0);
let counting = false;

function write(n: u64): bool {
  if (counting) return gcounter.inc("ack", 1);
  if (fillValue.length > 0) {
    store<u64>(fillValue.dataStart, n);
    if (!db.set(`fill/${n}`, fillValue)) return false;
  }
  return db.set("ack/count", n.toString());
}

export function run(): void {
  onError(OnError.Return);
  const writes = envU64("NX_WRITES", 2_000_000);
  const logOneIn = max<u64>(envU64("NX_LOG_ONE_IN", 5_000), 1);
  const sleepEvery = envU64("NX_SLEEP_EVERY", 0);
  const valueBytes = envU64("NX_VALUE_BYTES", 0);
  counting = envU64("NX_GCOUNTER", 0) == 1;
  if (valueBytes > 0) fillValue = new Uint8Array(<i32>max<u64>(valueBytes, 8)).fill(0x5a);
  for (let n: u64 = 1; n <= writes; n++) {
    if (!write(n)) {
      log.warn(`refused ${n}`);
      do proc.receive(10);
      while (!write(n));
      log.info(`resumed ${n}`);
    }
    if (crypto.randomU64() % logOneIn == 0) log.info(`ack ${n}`);
    if (sleepEvery > 0 && n % sleepEvery == 0) proc.receive(1);
  }
  log.info(`done ${writes}`);
}
