import { ERR_INTERNAL, ERR_SYNC_DISABLED } from "./abi-codes.ts";
import type { AbiContext } from "./abi-context.ts";
import { outputPointer } from "./guest-input.ts";
import { writeBytes, writeRecords } from "./guest-output.ts";

const utf8 = new TextEncoder();

/**
 * `net_node_id` writes the node's NodeId as its 32 lowercase hex characters; `net_peers` the
 * connected peers as `u32 count`, then per peer `u32 addr_len, u32 node_id_len, addr, node_id`
 * (address as `host:port` text, NodeId as 32 hex characters). Both answer -5 without sync, -3
 * when the module's policy does not grant `net.peers`.
 */
export function createNetImports(ctx: AbiContext): Record<string, (...args: never[]) => number> {
  const { env, views } = ctx;
  return {
    net_node_id: ctx.guard("net_node_id", (outPtr: number, outCap: number) => {
      const host = env.crdt;
      if (host === undefined) return ERR_SYNC_DISABLED;
      if (env.policy?.allowsSwitch("net_node_id", "net.peers") === false) return ERR_INTERNAL;
      const memory = views.bytes();
      const out = outputPointer(memory, outPtr, outCap);
      return writeBytes(memory, views.data(), out, outCap >>> 0, utf8.encode(host.nodeId()));
    }),
    net_peers: ctx.guard("net_peers", (outPtr: number, outCap: number) => {
      const host = env.crdt;
      if (host === undefined) return ERR_SYNC_DISABLED;
      if (env.policy?.allowsSwitch("net_peers", "net.peers") === false) return ERR_INTERNAL;
      const memory = views.bytes();
      const out = outputPointer(memory, outPtr, outCap);
      const peers = host.peers().map((peer) => [utf8.encode(peer.address), utf8.encode(peer.nodeId)]);
      return writeRecords(memory, views.data(), out, outCap >>> 0, peers, "lengths-first");
    }),
  };
}
