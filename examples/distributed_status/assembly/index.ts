// A replicated status flag (LWW-Register): each node publishes a status (NX_STATUS, default
// "up"); the latest write wins everywhere, ties broken by NodeId.

import { log, lwwRegister, net, system } from "../../../sdk/assemblyscript/assembly";

const KEY = "service/status";

export function run(): void {
  const requested = system.env("NX_STATUS");
  const status = `${requested === null ? "up" : requested} (set by ${net.nodeId()})`;
  lwwRegister.set(KEY, status);
  const current = lwwRegister.getString(KEY);
  log.info(`wrote ${KEY} = ${status}; current value here: ${current === null ? "<unset>" : current}`);
}
