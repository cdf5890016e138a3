import assert from "node:assert/strict";
import { test } from "node:test";
import type { NodeId } from "../identity/node-id.ts";
import { silentLogger } from "../observe/logger.ts";
import { createBootstrapDiscovery } from "./bootstrap-discovery.ts";
import { KNOWN_PEERS_MAX, KnownPeers } from "./known-peers.ts";
import { describePeerDiscoveryContract } from "./peer-discovery.contract.ts";
import type { PeerCandidate } from "./peer-discovery.ts";

const nodeIdOf = (i: number): NodeId => i.toString(16).padStart(32, "0") as NodeId;

/** Makes the book hold exactly `candidates` (each under a NodeId of its own). */
function teach(known: KnownPeers, candidates: readonly PeerCandidate[]): void {
  for (const { address } of known.candidates()) known.forgetAddress(address);
  known.learn(candidates.map((c, i) => ({ nodeId: c.nodeId ?? nodeIdOf(i + 1), address: c.address })));
}

describePeerDiscoveryContract(
  "bootstrap (learned addresses)",
  async (initial) => {
    const known = new KnownPeers();
    teach(known, initial);
    return {
      discovery: createBootstrapDiscovery({ seeds: [], known, logger: silentLogger }),
      change: async (candidates) => teach(known, candidates),
      cleanup: async () => {},
    };
  },
  { noticeMs: 0 },
);

describePeerDiscoveryContract(
  "bootstrap (seeds)",
  async (initial) => ({
    discovery: createBootstrapDiscovery({
      seeds: initial.map((c) => c.address),
      known: new KnownPeers(),
      logger: silentLogger,
    }),
    cleanup: async () => {},
  }),
  { noticeMs: 0 },
);

test("seeds stay candidates whatever the book forgets; a NodeId announced again replaces its address", async () => {
  const known = new KnownPeers();
  const discovery = createBootstrapDiscovery({ seeds: ["10.0.0.1:9000"], known, logger: silentLogger });
  await discovery.start();
  known.learn([{ nodeId: nodeIdOf(2), address: "10.0.0.2:9000" }]);
  known.learn([{ nodeId: nodeIdOf(2), address: "10.0.0.2:9001" }]);
  assert.deepEqual(
    discovery.discover().map((c) => c.address),
    ["10.0.0.1:9000", "10.0.0.2:9001"],
  );
  known.forgetAddress("10.0.0.2:9001");
  known.forgetAddress("10.0.0.1:9000");
  assert.deepEqual(
    discovery.discover().map((c) => c.address),
    ["10.0.0.1:9000"],
  );
  await discovery.stop();
});

test("the book keeps at most KNOWN_PEERS_MAX addresses, forgetting the least recently announced", () => {
  const known = new KnownPeers();
  for (let i = 1; i <= KNOWN_PEERS_MAX + 2; i++)
    known.learn([{ nodeId: nodeIdOf(i), address: `10.0.${i >> 8}.${i & 255}:9000` }]);
  assert.equal(known.candidates().length, KNOWN_PEERS_MAX);
  assert.equal(known.addressOf(nodeIdOf(1)), undefined);
  assert.equal(known.addressOf(nodeIdOf(2)), undefined);
  assert.equal(known.addressOf(nodeIdOf(3)), "10.0.0.3:9000");
});
