// Stock levels that several shops change at once (PNCounter). NX_STOCK_DELTA is the change this
// node makes, e.g. "+10" after a delivery or "-3" after sales; the total converges on every node.

import { log, net, pncounter, system } from "../../../sdk/assemblyscript/assembly";

const KEY = "inventory/widgets";

export function run(): void {
  const requested = system.env("NX_STOCK_DELTA");
  const delta: i64 = requested === null ? 1 : I64.parseInt(requested.startsWith("+") ? requested.substring(1) : requested);
  if (delta >= 0) pncounter.inc(KEY, <u64>delta);
  else pncounter.dec(KEY, <u64>-delta);
  log.info(`node ${net.nodeId()} changed ${KEY} by ${delta >= 0 ? "+" : ""}${delta}; ${KEY} = ${pncounter.value(KEY)} as this node knows it`);
}
