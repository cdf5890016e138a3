/**
 * The mdns discovery on loopback multicast (127.0.0.1; docs/design/peer-discovery.md says what
 * this machine allows): the contract against a responder that announces and withdraws instances,
 * and the record layout both ways. Skipped, with one line saying why, where multicast on loopback
 * does not work.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import makeMdns from "multicast-dns";
import { createMdnsDiscovery } from "../../src/discovery/mdns-discovery.ts";
import { announcementRecords, instancesInResponse } from "../../src/discovery/mdns-records.ts";
import { describePeerDiscoveryContract } from "../../src/discovery/peer-discovery.contract.ts";
import type { PeerCandidate } from "../../src/discovery/peer-discovery.ts";
import type { NodeId } from "../../src/identity/node-id.ts";
import { silentLogger } from "../../src/observe/logger.ts";
import { multicastUnavailable } from "../helpers/multicast-probe.ts";

const REFRESH_MS = 300;
const nodeIdOf = (i: number): NodeId => (i + 1).toString(16).padStart(32, "a") as NodeId;
let services = 0;

/** Another node's responder on 127.0.0.1, announcing `candidates` under `service` (goodbyes for withdrawn ones). */
function responder(service: string) {
  const mdns = makeMdns({ bind: "0.0.0.0", interface: "127.0.0.1" });
  let current: (PeerCandidate & { nodeId: NodeId })[] = [];
  const records = (ttl: number, of = current) => of.flatMap((c) => announcementRecords(service, c, ttl));
  const send = (ttl: number, of = current) =>
    new Promise<void>((resolve) =>
      of.length === 0 ? resolve() : mdns.respond({ answers: records(ttl, of) }, () => resolve()),
    );
  mdns.on("query", (query) => {
    if (query.questions.some((q) => q.name === service)) void send(30);
  });
  return {
    async set(candidates: readonly PeerCandidate[]) {
      const next = candidates.map((c, i) => ({ address: c.address, nodeId: c.nodeId ?? nodeIdOf(i) }));
      const gone = current.filter((c) => !next.some((n) => n.nodeId === c.nodeId && n.address === c.address));
      await send(0, gone);
      current = next;
      await send(30);
    },
    close: () => new Promise<void>((resolve) => mdns.destroy(() => resolve())),
  };
}

const unavailable = await multicastUnavailable("127.0.0.1");
if (unavailable !== undefined) {
  test("mdns discovery", { skip: `this machine refuses multicast on loopback: ${unavailable}` }, () => {});
} else {
  describePeerDiscoveryContract(
    "mdns",
    async (initial) => {
      const service = `_nxc${process.pid}x${services++}._tcp.local`;
      const peer = responder(service);
      await peer.set(initial);
      return {
        discovery: createMdnsDiscovery({
          service,
          interfaceAddress: "127.0.0.1",
          refreshIntervalMs: REFRESH_MS,
          logger: silentLogger,
        }),
        change: (candidates) => peer.set(candidates),
        cleanup: () => peer.close(),
      };
    },
    { noticeMs: REFRESH_MS },
  );

  test("a node's announcement reaches another node's discovery with its NodeId, and its goodbye removes it", async () => {
    const service = `_nxg${process.pid}._tcp.local`;
    const options = {
      service,
      interfaceAddress: "127.0.0.1",
      refreshIntervalMs: 60_000,
      logger: silentLogger,
    };
    const a = createMdnsDiscovery(options);
    const b = createMdnsDiscovery(options);
    await a.start();
    await b.start();
    const found = new Promise((resolve) => b.watch(resolve));
    await a.announce({ address: "127.0.0.1:9301", nodeId: nodeIdOf(1) });
    await found;
    assert.deepEqual(b.discover(), [{ address: "127.0.0.1:9301", nodeId: nodeIdOf(1) }]);
    const gone = new Promise((resolve) => b.watch(resolve));
    await a.stop();
    await gone;
    assert.deepEqual(b.discover(), []);
    await b.stop();
  });
}

test("mdns records: an announcement parses back; no A record means the packet's source address", () => {
  const service = "_numax._tcp.local";
  const self = { address: "192.168.1.7:9000", nodeId: nodeIdOf(7) };
  assert.deepEqual(instancesInResponse(service, announcementRecords(service, self, 90), "10.9.9.9"), [
    { instance: `${self.nodeId}.${service}`, candidate: self, ttlSecs: 90 },
  ]);
  const wildcard = announcementRecords(service, { address: "0.0.0.0:9000", nodeId: self.nodeId }, 0);
  assert.equal(wildcard.length, 3, "PTR, SRV, TXT; no A for 0.0.0.0");
  assert.deepEqual(instancesInResponse(service, wildcard, "10.9.9.9"), [
    {
      instance: `${self.nodeId}.${service}`,
      candidate: { address: "10.9.9.9:9000", nodeId: self.nodeId },
      ttlSecs: 0,
    },
  ]);
  assert.deepEqual(instancesInResponse("_other._tcp.local", wildcard, "10.9.9.9"), [], "another service");
  const later = wildcard.map((r) =>
    r.type === "TXT" ? { ...r, data: [`nodeid=${self.nodeId}`, "v=2"] } : r,
  );
  assert.deepEqual(instancesInResponse(service, later, "10.9.9.9"), [], "a TXT layout of another version");
});
