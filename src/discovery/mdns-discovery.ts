import type { RemoteInfo } from "node:dgram";
import type { MulticastDNS } from "multicast-dns";
import { backgroundClock, type Clock, type TimerHandle } from "../clock/clock.ts";
import { monotonicMs } from "../clock/monotonic-clock.ts";
import { describeError } from "../errors/numax-error.ts";
import type { NodeId } from "../identity/node-id.ts";
import type { Logger } from "../observe/logger.ts";
import { CandidateSet } from "./candidate-set.ts";
import { announcementRecords, instancesInResponse, type MdnsRecord } from "./mdns-records.ts";
import type { PeerCandidate, PeerDiscovery } from "./peer-discovery.ts";

export interface MdnsDiscoveryOptions {
  /** `[discovery] mdns_service`, default `_numax._tcp.local`. */
  readonly service: string;
  /** `[discovery] mdns_interface`: the IPv4 address of the interface to use; undefined: every interface. */
  readonly interfaceAddress: string | undefined;
  /** `[discovery] refresh_interval`: how often the service is queried; records live three times this. */
  readonly refreshIntervalMs: number;
  readonly logger: Logger;
  /** The refresh timer's clock; default `backgroundClock`. */
  readonly clock?: Clock;
  /** The mDNS UDP port (5353); tests may use another to stay apart from the host's responders. */
  readonly port?: number;
}

/**
 * `[discovery] mode = "mdns"`: nodes on the LAN announcing the same service (DNS-SD over
 * multicast DNS, 224.0.0.251 with the `multicast-dns` package). It queries at start and every
 * `refreshIntervalMs`, answers queries for its service once `announce` gave it this node's
 * address, announces itself then, and says goodbye (TTL 0) when it stops. An instance is forgotten
 * when its records expire (TTL: three refresh intervals) or at its goodbye. Anyone on the LAN can
 * announce: the candidates go through mTLS and `tls.allowed_peers` like any other, and the feed
 * drops those refused (docs/design/peer-discovery.md).
 */
export function createMdnsDiscovery(options: MdnsDiscoveryOptions): PeerDiscovery {
  const { service, interfaceAddress, refreshIntervalMs, logger, clock = backgroundClock } = options;
  const ttlSecs = Math.max(1, Math.ceil((3 * refreshIntervalMs) / 1000));
  const set = new CandidateSet(logger);
  const instances = new Map<string, { candidate: PeerCandidate; expiresAtMs: number }>();
  let mdns: MulticastDNS | undefined;
  let self: (PeerCandidate & { nodeId: NodeId }) | undefined;
  let timer: TimerHandle | undefined;
  let lastWarning: string | undefined;

  const publish = (): void => {
    const now = monotonicMs();
    for (const [name, entry] of instances) if (entry.expiresAtMs <= now) instances.delete(name);
    set.replace([...instances.values()].map((entry) => entry.candidate));
  };

  const query = (): void => {
    mdns?.query({ questions: [{ name: service, type: "PTR" }] });
    publish();
  };

  const respond = (ttl: number): Promise<void> =>
    new Promise((resolve) => {
      if (mdns === undefined || self === undefined) return resolve();
      const [ptr, ...additionals] = announcementRecords(service, self, ttl);
      mdns.respond({ answers: [ptr], additionals }, () => resolve());
    });

  const onResponse = (
    response: { answers?: MdnsRecord[]; additionals?: MdnsRecord[] },
    rinfo: RemoteInfo,
  ): void => {
    const records = [...(response.answers ?? []), ...(response.additionals ?? [])];
    const found = instancesInResponse(service, records, rinfo.address);
    if (found.length === 0) return;
    const now = monotonicMs();
    for (const { instance, candidate, ttlSecs: ttl } of found) {
      if (ttl === 0) instances.delete(instance);
      else instances.set(instance, { candidate, expiresAtMs: now + ttl * 1000 });
    }
    publish();
  };

  const onQuery = (packet: { questions?: { name: string; type: string }[] }): void => {
    const asked = (packet.questions ?? []).some(
      (q) => q.name.toLowerCase() === service.toLowerCase() && (q.type === "PTR" || q.type === "ANY"),
    );
    if (asked) void respond(ttlSecs);
  };

  const warn = (error: Error): void => {
    const message = `mdns: ${describeError(error)}`;
    if (message !== lastWarning) logger.warn(message);
    lastWarning = message;
  };

  return {
    name: "mdns",
    async start() {
      const { default: makeMdns } = await import("multicast-dns");
      // Bound to 0.0.0.0 always: a socket bound to the interface's unicast address never matches
      // a packet sent to 224.0.0.251. `interface` sets the membership and the outgoing interface.
      const socket = makeMdns({
        bind: "0.0.0.0",
        port: options.port ?? 5353,
        ...(interfaceAddress === undefined ? {} : { interface: interfaceAddress }),
      });
      await new Promise<void>((resolve, reject) => {
        socket.once("ready", resolve);
        socket.once("error", reject);
      });
      socket.on("error", warn);
      socket.on("warning", warn);
      socket.on("response", onResponse);
      socket.on("query", onQuery);
      mdns = socket;
      query();
      timer = clock.setInterval(query, refreshIntervalMs);
    },
    async stop() {
      clock.clearTimeout(timer);
      set.close();
      const socket = mdns;
      if (socket === undefined) return;
      await respond(0).catch(() => {});
      mdns = undefined;
      await new Promise<void>((resolve) => socket.destroy(() => resolve()));
    },
    discover: () => set.discover(),
    async announce(candidate) {
      set.setSelf(candidate);
      if (candidate.nodeId === undefined) return;
      self = { address: candidate.address, nodeId: candidate.nodeId };
      await respond(ttlSecs);
    },
    watch: (listener) => set.watch(listener),
  };
}
