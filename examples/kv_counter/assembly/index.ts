// Counts its own runs in the node's local store: run it twice against the same datastore and
// the count goes up by one each time.

import { db, log } from "../../../sdk/assemblyscript/assembly";

const RUNS_KEY = "kv_counter/runs";

export function run(): void {
  const previous = db.getString(RUNS_KEY);
  const runs: u64 = (previous === null ? 0 : U64.parseInt(previous)) + 1;
  db.set(RUNS_KEY, runs.toString());
  log.info(`kv_counter: this module has run ${runs} time${runs == 1 ? "" : "s"} on this datastore`);
}
