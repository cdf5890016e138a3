// One process of the distinct-key gates' store reference (lmdb-cells.ts): puts distinct cells
// with raw lmdb-js for a while, in commits of a fixed size with their fsync, and prints
// {"cells","secs","cpuUs"}. Arguments: path durationMs valueBytes writesPerCommit origins.
//
// The keys are what a node's store holds for a distinct-key run: one per map field, under the
// map's prefix, the fields of `origins` writers interleaved ("n<origin>-<i>"), as a node storing
// its own writes and its peers' receives them.
import { openReferenceDb, referenceValue } from "./lmdb-put.ts";

const [path, durationText, valueBytesText, perCommitText, originsText] = process.argv.slice(2);
const durationMs = Number(durationText);
const writesPerCommit = Number(perCommitText);
const origins = Number(originsText);
const db = openReferenceDb(path!);
const encoder = new TextEncoder();
const value = referenceValue(Number(valueBytesText));
const cpuStart = process.cpuUsage();
const started = performance.now();
let cells = 0;
while (performance.now() - started < durationMs) {
  let last: Promise<unknown> = Promise.resolve();
  for (let i = 0; i < writesPerCommit; i++, cells++) {
    const key = encoder.encode(
      `crdt/lww_map/gate-counter/n${cells % origins}-${Math.floor(cells / origins)}`,
    );
    last = db.put(key, value);
  }
  await last;
}
const secs = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuStart);
await db.close();
process.stdout.write(JSON.stringify({ cells, secs, cpuUs: cpu.user + cpu.system }));
