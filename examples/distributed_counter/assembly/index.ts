// A replicated visit counter (GCounter). Each node that runs this module adds one visit (or
// NX_VISITS of them); once the nodes have synced, every node reports the same total.

import { gcounter, log, net, system } from "../../../sdk/assemblyscript/assembly";

const KEY = "visits";

export function run(): void {
  const requested = system.env("NX_VISITS");
  const visits: u64 = requested === null ? 1 : U64.parseInt(requested);
  gcounter.inc(KEY, visits);
  log.info(`node ${net.nodeId()} added ${visits} visit${visits == 1 ? "" : "s"}; ${KEY} = ${gcounter.value(KEY)} as this node knows it`);
}
