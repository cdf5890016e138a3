import { Resolver } from "node:dns/promises";
import { isIP } from "node:net";
import { backgroundClock, type Clock, type TimerHandle } from "../clock/clock.ts";
import { describeError } from "../errors/numax-error.ts";
import { formatHostPort } from "../net/host-port.ts";
import type { Logger } from "../observe/logger.ts";
import { CandidateSet } from "./candidate-set.ts";
import type { PeerCandidate, PeerDiscovery } from "./peer-discovery.ts";

/** One DNS query attempt's timeout; the resolver tries twice (DNS_SRV_TRIES) before an error. */
export const DNS_SRV_TIMEOUT_MS = 2000;
const DNS_SRV_TRIES = 2;

/** Answers that mean "the name has no such records": the set is empty, not broken. */
const EMPTY_ANSWER_CODES = new Set(["ENOTFOUND", "ENODATA"]);

export interface DnsSrvDiscoveryOptions {
  /** `[discovery] dns_srv_name`, e.g. `_numax._tcp.numax.default.svc.cluster.local`. */
  readonly name: string;
  /** `[discovery] dns_server` (`ip:port`); undefined: the system's servers. */
  readonly server: string | undefined;
  /** `[discovery] refresh_interval`: how often the name is resolved again. */
  readonly refreshIntervalMs: number;
  readonly logger: Logger;
  /** The refresh timer's clock; default `backgroundClock`. */
  readonly clock?: Clock;
}

/**
 * `[discovery] mode = "dns-srv"`: the SRV records of a name, resolved every `refreshIntervalMs`.
 * Each record's target is resolved to its A records (else AAAA) through the same resolver, and
 * each address with the record's port is a candidate (a target that is an IP literal is used as
 * it is). A name with no records (NXDOMAIN, NODATA) is an empty set; any other failure (timeout,
 * SERVFAIL, a server that does not answer) keeps the last good set, with one warning per
 * distinct error.
 */
export function createDnsSrvDiscovery(options: DnsSrvDiscoveryOptions): PeerDiscovery {
  const { name, server, refreshIntervalMs, logger, clock = backgroundClock } = options;
  const set = new CandidateSet(logger);
  const resolver = new Resolver({ timeout: DNS_SRV_TIMEOUT_MS, tries: DNS_SRV_TRIES });
  if (server !== undefined) resolver.setServers([server]);
  let timer: TimerHandle | undefined;
  let lastError: string | undefined;
  let resolving: Promise<void> | undefined;
  let stopped = false;

  const resolveOnce = async (): Promise<void> => {
    let candidates: PeerCandidate[];
    try {
      candidates = await resolveCandidates(resolver, name);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== undefined && EMPTY_ANSWER_CODES.has(code)) {
        candidates = [];
      } else {
        const message = `cannot resolve SRV ${name}${server === undefined ? "" : ` at ${server}`}: ${describeError(error)}; keeping the last peers resolved`;
        if (message !== lastError) logger.warn(message);
        lastError = message;
        return;
      }
    }
    lastError = undefined;
    if (!stopped) set.replace(candidates);
  };

  const refresh = (): void => {
    if (resolving !== undefined || stopped) return;
    resolving = resolveOnce().finally(() => {
      resolving = undefined;
    });
  };

  return {
    name: "dns-srv",
    async start() {
      refresh();
      await resolving;
      timer = clock.setInterval(refresh, refreshIntervalMs);
    },
    async stop() {
      stopped = true;
      clock.clearTimeout(timer);
      resolver.cancel();
      set.close();
      await resolving;
    },
    discover: () => set.discover(),
    announce: async (self) => set.setSelf(self),
    watch: (listener) => set.watch(listener),
  };
}

async function resolveCandidates(resolver: Resolver, name: string): Promise<PeerCandidate[]> {
  const records = await resolver.resolveSrv(name);
  const candidates: PeerCandidate[] = [];
  for (const record of records) {
    if (record.port === 0) continue;
    for (const host of await addressesOf(resolver, record.name)) {
      candidates.push({ address: formatHostPort(host, record.port) });
    }
  }
  return candidates;
}

/** A target's addresses: itself when it is an IP, else its A records, else its AAAA records. */
async function addressesOf(resolver: Resolver, target: string): Promise<string[]> {
  if (isIP(target) !== 0) return [target];
  const v4 = await resolver.resolve4(target).catch(() => []);
  if (v4.length > 0) return v4;
  return resolver.resolve6(target).catch(() => []);
}
