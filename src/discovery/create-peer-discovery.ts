import type { NodeConfig } from "../config/node-config.ts";
import { formatSocketAddress } from "../config/socket-address.ts";
import type { Logger } from "../observe/logger.ts";
import { createBootstrapDiscovery } from "./bootstrap-discovery.ts";
import { createDnsSrvDiscovery } from "./dns-srv-discovery.ts";
import { createFileDiscovery } from "./file-discovery.ts";
import type { KnownPeers } from "./known-peers.ts";
import { createMdnsDiscovery } from "./mdns-discovery.ts";
import type { PeerDiscovery } from "./peer-discovery.ts";
import { createStaticDiscovery } from "./static-discovery.ts";

/** A discovery the node runs, and whether the feed drops its candidates that refuse this node. */
export interface NodeDiscovery {
  readonly discovery: PeerDiscovery;
  /** See `DiscoveryFeedOptions.dropRefused`. */
  readonly dropRefused: boolean;
}

/**
 * The discoveries a node runs: `static` over `[network] peers` always, and the one
 * `[discovery] mode` names when it is another. `known` is what peer exchange learned (the
 * bootstrap mode reads it).
 */
export function createNodeDiscoveries(
  config: NodeConfig,
  known: KnownPeers,
  logger: Logger,
): NodeDiscovery[] {
  const { discovery } = config;
  const log = logger.child("discovery");
  const all: NodeDiscovery[] = [
    { discovery: createStaticDiscovery(config.network.peers.map(formatSocketAddress)), dropRefused: false },
  ];
  switch (discovery.mode) {
    case "static":
      break;
    case "bootstrap":
      all.push({
        discovery: createBootstrapDiscovery({
          seeds: discovery.bootstrap.map(formatSocketAddress),
          known,
          logger: log,
        }),
        dropRefused: true,
      });
      break;
    case "file":
      all.push({
        discovery: createFileDiscovery({
          path: discovery.peersFile!,
          refreshIntervalMs: discovery.refreshIntervalMs,
          logger: log,
        }),
        dropRefused: false,
      });
      break;
    case "dns-srv":
      all.push({
        discovery: createDnsSrvDiscovery({
          name: discovery.dnsSrvName!,
          server: discovery.dnsServer === undefined ? undefined : formatSocketAddress(discovery.dnsServer),
          refreshIntervalMs: discovery.refreshIntervalMs,
          logger: log,
        }),
        dropRefused: false,
      });
      break;
    case "mdns":
      all.push({
        discovery: createMdnsDiscovery({
          service: discovery.mdnsService,
          interfaceAddress: discovery.mdnsInterface,
          refreshIntervalMs: discovery.refreshIntervalMs,
          logger: log,
        }),
        dropRefused: true,
      });
      break;
  }
  return all;
}
