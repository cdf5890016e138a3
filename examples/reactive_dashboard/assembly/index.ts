// A live dashboard of the cluster, as a reactive module: it counts its own ticks in the GCounter
// `ticks/<node id>`, watches every op its peers apply, keeps aggregates in memory (ops per key,
// the last node that wrote each key) and publishes a JSON summary of them every tick.
//
// Interface (tools rely on it):
//   - every 200 ms: increments the GCounter `ticks/<its node id>` and publishes the summary on
//     the topic `dashboard/summary`;
//   - on every op from a peer: one stdout line `remote <family> <key>` (family as the --print-*
//     flags spell it: gcounter, pncounter, lww-register, lww-map, orset, rga).
// Built with `--runtime incremental` (asconfig.json): a module that lives as long as the node
// must free what each event allocates.

import { events, gcounter, jsonString, net, stdout } from "../../../sdk/assemblyscript/assembly";
export { init, on_remote_op, on_tick } from "../../../sdk/assemblyscript/assembly/events";

const TICK_MS: u32 = 200;
const SUMMARY_TOPIC = "dashboard/summary";
/** Keys listed in a summary, busiest first: keeps the payload far below the 64 KiB limit. */
const SUMMARY_KEYS_MAX = 16;

class KeyStats {
  ops: u64 = 0;
  family: i32 = 0;
  lastWriter: string = "";

  constructor(public key: string) {}
}

let nodeId = "";
let ticksKey = "";
let ticks: u64 = 0;
let remoteOps: u64 = 0;
const statsByKey = new Map<string, KeyStats>();

function busiestFirst(a: KeyStats, b: KeyStats): i32 {
  if (a.ops != b.ops) return a.ops > b.ops ? -1 : 1;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

// {"node":"…","ticks":12,"remoteOps":40,"keys":[{"key":"visits","family":"gcounter","ops":3,"lastWriter":"…"}]}
function summary(): string {
  const all = statsByKey.values().sort(busiestFirst);
  const listed = all.length < SUMMARY_KEYS_MAX ? all.length : SUMMARY_KEYS_MAX;
  const keys = new Array<string>(0);
  for (let i = 0; i < listed; i++) {
    const stats = all[i];
    keys.push(
      `{"key":${jsonString(stats.key)},"family":"${events.familyName(stats.family)}","ops":${stats.ops},"lastWriter":"${stats.lastWriter}"}`,
    );
  }
  return `{"node":"${nodeId}","ticks":${ticks},"remoteOps":${remoteOps},"keys":[${keys.join(",")}]}`;
}

events.onInit((): void => {
  nodeId = net.nodeId();
  ticksKey = `ticks/${nodeId}`;
  events.tickEvery(TICK_MS);
});

events.onTick((): void => {
  gcounter.inc(ticksKey);
  ticks++;
  events.publish(SUMMARY_TOPIC, summary());
});

events.onRemoteOp((op: events.RemoteOp): void => {
  stdout.writeLine(`remote ${events.familyName(op.family)} ${op.key}`);
  remoteOps++;
  let stats: KeyStats;
  if (statsByKey.has(op.key)) stats = statsByKey.get(op.key);
  else {
    stats = new KeyStats(op.key);
    statsByKey.set(op.key, stats);
  }
  stats.ops++;
  stats.family = op.family;
  stats.lastWriter = op.origin;
});
