import type { KnownPeers } from "../discovery/known-peers.ts";
import type { NodeId } from "../identity/node-id.ts";
import { MembershipService, type MembershipServiceOptions } from "../membership/membership-service.ts";
import { isUnspecifiedHost, parseHostPort } from "../net/host-port.ts";

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

/** The N of the K-fanout: members alive or suspect, this node included. */
export function liveMemberCount(membership: MembershipService): number {
  return membership.members().filter((m) => m.state === "alive" || m.state === "suspect").length;
}
