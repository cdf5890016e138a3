import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { guestPath, NX_BIN, nxCert, pollUntil, REPO_ROOT, tempDir } from "../helpers/nx-process.ts";
import { type SyncNode, syncNodeTracker } from "../helpers/sync-node.ts";

const COUNTER = guestPath("counter_loop");

const root = tempDir("nx-snapshot-join-");
const nodes = syncNodeTracker();
after(async () => {
  await nodes.stopAll();
  root.remove();
});

/** `nx ...` as a user runs it: exit code and output. */
function nx(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [NX_BIN, ...args],
      { cwd: REPO_ROOT, timeout: 30_000 },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? -1), stdout, stderr });
      },
    );
  });
}

/** Remote ops the node applied, summed over families (`numax_ops_applied_total{origin="remote"}`). */
async function remoteOpsApplied(node: SyncNode): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  let total = 0;
  for (const match of text.matchAll(/^numax_ops_applied_total\{[^}]*origin="remote"[^}]*\} (\d+)$/gm)) {
    total += Number(match[1]);
  }
  return total;
}

async function converged(node: SyncNode, expected: bigint): Promise<void> {
  const value = await pollUntil(
    () => node.gcounter("hits"),
    (v) => v === expected,
    20_000,
  );
  assert.equal(value, expected, `node ${node.nodeId} sees hits = ${value}`);
}

describe("a new node joins from a peer's exported snapshot (real processes, mTLS)", {
  timeout: 150_000,
}, () => {
  test("it is refused the peer's identity, then syncs only the ops made after the snapshot", async () => {
    const pki = join(root.path, "pki");
    nxCert(["ca", "--out", join(pki, "ca")]);
    for (const name of ["a", "b", "c"]) {
      nxCert(["node", "--ca-dir", join(pki, "ca"), "--name", name, "--out", join(pki, name)]);
    }
    const tls = (name: string) => ({ dir: join(pki, name) });
    // The certificate files the nodes read: `nx cert node --out` writes node.crt/node.key, and
    // the CA's certificate beside them is ca.crt in the CA directory.
    for (const name of ["a", "b", "c"]) assert.ok(existsSync(join(pki, name, "node.crt")));
    const management = ["--management-listen", "127.0.0.1:0"];

    // Node a: one op before the snapshot.
    const storeA = join(root.path, "a");
    let a = await nodes.node({
      datastore: storeA,
      guest: COUNTER,
      tls: tls("a"),
      env: { NX_COUNT: "5" },
      args: management,
    });
    await converged(a, 5n);
    const api = (await a.nx.waitFor(/management: listening url=(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    const connection = ["--node", api, "--token-file", join(storeA, "management.token")];

    const created = await nx(["snapshot", "create", ...connection, "--json"]);
    assert.equal(created.code, 0, created.stderr);
    const entry = JSON.parse(created.stdout) as { id: string; nodeId: string; path: string };
    assert.equal(entry.nodeId, a.nodeId);
    const listed = await nx(["snapshot", "list", ...connection, "--json"]);
    assert.deepEqual(
      (JSON.parse(listed.stdout) as { id: string }[]).map((s) => s.id),
      [entry.id],
    );
    const file = join(root.path, "a.nxsnap");
    const exported = await nx(["snapshot", "export", file, ...connection]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, new RegExp(`^exported snapshot \\S+ of node ${a.nodeId} to `));

    // The snapshot restored by id, through the node; an id it does not have is refused.
    const byId = await nx([
      "snapshot",
      "restore",
      entry.id,
      ...connection,
      "--datastore-path",
      join(root.path, "by-id"),
      "--tls-cert",
      join(pki, "a", "node.crt"),
    ]);
    assert.equal(byId.code, 0, byId.stderr);
    assert.match(byId.stdout, new RegExp(`as node ${a.nodeId}\\n$`));
    const unknown = await nx([
      "snapshot",
      "restore",
      "20000101-000000-000",
      ...connection,
      "--datastore-path",
      join(root.path, "none"),
    ]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^nx: error: the node has no snapshot 20000101-000000-000 \(newest: /);
    // Diagnosis reads a running node's store (read-only), and the restored copy holds the same state.
    const inspected = await nx(["inspect", "hits", "--datastore-path", storeA]);
    assert.match(inspected.stdout, /^hits \(gcounter\) = "5"\n/, inspected.stderr);
    const same = await nx(["diff", storeA, join(root.path, "by-id")]);
    assert.equal(same.code, 0, same.stdout + same.stderr);

    // One more op on a after the snapshot.
    await nodes.stop(a);
    a = await nodes.node({
      datastore: storeA,
      guest: COUNTER,
      tls: tls("a"),
      port: a.port,
      env: { NX_COUNT: "3" },
    });
    await converged(a, 8n);

    // b's certificate is not a's: refused, one line, exit 2, nothing written.
    const storeB = join(root.path, "b");
    const refused = await nx([
      "snapshot",
      "import",
      file,
      "--datastore-path",
      storeB,
      "--tls-cert",
      join(pki, "b", "node.crt"),
    ]);
    assert.equal(refused.code, 2);
    assert.match(
      refused.stderr,
      /^nx: error: .* was taken on node [0-9a-f]{32}, but the certificate given is node [0-9a-f]{32}'s: pass --new-identity/,
    );
    assert.equal(refused.stderr.trimEnd().split("\n").length, 1);
    assert.ok(!existsSync(storeB) || readdirSync(storeB).length === 0);

    const imported = await nx([
      "snapshot",
      "import",
      file,
      "--datastore-path",
      storeB,
      "--tls-cert",
      join(pki, "b", "node.crt"),
      "--new-identity",
    ]);
    assert.equal(imported.code, 0, imported.stderr);
    // A second import into the same datastore is refused: a restore never overwrites a store.
    const again = await nx(["snapshot", "import", file, "--datastore-path", storeB, "--new-identity"]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /is not empty/);

    const b = await nodes.node({
      datastore: storeB,
      guest: COUNTER,
      tls: tls("b"),
      peers: [a.port],
      env: { NX_COUNT: "0" },
    });
    assert.notEqual(b.nodeId, a.nodeId);
    await converged(b, 8n);
    assert.equal(await remoteOpsApplied(b), 1, "b got only the op made after the snapshot");

    // Control: a node without the snapshot gets both ops.
    const c = await nodes.node({
      datastore: join(root.path, "c"),
      guest: COUNTER,
      tls: tls("c"),
      peers: [a.port],
      env: { NX_COUNT: "0" },
    });
    await converged(c, 8n);
    assert.equal(await remoteOpsApplied(c), 2);

    // Offline export of a datastore in use is refused with one line.
    const busy = await nx(["snapshot", "export", join(root.path, "busy.nxsnap"), "--datastore-path", storeA]);
    assert.equal(busy.code, 2, busy.stderr);
    assert.match(busy.stderr, /^nx: error: datastore .* is in use by process \d+/);
    await Promise.all([a, b, c].map((n) => nodes.stop(n)));

    // Offline forms, exactly as tools call them.
    const offline = join(root.path, "a-offline.nxsnap");
    const offlineExport = await nx(["snapshot", "export", offline, "--datastore-path", storeA]);
    assert.equal(offlineExport.code, 0, offlineExport.stderr);
    const restored = join(root.path, "a-restored");
    const offlineImport = await nx([
      "snapshot",
      "import",
      offline,
      "--datastore-path",
      restored,
      "--tls-cert",
      join(pki, "a", "node.crt"),
    ]);
    assert.equal(offlineImport.code, 0, offlineImport.stderr);
    assert.match(offlineImport.stdout, new RegExp(`as node ${a.nodeId}\\n$`));
    assert.ok(readFileSync(offline).length > 0);
  });
});
