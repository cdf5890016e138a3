import assert from "node:assert/strict";
import { test } from "node:test";
import type { NodeId } from "../identity/node-id.ts";
import { silentLogger } from "../observe/logger.ts";
import { CandidateSet, DISCOVERY_CANDIDATES_MAX } from "./candidate-set.ts";
import { DiscoveryFeed } from "./discovery-feed.ts";
import type { PeerCandidate, PeerDiscovery } from "./peer-discovery.ts";

const OWN = "0000000000000000000000000000000a" as NodeId;
const ALLOWED = "0000000000000000000000000000000b" as NodeId;
const STRANGER = "0000000000000000000000000000000c" as NodeId;

/** A discovery whose set the test sets, and the sink's calls in order. */
function setup(options: { dropRefused: boolean; allowedPeers?: NodeId[] }) {
  const set = new CandidateSet(silentLogger);
  const discovery: PeerDiscovery = {
    name: "mdns",
    start: async () => {},
    stop: async () => set.close(),
    discover: () => set.discover(),
    announce: async (self) => set.setSelf(self),
    watch: (listener) => set.watch(listener),
  };
  const calls: string[] = [];
  const feed = new DiscoveryFeed({
    discovery,
    sink: {
      addCandidate: (address, source) => calls.push(`add ${address} ${source}`),
      removeCandidate: (address, source) => calls.push(`remove ${address} ${source}`),
    },
    ownNodeId: OWN,
    allowedPeers: options.allowedPeers,
    dropRefused: options.dropRefused,
    logger: silentLogger,
  });
  return { report: (candidates: PeerCandidate[]) => set.replace(candidates), feed, calls };
}

test("additions and removals follow the sets, under the discovery's name", () => {
  const { report, feed, calls } = setup({ dropRefused: false });
  report([{ address: "10.0.0.1:9000" }]);
  feed.start();
  report([{ address: "10.0.0.1:9000" }, { address: "10.0.0.2:9000" }]);
  report([{ address: "10.0.0.2:9000" }]);
  feed.stop();
  report([]);
  assert.deepEqual(calls, ["add 10.0.0.1:9000 mdns", "add 10.0.0.2:9000 mdns", "remove 10.0.0.1:9000 mdns"]);
});

test("a NodeId hint of this node, or outside a non-empty allowlist, is not dialled", () => {
  const { report, feed, calls } = setup({ dropRefused: true, allowedPeers: [ALLOWED] });
  feed.start();
  report([
    { address: "10.0.0.1:9000", nodeId: OWN },
    { address: "10.0.0.2:9000", nodeId: ALLOWED },
    { address: "10.0.0.3:9000", nodeId: STRANGER },
    { address: "10.0.0.4:9000" },
  ]);
  assert.deepEqual(calls, ["add 10.0.0.2:9000 mdns", "add 10.0.0.4:9000 mdns"]);
});

test("with dropRefused, a refused candidate is removed and ignored until it leaves discovery and comes back", () => {
  const { report, feed, calls } = setup({ dropRefused: true });
  feed.start();
  report([{ address: "10.0.0.1:9000" }, { address: "10.0.0.2:9000" }]);
  feed.refused("10.0.0.1:9000", "not authorized");
  feed.refused("10.0.0.9:9000", "not one of ours: nothing to do");
  report([{ address: "10.0.0.1:9000" }, { address: "10.0.0.2:9000" }, { address: "10.0.0.3:9000" }]);
  report([{ address: "10.0.0.2:9000" }, { address: "10.0.0.3:9000" }]);
  report([{ address: "10.0.0.1:9000" }, { address: "10.0.0.2:9000" }, { address: "10.0.0.3:9000" }]);
  assert.deepEqual(calls, [
    "add 10.0.0.1:9000 mdns",
    "add 10.0.0.2:9000 mdns",
    "remove 10.0.0.1:9000 mdns",
    "add 10.0.0.3:9000 mdns",
    "add 10.0.0.1:9000 mdns",
  ]);
});

test("without dropRefused, a refused candidate stays (an operator's list is redialled like --peer)", () => {
  const { report, feed, calls } = setup({ dropRefused: false });
  feed.start();
  report([{ address: "10.0.0.1:9000" }]);
  feed.refused("10.0.0.1:9000", "not authorized");
  assert.deepEqual(calls, ["add 10.0.0.1:9000 mdns"]);
});

test("a set is bounded by DISCOVERY_CANDIDATES_MAX, sorted, and a rotated answer is no change", () => {
  const set = new CandidateSet(silentLogger);
  let changes = 0;
  set.watch(() => changes++);
  const many = Array.from({ length: DISCOVERY_CANDIDATES_MAX + 5 }, (_, i) => ({
    address: `10.0.${i >> 8}.${i & 255}:9000`,
  }));
  set.replace(many);
  assert.equal(set.discover().length, DISCOVERY_CANDIDATES_MAX);
  set.replace([{ address: "10.0.0.2:9000" }, { address: "10.0.0.1:9000" }]);
  set.replace([{ address: "10.0.0.1:9000" }, { address: "10.0.0.2:9000" }]);
  assert.deepEqual(
    set.discover().map((c) => c.address),
    ["10.0.0.1:9000", "10.0.0.2:9000"],
  );
  assert.equal(changes, 2);
});
