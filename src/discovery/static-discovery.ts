import { silentLogger } from "../observe/logger.ts";
import { CandidateSet } from "./candidate-set.ts";
import type { PeerCandidate, PeerDiscovery } from "./peer-discovery.ts";

/**
 * `[discovery] mode = "static"`: the `[network] peers` list, fixed for the node's life (the
 * behaviour of every build before discovery modes).
 *
 * @example
 * createStaticDiscovery(["10.0.0.2:9000"]).discover(); // after start: [{ address: "10.0.0.2:9000" }]
 */
export function createStaticDiscovery(addresses: readonly string[]): PeerDiscovery {
  const set = new CandidateSet(silentLogger);
  return {
    name: "static",
    start: async () => set.replace(addresses.map((address) => ({ address }))),
    stop: async () => set.close(),
    discover: () => set.discover(),
    announce: async (self: PeerCandidate) => set.setSelf(self),
    watch: (listener) => set.watch(listener),
  };
}
