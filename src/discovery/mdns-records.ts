import { isIP } from "node:net";
import type { ResponsePacket } from "multicast-dns";
import { isNodeId, type NodeId } from "../identity/node-id.ts";
import { formatHostPort, parseHostPort } from "../net/host-port.ts";
import type { PeerCandidate } from "./peer-discovery.ts";

/** The default `[discovery] mdns_service`: the DNS-SD service type Numax nodes announce. */
export const MDNS_SERVICE_DEFAULT = "_numax._tcp.local";

/** The version of the TXT record layout (`v=1`); a later layout gets another value. */
const MDNS_TXT_VERSION = "1";

/** One DNS record of an mDNS packet (dns-packet's shape, as multicast-dns decodes and encodes it). */
export type MdnsRecord = ResponsePacket["answers"][number];

/** What one instance of the service says about itself, as parsed from a response. */
export interface MdnsInstance {
  /** `<nodeId>.<service>`. */
  readonly instance: string;
  readonly candidate: PeerCandidate;
  /** Seconds the records live; 0 is a goodbye (the node left). */
  readonly ttlSecs: number;
}

/**
 * The records announcing this node (RFC 6763 DNS-SD over RFC 6762 mDNS): PTR service → instance,
 * SRV instance → `<nodeId>.local:port`, TXT `nodeid=…` `v=1`, and an A record for the host when the
 * node listens on a specific IPv4 address (else receivers dial the address the packet came from).
 */
export function announcementRecords(
  service: string,
  self: PeerCandidate & { nodeId: NodeId },
  ttlSecs: number,
): MdnsRecord[] {
  const { host, port } = parseHostPort(self.address);
  const instance = `${self.nodeId}.${service}`;
  const target = `${self.nodeId}.local`;
  const records: MdnsRecord[] = [
    { name: service, type: "PTR", ttl: ttlSecs, data: instance },
    { name: instance, type: "SRV", ttl: ttlSecs, data: { port, target, priority: 0, weight: 0 } },
    { name: instance, type: "TXT", ttl: ttlSecs, data: [`nodeid=${self.nodeId}`, `v=${MDNS_TXT_VERSION}`] },
  ];
  if (isIP(host) === 4 && host !== "0.0.0.0")
    records.push({ name: target, type: "A", ttl: ttlSecs, data: host });
  return records;
}

/**
 * The instances of `service` a response announces, with the address to dial: the A record of the
 * SRV target when the response carries one, else `sourceAddress` (where the packet came from).
 * Records of other services, an instance without an SRV, and TXT layouts of another version are
 * ignored; untrusted input never throws.
 */
export function instancesInResponse(
  service: string,
  records: readonly MdnsRecord[],
  sourceAddress: string,
): MdnsInstance[] {
  const instances: MdnsInstance[] = [];
  for (const ptr of records) {
    if (
      ptr.type !== "PTR" ||
      ptr.name.toLowerCase() !== service.toLowerCase() ||
      typeof ptr.data !== "string"
    )
      continue;
    const instance = ptr.data;
    const srv = records.find((r) => r.type === "SRV" && r.name === instance);
    if (srv?.type !== "SRV" || srv.data.port === 0) continue;
    const txt = records.find((r) => r.type === "TXT" && r.name === instance);
    const fields = txt?.type === "TXT" ? txtFields(txt.data) : new Map<string, string>();
    const version = fields.get("v");
    if (version !== undefined && version !== MDNS_TXT_VERSION) continue;
    const nodeId = fields.get("nodeid");
    const a = records.find((r) => r.type === "A" && r.name === srv.data.target);
    const host = a?.type === "A" && typeof a.data === "string" ? a.data : sourceAddress;
    instances.push({
      instance,
      candidate: {
        address: formatHostPort(host, srv.data.port),
        ...(nodeId !== undefined && isNodeId(nodeId) ? { nodeId } : {}),
      },
      ttlSecs: Math.min(ptr.ttl ?? 0, srv.ttl ?? 0),
    });
  }
  return instances;
}

function txtFields(data: unknown): Map<string, string> {
  const fields = new Map<string, string>();
  const entries = Array.isArray(data) ? data : [data];
  for (const entry of entries) {
    const text =
      typeof entry === "string"
        ? entry
        : entry instanceof Uint8Array
          ? Buffer.from(entry).toString("utf8")
          : "";
    const eq = text.indexOf("=");
    if (eq > 0) fields.set(text.slice(0, eq).toLowerCase(), text.slice(eq + 1));
  }
  return fields;
}
