/**
 * The dns-srv discovery against a DNS server on 127.0.0.1 (test/discovery/local-dns-server.ts):
 * the contract, NXDOMAIN as an empty set, SERVFAIL keeping the last set, and targets resolved
 * through the same server.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createDnsSrvDiscovery } from "../../src/discovery/dns-srv-discovery.ts";
import { describePeerDiscoveryContract } from "../../src/discovery/peer-discovery.contract.ts";
import type { PeerCandidate } from "../../src/discovery/peer-discovery.ts";
import { parseHostPort } from "../../src/net/host-port.ts";
import { silentLogger } from "../../src/observe/logger.ts";
import { type LocalDnsServer, startLocalDnsServer } from "./local-dns-server.ts";

const NAME = "_numax._tcp.cluster.test";
const REFRESH_MS = 200;

/** Publishes `candidates` as SRV records of NAME, each with a target host of its own resolving to its IP. */
function publish(server: LocalDnsServer, candidates: readonly PeerCandidate[]): void {
  server.zone.srv.set(
    NAME,
    candidates.map((candidate, i) => {
      const { host, port } = parseHostPort(candidate.address);
      server.zone.a.set(`node-${i}.cluster.test`, [host]);
      return { target: `node-${i}.cluster.test`, port };
    }),
  );
}

describePeerDiscoveryContract(
  "dns-srv",
  async (initial) => {
    const server = await startLocalDnsServer();
    publish(server, initial);
    return {
      discovery: createDnsSrvDiscovery({
        name: NAME,
        server: server.address,
        refreshIntervalMs: REFRESH_MS,
        logger: silentLogger,
      }),
      change: async (candidates) => publish(server, candidates),
      breakSource: async () => {
        server.failing = true;
      },
      cleanup: () => server.close(),
    };
  },
  { noticeMs: REFRESH_MS },
);

test("a name without records is an empty set; a failing server keeps the last set with one warning", async () => {
  const server = await startLocalDnsServer();
  const warnings: string[] = [];
  const discovery = createDnsSrvDiscovery({
    name: NAME,
    server: server.address,
    refreshIntervalMs: 60_000,
    logger: { ...silentLogger, warn: (message: string) => warnings.push(message) },
  });
  try {
    await discovery.start();
    assert.deepEqual(discovery.discover(), [], "NXDOMAIN");
    assert.equal(warnings.length, 0);
    await discovery.stop();

    publish(server, [{ address: "127.0.0.7:9000" }, { address: "127.0.0.8:9001" }]);
    server.zone.srv.get(NAME)!.push({ target: "unresolvable.cluster.test", port: 9002 });
    const again = createDnsSrvDiscovery({
      name: NAME,
      server: server.address,
      refreshIntervalMs: 100,
      logger: { ...silentLogger, warn: (message: string) => warnings.push(message) },
    });
    await again.start();
    assert.deepEqual(
      again.discover().map((c) => c.address),
      ["127.0.0.7:9000", "127.0.0.8:9001"],
    );
    server.failing = true;
    const deadline = Date.now() + 10_000;
    while (warnings.length === 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0],
      new RegExp(`cannot resolve SRV ${NAME} at ${server.address}: .*keeping the last peers resolved`),
    );
    assert.equal(again.discover().length, 2);
    await again.stop();
  } finally {
    await discovery.stop();
    await server.close();
  }
});
