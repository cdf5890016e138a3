import type { Logger } from "../observe/logger.ts";
import { CandidateSet } from "./candidate-set.ts";
import type { KnownPeers } from "./known-peers.ts";
import type { PeerDiscovery } from "./peer-discovery.ts";

export interface BootstrapDiscoveryOptions {
  /** `[discovery] bootstrap`: the addresses to join through, always candidates. */
  readonly seeds: readonly string[];
  /** What peers told this node (peer exchange now, membership later). */
  readonly known: KnownPeers;
  readonly logger: Logger;
}

/**
 * `[discovery] mode = "bootstrap"`: join through one or a few seed addresses and learn the rest
 * of the cluster from peers. The candidates are the seeds and every address in `known`.
 *
 * @example
 * const known = new KnownPeers();
 * const discovery = createBootstrapDiscovery({ seeds: ["10.0.0.2:9000"], known, logger });
 * await discovery.start();
 * known.learn([{ nodeId, address: "10.0.0.3:9000" }]); // watchers get both addresses
 */
export function createBootstrapDiscovery(options: BootstrapDiscoveryOptions): PeerDiscovery {
  const { seeds, known, logger } = options;
  const set = new CandidateSet(logger);
  const refresh = (): void => set.replace([...seeds.map((address) => ({ address })), ...known.candidates()]);
  let unsubscribe: (() => void) | undefined;
  return {
    name: "bootstrap",
    start: async () => {
      unsubscribe = known.onChange(refresh);
      refresh();
    },
    stop: async () => {
      unsubscribe?.();
      set.close();
    },
    discover: () => set.discover(),
    announce: async (self) => set.setSelf(self),
    watch: (listener) => set.watch(listener),
  };
}
