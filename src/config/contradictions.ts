import { isUnspecifiedHost } from "../net/host-port.ts";
import type { ConfigIssue, ConfigSource } from "./config-error.ts";
import type { NodeConfig } from "./node-config.ts";
import type { ConfigKey } from "./schema.ts";
import { formatSocketAddress, type SocketAddress } from "./socket-address.ts";

/** Where a key's effective value came from; `via` names the file, variable or flag. */
export interface ValueOrigin {
  readonly source: ConfigSource;
  readonly via?: string;
}

interface Rule {
  /** Keys the rule reads: it is skipped when one of them already has an issue. */
  readonly keys: readonly ConfigKey[];
  check(config: NodeConfig): { subject: ConfigKey; message: string } | undefined;
}

function sameEndpoint(a: SocketAddress, b: SocketAddress): boolean {
  if (a.port !== b.port || a.port === 0) return false;
  return a.host === b.host || isUnspecifiedHost(a.host) || isUnspecifiedHost(b.host);
}

/** The discovery keys each mode reads; `required`: the mode cannot work without it. */
const MODE_KEYS: readonly {
  key: ConfigKey;
  mode: NodeConfig["discovery"]["mode"];
  isSet: (config: NodeConfig) => boolean;
  required: boolean;
  flag: string;
}[] = [
  {
    key: "discovery.bootstrap",
    mode: "bootstrap",
    isSet: (c) => c.discovery.bootstrap.length > 0,
    required: false,
    flag: "--bootstrap",
  },
  {
    key: "discovery.peers_file",
    mode: "file",
    isSet: (c) => c.discovery.peersFile !== undefined,
    required: true,
    flag: "--peers-file",
  },
  {
    key: "discovery.dns_srv_name",
    mode: "dns-srv",
    isSet: (c) => c.discovery.dnsSrvName !== undefined,
    required: true,
    flag: "--dns-srv-name",
  },
  {
    key: "discovery.dns_server",
    mode: "dns-srv",
    isSet: (c) => c.discovery.dnsServer !== undefined,
    required: false,
    flag: "--dns-server",
  },
  {
    key: "discovery.mdns_interface",
    mode: "mdns",
    isSet: (c) => c.discovery.mdnsInterface !== undefined,
    required: false,
    flag: "--mdns-interface",
  },
];

function modeKeyRules(): Rule[] {
  return MODE_KEYS.map(({ key, mode, isSet, required, flag }) => ({
    keys: [key, "discovery.mode"],
    check: (config: NodeConfig) => {
      const chosen = config.discovery.mode;
      if (isSet(config) && chosen !== mode) {
        return {
          subject: key,
          message: `is set but discovery.mode is "${chosen}", which does not read it: use --discovery ${mode} (or discovery.mode = "${mode}")`,
        };
      }
      if (required && !isSet(config) && chosen === mode) {
        return {
          subject: "discovery.mode",
          message: `is "${mode}" but ${key} is not set: give it with ${flag}`,
        };
      }
      return undefined;
    },
  }));
}

/**
 * Pairs of keys that make no sense together. Decisions worth knowing:
 * - mutual TLS needs all of cert, key and ca; an allowlist is only enforceable with a ca;
 * - `insecure = true` with any TLS material is refused rather than silently ignoring the material;
 * - `peers` without `network.listen` is refused: `listen` is what turns sync on (seed semantics),
 *   so the peers would be silently ignored; so is a discovery mode other than static;
 * - a discovery key of one mode set while another mode is chosen is refused (it would be ignored),
 *   and a mode missing the key it reads (file: peers_file, dns-srv: dns_srv_name) too.
 */
const RULES: readonly Rule[] = [
  {
    keys: ["tls.cert", "tls.key"],
    check: ({ tls }) => {
      if (tls.cert !== undefined && tls.key === undefined) {
        return {
          subject: "tls.cert",
          message: "is set but tls.key is not: a certificate needs its private key",
        };
      }
      if (tls.key !== undefined && tls.cert === undefined) {
        return {
          subject: "tls.key",
          message: "is set but tls.cert is not: a private key needs its certificate",
        };
      }
      return undefined;
    },
  },
  {
    keys: ["tls.cert", "tls.key", "tls.ca"],
    check: ({ tls }) => {
      if (tls.cert !== undefined && tls.key !== undefined && tls.ca === undefined) {
        return {
          subject: "tls.cert",
          message: "is set but tls.ca is not: mutual TLS verifies peers against the CA",
        };
      }
      if (tls.ca !== undefined && tls.cert === undefined && tls.key === undefined) {
        return {
          subject: "tls.ca",
          message: "is set but tls.cert and tls.key are not: this node needs its own certificate",
        };
      }
      return undefined;
    },
  },
  {
    keys: ["tls.allowed_peers", "tls.ca"],
    check: ({ tls }) =>
      tls.allowedPeers.length > 0 && tls.ca === undefined
        ? {
            subject: "tls.allowed_peers",
            message: "is set but tls.ca is not: an allowlist needs certificates verified against a CA",
          }
        : undefined,
  },
  {
    keys: ["tls.insecure", "tls.cert", "tls.key", "tls.ca", "tls.allowed_peers"],
    check: ({ tls }) => {
      if (!tls.insecure) return undefined;
      const material = [
        tls.cert !== undefined ? "tls.cert" : undefined,
        tls.key !== undefined ? "tls.key" : undefined,
        tls.ca !== undefined ? "tls.ca" : undefined,
        tls.allowedPeers.length > 0 ? "tls.allowed_peers" : undefined,
      ].filter((name) => name !== undefined);
      if (material.length === 0) return undefined;
      return {
        subject: "tls.insecure",
        message: `is true but ${material.join(", ")} ${material.length === 1 ? "is" : "are"} set: choose mutual TLS or plain TCP, not both`,
      };
    },
  },
  {
    keys: ["network.peers", "network.listen"],
    check: ({ network }) =>
      network.peers.length > 0 && network.listen === undefined
        ? {
            subject: "network.peers",
            message:
              "is set but network.listen is not: listen turns sync on, without it the peers are never dialed",
          }
        : undefined,
  },
  {
    keys: ["management.tls_cert", "management.tls_key"],
    check: ({ management }) => {
      if (management.tlsCert !== undefined && management.tlsKey === undefined) {
        return {
          subject: "management.tls_cert",
          message: "is set but management.tls_key is not: a certificate needs its private key",
        };
      }
      if (management.tlsKey !== undefined && management.tlsCert === undefined) {
        return {
          subject: "management.tls_key",
          message: "is set but management.tls_cert is not: a private key needs its certificate",
        };
      }
      return undefined;
    },
  },
  {
    keys: ["discovery.mode", "network.listen"],
    check: ({ discovery, network }) =>
      discovery.mode !== "static" && network.listen === undefined
        ? {
            subject: "discovery.mode",
            message: `is "${discovery.mode}" but network.listen is not set: listen turns sync on, without it nothing is discovered`,
          }
        : undefined,
  },
  ...modeKeyRules(),
  {
    keys: ["limits.reconnect_initial_delay", "limits.reconnect_max_delay"],
    check: ({ limits }) =>
      limits.reconnectInitialDelayMs > limits.reconnectMaxDelayMs
        ? {
            subject: "limits.reconnect_initial_delay",
            message: "is longer than limits.reconnect_max_delay: the backoff starts above its own cap",
          }
        : undefined,
  },
  {
    keys: ["network.listen", "observability.listen"],
    check: ({ network, observability }) =>
      network.listen !== undefined &&
      observability.listen !== undefined &&
      sameEndpoint(network.listen, observability.listen)
        ? {
            subject: "observability.listen",
            message: `${formatSocketAddress(observability.listen)} collides with network.listen ${formatSocketAddress(network.listen)}: use another port`,
          }
        : undefined,
  },
];

/** Issues for every contradiction in a config whose single values are all valid. */
export function findContradictions(
  config: NodeConfig,
  originOf: (key: ConfigKey) => ValueOrigin,
  hasIssue: (key: ConfigKey) => boolean,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const rule of RULES) {
    if (rule.keys.some(hasIssue)) continue;
    const found = rule.check(config);
    if (found === undefined) continue;
    const origin = originOf(found.subject);
    issues.push({ kind: "contradiction", subject: found.subject, ...origin, message: found.message });
  }
  return issues;
}
