import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { examplePath, freePort, nxCert, startNx, tempDir } from "../helpers/nx-process.ts";
import { datastoreOf, syncNodeTracker } from "../helpers/sync-node.ts";

/**
 * docs/security.md, step 5, as a user runs it: an intruder with a certificate from another CA,
 * and a stranger with a certificate from the cluster's CA but outside the allowlist, each dial a
 * cluster node. Both sides log one line saying why, and the intruder's one-shot `nx run` exits 1
 * with an `nx: error:` line instead of 0 and a warning about its datastore.
 */

const COUNTER = examplePath("distributed_counter");
const root = tempDir("nx-hostile-intruder-");
const nodes = syncNodeTracker();
after(async () => {
  await nodes.stopAll();
  root.remove();
});

/**
 * Step 5's command line: dial node1 only, sync for 2 s, print the counter. Once refused for a
 * reason a retry does not fix, it does not redial within those 2 s (test/sync/refused-peer.test.ts).
 */
async function intruderRun(certDir: string, datastore: string, node1Port: number) {
  const nx = startNx([
    "run",
    COUNTER,
    "--datastore-path",
    datastore,
    "--listen",
    `127.0.0.1:${await freePort()}`,
    "--peer",
    `127.0.0.1:${node1Port}`,
    "--tls-cert",
    join(certDir, "node.crt"),
    "--tls-key",
    join(certDir, "node.key"),
    "--tls-ca",
    join(certDir, "ca.crt"),
    "--reconnect-initial-delay",
    "100ms",
    "--reconnect-max-delay",
    "200ms",
    "--settle-for",
    "2s",
    "--print-gcounter",
    "visits",
  ]);
  const exit = await nx.exited;
  return { exit, stderr: nx.stderr(), stdout: nx.stdout() };
}

/** The node the intruder dialed logged the refusal once. */
function assertOneRefusalLine(stderr: string, refusal: RegExp): void {
  assert.equal(
    stderr.match(new RegExp(`refused inbound connection.*${refusal.source}`, "g"))?.length,
    1,
    stderr,
  );
}

describe("a refused intruder (docs/security.md step 5)", { timeout: 120_000 }, () => {
  const pki = join(root.path, "certs");
  nxCert(["ca", "--out", join(pki, "ca"), "--name", "My cluster CA"]);
  const ids: Record<string, string> = {};
  for (const name of ["node1", "node2", "stranger"]) {
    ids[name] = nxCert(["node", "--ca-dir", join(pki, "ca"), "--name", name, "--out", join(pki, name)])
      .nodeId!;
  }
  nxCert(["ca", "--out", join(pki, "other-ca")]);
  ids.intruder = nxCert([
    "node",
    "--ca-dir",
    join(pki, "other-ca"),
    "--name",
    "intruder",
    "--out",
    join(pki, "intruder"),
  ]).nodeId!;

  test("a certificate from another CA: both sides say so, and the intruder exits 1", async () => {
    const node1 = await nodes.node({
      datastore: datastoreOf(root.path, "node1-a"),
      guest: COUNTER,
      tls: { dir: join(pki, "node1"), allowedPeers: [ids.node2] },
    });
    const run = await intruderRun(join(pki, "intruder"), datastoreOf(root.path, "intruder"), node1.port);
    assert.equal(run.exit.code, 1, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(
        `refused peer ${ids.node1} at 127\\.0\\.0\\.1:${node1.port}: its certificate is not signed by our CA`,
      ),
    );
    assert.match(run.stderr, /nx: error: every configured peer refused this node: refused peer/);
    assert.doesNotMatch(run.stderr, /datastore/, "no warning about a wiped datastore");
    await node1.nx.waitFor(
      /refused inbound connection: TLS with 127\.0\.0\.1:\d+ failed: its certificate is not signed by our CA/,
      5000,
    );
    assertOneRefusalLine(node1.nx.stderr(), /not signed by our CA/);
    await nodes.stop(node1);
  });

  test("a certificate from the cluster's CA outside the allowlist: both sides say so, and it exits 1", async () => {
    const node1 = await nodes.node({
      datastore: datastoreOf(root.path, "node1-b"),
      guest: COUNTER,
      tls: { dir: join(pki, "node1"), allowedPeers: [ids.node2] },
    });
    const run = await intruderRun(join(pki, "stranger"), datastoreOf(root.path, "stranger"), node1.port);
    assert.equal(run.exit.code, 1, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(
        `peer at 127\\.0\\.0\\.1:${node1.port} refused the connection \\(not_authorized\\): peer ${ids.stranger} at 127\\.0\\.0\\.1:\\d+ is not in allowed_peers`,
      ),
    );
    assert.equal(
      run.stderr.match(/WARN .*refused the connection \(not_authorized\)/g)?.length,
      1,
      "one line for the refusal, not one per redial",
    );
    assert.match(run.stderr, /nx: error: every configured peer refused this node/);
    assert.doesNotMatch(run.stderr, /datastore/);
    await node1.nx.waitFor(
      new RegExp(
        `refused inbound connection from 127\\.0\\.0\\.1:\\d+: peer ${ids.stranger} .* is not in allowed_peers`,
      ),
      5000,
    );
    assertOneRefusalLine(node1.nx.stderr(), /is not in allowed_peers/);
    await nodes.stop(node1);
  });
});
