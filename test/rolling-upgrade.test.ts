/**
 * A rolling upgrade from the previous release (Numax 0.1.0, its CLI bundle committed in
 * test/fixtures/releases/0.1.0/, reproduced by scripts/build-release-fixture.ts) to this build,
 * with real processes, mTLS, TCP and LMDB. Three 0.1.0 nodes write and sync; then one at a time
 * each is stopped and started on this build on the same datastore and certificate (its store is
 * migrated from format 0), while the others keep writing. While the cluster is mixed, ops go both
 * ways between old and new nodes; at the end every node runs this build and holds every op any
 * node had acknowledged. docs/design/compatibility.md (the wire matrix and "Upgrading a cluster").
 *
 * Each node runs 0.1.0's load guest (the same .wasm on both builds, as an operator's module would
 * be) incrementing a GCounter of its own key at a steady rate, resuming from the count its store
 * holds. An increment counts as acknowledged once a peer has it: a node sends an op only once it
 * is durable (CHANGELOG 0.1.0, Safety), so the highest count of a node's key seen on any other
 * node is a floor for what that node must still hold after it restarts, and everyone at the end.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { mismatchedMajors } from "../scripts/build-release-fixture.ts";
import { STORE_FORMAT_VERSION } from "../src/store/store-format.ts";
import { freePort, nxCert, pollUntil, REPO_ROOT, tempDir } from "./helpers/nx-process.ts";
import { type SyncNode, syncNodeTracker } from "./helpers/sync-node.ts";

const RELEASE = join(REPO_ROOT, "test/fixtures/releases/0.1.0");
const GUEST = join(RELEASE, "guests/counter_load.wasm");
const NAMES = ["a", "b", "c"] as const;
type Name = (typeof NAMES)[number];
/** Increments per second per node: ops flow between every poll, and three nodes fit 2 cores. */
const RATE_PER_S = 200;
const SYNC_WAIT_MS = 30_000;

const keyOf = (name: Name) => `upgrade-${name}`;

describe("rolling upgrade from Numax 0.1.0 under load", { timeout: 240_000 }, () => {
  const root = tempDir("nx-rolling-upgrade-");
  const nodes = syncNodeTracker();
  after(async () => {
    await nodes.stopAll();
    root.remove();
  });

  test("the release's runtime packages resolve from this repository with the same majors", () => {
    assert.deepEqual(mismatchedMajors(RELEASE), []);
  });

  test("0.1.0 nodes upgraded one at a time keep syncing both ways and lose no acknowledged op", async () => {
    const pki = join(root.path, "pki");
    nxCert(["ca", "--out", join(pki, "ca")]);
    for (const name of NAMES)
      nxCert(["node", "--ca-dir", join(pki, "ca"), "--name", name, "--out", join(pki, name)]);
    const ports = Object.fromEntries(
      await Promise.all(NAMES.map(async (n) => [n, await freePort()])),
    ) as Record<Name, number>;
    const running = new Map<Name, { node: SyncNode; current: boolean }>();
    /** Per key, the highest count any node other than its writer has shown: acknowledged. */
    const acknowledged = new Map<Name, bigint>(NAMES.map((n) => [n, 0n]));

    const start = async (name: Name, current: boolean): Promise<SyncNode> => {
      const node = await nodes.node({
        datastore: join(root.path, name),
        guest: GUEST,
        port: ports[name],
        peers: NAMES.filter((n) => n !== name).map((n) => ports[n]),
        tls: { dir: join(pki, name) },
        env: {
          NX_GATE_RATE: String(RATE_PER_S),
          NX_GATE_DURATION_MS: "600000",
          NX_GATE_COUNTER_KEY: keyOf(name),
          NX_GATE_RESUME: "1",
        },
        ...(current ? {} : { bin: join(RELEASE, "nx.js"), exposeData: false }),
      });
      running.set(name, { node, current });
      return node;
    };
    /** Every running node's count of every key; the acknowledged floors follow. */
    const observe = async (): Promise<Map<Name, Map<Name, bigint>>> => {
      const views = new Map<Name, Map<Name, bigint>>();
      for (const [viewer, { node }] of running) {
        const view = new Map<Name, bigint>();
        for (const writer of NAMES) {
          const count = await node.gcounter(keyOf(writer));
          view.set(writer, count);
          if (writer !== viewer && count > acknowledged.get(writer)!) acknowledged.set(writer, count);
        }
        views.set(viewer, view);
      }
      return views;
    };
    /** Waits until `viewer` counts more than `floor` of `writer`'s increments. */
    const seesMore = async (viewer: Name, writer: Name, floor: bigint, why: string) => {
      const views = await pollUntil(observe, (v) => v.get(viewer)!.get(writer)! > floor, SYNC_WAIT_MS);
      assert.ok(
        views.get(viewer)!.get(writer)! > floor,
        `${why}: node ${viewer} still counts ${views.get(viewer)!.get(writer)} of ${writer}'s increments (wanted > ${floor})`,
      );
    };

    // Three 0.1.0 nodes write and sync.
    for (const name of NAMES) await start(name, false);
    for (const viewer of NAMES) {
      for (const writer of NAMES) if (viewer !== writer) await seesMore(viewer, writer, 10n, "0.1.0 cluster");
    }

    // One at a time: stop, start on this build on the same datastore, while the others write.
    for (const name of NAMES) {
      await observe();
      const before = acknowledged.get(name)!;
      const old = running.get(name)!.node;
      const stopped = await nodes.stop(old);
      running.delete(name);
      assert.equal(stopped.signal, null, `0.1.0 node ${name} stopped by itself on SIGTERM, not killed`);

      const node = await start(name, true);
      const log = () => node.nx.stderr() + node.nx.stdout();
      assert.match(
        log(),
        new RegExp(`store migrated from=0 to=${STORE_FORMAT_VERSION} `),
        `node ${name}'s store was migrated`,
      );
      assert.ok(
        existsSync(
          join(root.path, name, `migration-backups/before-format-${STORE_FORMAT_VERSION}/store/data.mdb`),
        ),
      );
      const resumed = BigInt((await node.nx.waitFor(/@gate \{"type":"start".*?"resumed":(\d+)/))[1]!);
      assert.ok(
        resumed >= before,
        `node ${name} resumed at ${resumed} after its upgrade, but peers had acknowledged ${before} of its increments`,
      );

      // Both ways across the versions: every old node gets the new node's new ops, and the new
      // node gets every old node's ops written since it restarted.
      const views = await observe();
      for (const [other, { current }] of running) {
        if (other === name) continue;
        await seesMore(
          other,
          name,
          resumed,
          `${current ? "new" : "old"} node ${other} from upgraded ${name}`,
        );
        const writtenSince = views.get(other)!.get(other)!;
        await seesMore(
          name,
          other,
          writtenSince,
          `upgraded ${name} from ${current ? "new" : "old"} node ${other}`,
        );
      }
      // Neither side read a message of the other as damage (the new build's feature messages go
      // only to peers that announced the feature; 0.1.0 announces none).
      for (const [other, { node: peer }] of running) {
        assert.doesNotMatch(
          peer.nx.stderr() + peer.nx.stdout(),
          /malformed|protocol_mismatch|unknown message type/,
          `node ${other}`,
        );
      }
    }

    // Every node runs this build, and every increment acknowledged so far is on every node.
    assert.deepEqual(
      [...running.values()].map((r) => r.current),
      [true, true, true],
    );
    await observe();
    const floors = new Map(acknowledged);
    const final = await pollUntil(
      observe,
      (views) => [...views.values()].every((view) => NAMES.every((w) => view.get(w)! >= floors.get(w)!)),
      SYNC_WAIT_MS,
    );
    for (const [viewer, view] of final) {
      for (const writer of NAMES) {
        assert.ok(
          view.get(writer)! >= floors.get(writer)!,
          `node ${viewer} counts ${view.get(writer)} of ${writer}'s increments, ${floors.get(writer)} were acknowledged`,
        );
      }
    }
  });
});
