import assert from "node:assert/strict";
import { test } from "node:test";
import { backgroundClock } from "../clock/clock.ts";
import { KnownPeers } from "../discovery/known-peers.ts";
import type { NodeId } from "../identity/node-id.ts";
import type { SessionMessage } from "../net/messages.ts";
import type { WireFeature } from "../net/wire-features.ts";
import { PEER_EXCHANGE_INTERVAL_MS, PeerExchange } from "./peer-exchange.ts";
import type { PeerInfo } from "./peer-manager.ts";

const OWN = "000000000000000000000000000000aa" as NodeId;
const B = "000000000000000000000000000000bb" as NodeId;
const C = "000000000000000000000000000000cc" as NodeId;
const D = "000000000000000000000000000000dd" as NodeId;

function peer(
  nodeId: NodeId,
  address: string,
  outbound: boolean,
  features: WireFeature[] = ["peer-exchange"],
): PeerInfo {
  return { nodeId, address, outbound, announcedVector: new Map(), features };
}

function setup(connected: PeerInfo[], listen = "0.0.0.0:9000") {
  const sent: { to: NodeId; message: SessionMessage<never> }[] = [];
  const known = new KnownPeers();
  const exchange = new PeerExchange(
    OWN,
    {
      connectedPeers: () => connected,
      sendTo: (to, message) => sent.push({ to, message }),
      listenAddress: () => listen,
    },
    known,
    backgroundClock,
  );
  return { exchange, known, sent };
}

test("a sender's own unspecified host becomes the host its connection comes from; others' are dropped, this node's own skipped", () => {
  const { exchange, known } = setup([peer(B, "10.0.0.2:51234", false)]);
  exchange.received(B, [
    { nodeId: B, address: "0.0.0.0:9000" },
    { nodeId: C, address: "10.0.0.3:9000" },
    { nodeId: D, address: "[::]:9000" },
    { nodeId: OWN, address: "10.0.0.1:9000" },
  ]);
  assert.deepEqual(known.candidates(), [
    { nodeId: B, address: "10.0.0.2:9000" },
    { nodeId: C, address: "10.0.0.3:9000" },
  ]);
  exchange.stop();
});

test("a new peer gets this node's and its connected peers' addresses at once, only if it reads them", () => {
  const connected = [peer(B, "10.0.0.2:9000", true), peer(C, "10.0.0.3:40000", false, [])];
  const { exchange, sent } = setup(connected);
  exchange.connected(B);
  exchange.connected(C); // announced no peer-exchange: an older build is never sent one
  assert.deepEqual(sent, [
    {
      to: B,
      message: {
        type: "PeerAddresses",
        peers: [
          { nodeId: OWN, address: "0.0.0.0:9000" },
          { nodeId: B, address: "10.0.0.2:9000" },
        ],
      },
    },
  ]);
  exchange.stop();
});

test("rounds to every peer are coalesced to one per PEER_EXCHANGE_INTERVAL_MS and skipped when nothing changed", async () => {
  const connected = [peer(B, "10.0.0.2:9000", true), peer(C, "10.0.0.3:9000", true)];
  const { exchange, sent } = setup(connected);
  const round = () => new Promise((resolve) => setTimeout(resolve, 5));
  exchange.connected(B); // B at once, a round scheduled now (no round yet)
  exchange.connected(C);
  await round();
  const afterFirst = sent.length;
  assert.deepEqual(
    sent.slice(2).map((s) => s.to),
    [B, C],
    "one round to both",
  );
  exchange.received(B, [{ nodeId: D, address: "10.0.0.4:9000" }]); // D learned, not connected: the list is the same
  await round();
  assert.equal(sent.length, afterFirst, "an unchanged list is not sent again");
  connected.push(peer(D, "10.0.0.4:9000", true));
  exchange.connected(D); // D gets the list at once; B and C wait for the next round
  await round();
  assert.deepEqual(
    sent.slice(afterFirst).map((s) => s.to),
    [D],
  );
  await new Promise((resolve) => setTimeout(resolve, PEER_EXCHANGE_INTERVAL_MS + 50));
  assert.deepEqual(
    sent.slice(afterFirst + 1).map((s) => s.to),
    [B, C, D],
    "one round, a second after the last",
  );
  exchange.stop();
});
