import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { NodeId } from "../identity/node-id.ts";
import type { PeerCandidate, PeerDiscovery } from "./peer-discovery.ts";

/** One implementation under test, with a way to change what its source says. */
export interface DiscoveryFixture {
  readonly discovery: PeerDiscovery;
  /**
   * Makes the source say `candidates` from now on (write the file, change the DNS zone, announce
   * from another responder, teach the address book); absent for a fixed source (static).
   */
  readonly change?: (candidates: readonly PeerCandidate[]) => Promise<void>;
  /** Breaks the source (an oversized file, a DNS server answering SERVFAIL); absent when there is none to break. */
  readonly breakSource?: () => Promise<void>;
  /** Stops whatever the fixture runs besides the discovery (servers, responders, files). */
  cleanup(): Promise<void>;
}

export interface DiscoveryContractOptions {
  /** How long the mechanism may take to notice a change of its source (a refresh or two). */
  readonly noticeMs: number;
}

const A = "127.0.0.1:9101";
const B = "127.0.0.1:9102";
const C = "127.0.0.1:9103";
const SELF_NODE_ID = "5e1f5e1f5e1f5e1f5e1f5e1f5e1f5e1f" as NodeId;

const addresses = (candidates: readonly PeerCandidate[]): string[] => candidates.map((c) => c.address).sort();

/**
 * The PeerDiscovery contract (peer-discovery.ts), run by every implementation. `open(initial)`
 * builds a fresh, unstarted discovery whose source says `initial`.
 *
 * @example
 * describePeerDiscoveryContract("static", async (initial) => ({
 *   discovery: createStaticDiscovery(initial.map((c) => c.address)),
 *   cleanup: async () => {},
 * }), { noticeMs: 0 });
 */
export function describePeerDiscoveryContract(
  name: string,
  open: (initial: readonly PeerCandidate[]) => Promise<DiscoveryFixture>,
  options: DiscoveryContractOptions,
): void {
  async function withDiscovery(
    initial: readonly PeerCandidate[],
    body: (fixture: DiscoveryFixture) => Promise<void>,
  ): Promise<void> {
    const fixture = await open(initial);
    try {
      await body(fixture);
    } finally {
      await fixture.discovery.stop();
      await fixture.cleanup();
    }
  }

  /** Resolves once `discover()` reports `expected` (addresses), or fails after a few notice periods. */
  async function reports(discovery: PeerDiscovery, expected: readonly string[]): Promise<void> {
    const deadline = Date.now() + 5 * options.noticeMs + 2000;
    while (JSON.stringify(addresses(discovery.discover())) !== JSON.stringify([...expected].sort())) {
      if (Date.now() > deadline) {
        assert.deepEqual(addresses(discovery.discover()), [...expected].sort(), "the discovery's set");
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  describe(`PeerDiscovery contract: ${name}`, () => {
    it("reports its source's candidates once started, each address once", () =>
      withDiscovery([{ address: A }, { address: B }, { address: A }], async ({ discovery }) => {
        assert.equal(typeof discovery.name, "string");
        await discovery.start();
        await reports(discovery, [A, B]);
      }));

    it("never reports the address it was told is this node's own", () =>
      withDiscovery([{ address: A }, { address: B }], async ({ discovery }) => {
        await discovery.start();
        await discovery.announce({ address: A, nodeId: SELF_NODE_ID });
        await reports(discovery, [B]);
      }));

    it("hands every change to watch as the whole new set, until unsubscribed", () =>
      withDiscovery([{ address: A }], async ({ discovery, change }) => {
        if (change === undefined) return; // a fixed source never changes
        await discovery.start();
        await reports(discovery, [A]);
        const seen: string[][] = [];
        const unwatch = discovery.watch((candidates) => seen.push(addresses(candidates)));
        await change([{ address: B }, { address: C }]);
        await reports(discovery, [B, C]);
        assert.deepEqual(seen.at(-1), [B, C], "the last set watch saw");
        unwatch();
        const calls = seen.length;
        await change([{ address: A }]);
        await reports(discovery, [A]);
        assert.equal(seen.length, calls, "no call after unsubscribing");
      }));

    it("keeps its last good set while its source is broken", () =>
      withDiscovery([{ address: A }, { address: B }], async ({ discovery, breakSource }) => {
        if (breakSource === undefined) return; // nothing to break
        await discovery.start();
        await reports(discovery, [A, B]);
        await breakSource();
        await new Promise((resolve) => setTimeout(resolve, 2 * options.noticeMs));
        assert.deepEqual(addresses(discovery.discover()), [A, B]);
      }));

    it("stops idempotently, and calls no watcher after stopping", () =>
      withDiscovery([{ address: A }], async ({ discovery, change }) => {
        await discovery.start();
        let calls = 0;
        discovery.watch(() => calls++);
        await discovery.stop();
        await discovery.stop();
        if (change !== undefined) {
          await change([{ address: B }]);
          await new Promise((resolve) => setTimeout(resolve, 2 * options.noticeMs));
        }
        assert.equal(calls, 0);
      }));
  });
}
