import type { KnownPeers } from "../discovery/known-peers.ts";
import type { NodeId } from "../identity/node-id.ts";
import { MembershipService, type MembershipServiceOptions } from "../membership/membership-service.ts";
import { isUnspecifiedHost, parseHostPort } from "../net/host-port.ts";
import { PEER_ADDRESSES_MAX, type PeerAddressesMessage } from "../net/messages.ts";

type PeerAddresses = PeerAddressesMessage["peers"];

/**
 * A node's membership as `SyncService` and the whole-node simulator both build it: the
 * MembershipService over the peer connections, whose members' listen addresses feed the address
 * book the bootstrap discovery dials from, and whose departed leave it (a seed stays a candidate
 * whatever membership says). The caller still routes the peer manager's connections and
 * membership messages to it and starts it.
 *
 * @example
 * const membership = createNodeMembership({ self, swim: DEFAULT_SWIM_OPTIONS, peers, clock, random, logger }, known);
 */
export function createNodeMembership(
  options: MembershipServiceOptions,
  known: KnownPeers,
): MembershipService {
  const membership = new MembershipService(options);
  membership.onChange(({ member }) => {
    if (member.address === undefined || isUnspecifiedHost(parseHostPort(member.address).host)) return;
    if (member.state === "alive") known.learn([{ nodeId: member.nodeId as NodeId, address: member.address }]);
    else if (member.state === "dead" || member.state === "left") known.forgetAddress(member.address);
  });
  return membership;
}

/**
 * Where dead members listened (not those that left: they stopped on purpose). With a bound on
 * connections the peer manager dials one of them now and then: after a partition heals, that is
 * how the halves, which declared each other dead, meet again.
 */
export function departedAddresses(membership: MembershipService): string[] {
  const addresses: string[] = [];
  for (const member of membership.members()) {
    if (member.state !== "dead" || member.address === undefined) continue;
    if (!isUnspecifiedHost(parseHostPort(member.address).host)) addresses.push(member.address);
  }
  return addresses;
}

/**
 * Where a peer refused for lack of room is sent (with a bound on connections): `entries` (this
 * node's own address and its peers', peer exchange's list), then the other alive members' listen
 * addresses, up to PEER_ADDRESSES_MAX. A node that joins through a full seed learns the cluster
 * from the refusal instead of waiting to be let in.
 */
export function redirectEntries(entries: PeerAddresses, membership: MembershipService): PeerAddresses {
  const listed = new Set(entries.map((entry) => entry.nodeId));
  const all = [...entries];
  for (const member of membership.members()) {
    if (all.length >= PEER_ADDRESSES_MAX) break;
    if (member.state !== "alive" || member.address === undefined || listed.has(member.nodeId as NodeId))
      continue;
    if (isUnspecifiedHost(parseHostPort(member.address).host)) continue;
    all.push({ nodeId: member.nodeId as NodeId, address: member.address });
  }
  return all;
}

/** The N of the K-fanout: members alive or suspect, this node included. */
export function liveMemberCount(membership: MembershipService): number {
  return membership.members().filter((m) => m.state === "alive" || m.state === "suspect").length;
}
