// This node's sync identity and connected peers. Both answer ERR_SYNC_DISABLED on a node that
// runs without sync; `syncEnabled()` asks without failing.
//
//   if (net.syncEnabled()) log.info(`node ${net.nodeId()} with ${net.peers().length} peers`);

import { net_node_id, net_peers } from "./abi";
import { ErrorCode, succeeded } from "./error";
import { outputPtr, outputText, readOutput } from "./output-buffer";
import { OutputReader } from "./output-reader";

/** A connected sync peer. */
export class Peer {
  constructor(
    /** Its network address, e.g. "127.0.0.1:9001". */
    public address: string,
    /** Its NodeId (32 lowercase hex characters with TLS). */
    public nodeId: string,
  ) {}
}

/** Whether this node runs with sync (replicated CRDTs and peers). Never fails. */
export function syncEnabled(): bool {
  return readOutput((outPtr: usize, outCap: usize): i32 => net_node_id(outPtr, outCap)) != ErrorCode.SyncDisabled;
}

/** This node's NodeId. */
export function nodeId(): string {
  const n = readOutput((outPtr: usize, outCap: usize): i32 => net_node_id(outPtr, outCap));
  return succeeded(n, "net.nodeId", 0) ? outputText(n) : "";
}

/** The peers this node is connected to now. */
export function peers(): Peer[] {
  const n = readOutput((outPtr: usize, outCap: usize): i32 => net_peers(outPtr, outCap));
  const result = new Array<Peer>(0);
  if (!succeeded(n, "net.peers", 0)) return result;
  // u32 count, then per peer u32 addr_len, u32 node_id_len, addr, node_id.
  const reader = new OutputReader(outputPtr(), n);
  const count = reader.u32();
  for (let i: u32 = 0; i < count; i++) {
    const addressLength = reader.u32();
    const nodeIdLength = reader.u32();
    const address = reader.text(addressLength);
    result.push(new Peer(address, reader.text(nodeIdLength)));
  }
  return result;
}
