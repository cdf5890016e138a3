// A distributed vote over mutually authenticated TLS: each node casts NX_VOTE (one of
// NX_OPTIONS, default "yes,no") into a GCounter per option; only peers in the allowlist can
// contribute, and every node converges on the same tally.

import { gcounter, log, net, system } from "../../../sdk/assemblyscript/assembly";

export function run(): void {
  const configured = system.env("NX_OPTIONS");
  const options = (configured === null ? "yes,no" : configured).split(",");
  const vote = system.env("NX_VOTE");
  if (vote !== null) {
    if (!options.includes(vote)) system.abort(`NX_VOTE must be one of ${options.join(", ")}, got "${vote}"`);
    gcounter.inc(`votes/${vote}`);
    log.info(`node ${net.nodeId()} voted ${vote}`);
  }
  const tally = new Array<string>(0);
  for (let i = 0; i < options.length; i++) tally.push(`${options[i]}=${gcounter.value(`votes/${options[i]}`)}`);
  log.info(`tally here: ${tally.join(" ")} (${net.peers().length} peers connected)`);
}
