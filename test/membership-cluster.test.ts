/**
 * SWIM membership with real `nx` processes on loopback (docs/design/peer-discovery.md#membership):
 * five nodes started with `--discovery bootstrap` and one address converge and each lists all
 * five as alive members; a node killed with SIGKILL is declared dead by every other (its entry
 * stays in /v1/node, and `numax_members{state="dead"}` counts it); a node stopped cleanly is
 * `left`, never suspected first.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { examplePath, getJson, pollUntil, tempDir } from "./helpers/nx-process.ts";
import { datastoreOf, type SyncNode, syncNodeTracker } from "./helpers/sync-node.ts";

const VISITS = examplePath("distributed_counter");

const root = tempDir("nx-membership-");
const nodes = syncNodeTracker();
after(async () => {
  await nodes.stopAll();
  root.remove();
});

interface Member {
  nodeId: string;
  address: string | null;
  state: string;
  incarnation: number;
}

async function members(node: SyncNode): Promise<Member[]> {
  return ((await getJson(`${node.url}/v1/node`)) as { sync: { members: Member[] } }).sync.members;
}

/** Waits until `node` lists exactly `want` (NodeId → state); returns what it lists last. */
async function membersAre(
  node: SyncNode,
  want: ReadonlyMap<string, string>,
  timeoutMs: number,
): Promise<void> {
  const render = (list: readonly Member[]) => JSON.stringify(list.map((m) => [m.nodeId, m.state]).sort());
  const expected = JSON.stringify([...want].sort());
  const got = await pollUntil(
    () => members(node),
    (list) => render(list) === expected,
    timeoutMs,
  );
  assert.equal(render(got), expected, `node ${node.nodeId} lists ${JSON.stringify(got)}`);
}

describe("membership between real nx processes", { timeout: 150_000 }, () => {
  test("bootstrap with one address: converge, all alive; a killed node is dead everywhere; a stopped one has left", async () => {
    const seed = await nodes.node({
      datastore: datastoreOf(root.path, "m-1"),
      guest: VISITS,
      env: { NX_VISITS: "1" },
      args: ["--discovery", "bootstrap"],
    });
    const joiners = await Promise.all(
      [2, 3, 4, 5].map((visits) =>
        nodes.node({
          datastore: datastoreOf(root.path, `m-${visits}`),
          guest: VISITS,
          env: { NX_VISITS: String(visits) },
          args: ["--discovery", "bootstrap", "--bootstrap", `127.0.0.1:${seed.port}`],
        }),
      ),
    );
    const cluster = [seed, ...joiners];
    for (const n of cluster) {
      const value = await pollUntil(
        () => n.gcounter("visits"),
        (v) => v === 15n,
        30_000,
      );
      assert.equal(value, 15n, `node ${n.nodeId} sees visits = ${value}`);
    }
    const allAlive = new Map(cluster.map((n) => [n.nodeId, "alive"]));
    for (const n of cluster) await membersAre(n, allAlive, 30_000);
    const seen = await members(joiners[0]!);
    assert.ok(
      seen.every((m) => m.address !== null && /^127\.0\.0\.1:\d+$/.test(m.address)),
      JSON.stringify(seen),
    );

    const [victim, leaver, ...rest] = joiners;
    victim!.nx.child.kill("SIGKILL");
    await victim!.nx.exited;
    nodes.forget(victim!);
    const afterKill = new Map([...allAlive, [victim!.nodeId, "dead"]]);
    for (const n of [seed, leaver!, ...rest]) await membersAre(n, afterKill, 60_000);
    const metrics = await (await fetch(`${seed.url}/metrics`)).text();
    assert.match(metrics, /^numax_members\{state="dead"\} 1$/m);
    assert.match(metrics, /^numax_members\{state="alive"\} 4$/m);

    await nodes.stop(leaver!);
    const afterLeave = new Map([...afterKill, [leaver!.nodeId, "left"]]);
    for (const n of [seed, ...rest]) await membersAre(n, afterLeave, 20_000);
    for (const n of [seed, ...rest]) {
      assert.doesNotMatch(
        n.nx.stderr() + n.nx.stdout(),
        new RegExp(`member suspect.*nodeId=${leaver!.nodeId}`),
      );
      assert.match(n.nx.stderr() + n.nx.stdout(), new RegExp(`member dead.*nodeId=${victim!.nodeId}`));
    }
  });
});
