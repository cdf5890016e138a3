/**
 * Several serving nodes on one machine, each left at the default addresses of the management API
 * (127.0.0.1:9102) and the dashboard (127.0.0.1:9101): at most one node can have them, and the
 * others used to warn "in use" and run without either. Now every node opens both, on a free port
 * when the default is taken, prints where at start, and warns about nothing.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { examplePath, type NxProcess, startNx, stopNx, tempDir } from "../helpers/nx-process.ts";

const dir = tempDir("nx-serve-endpoints-");
const running: NxProcess[] = [];
after(async () => {
  await Promise.all(running.map(stopNx));
  dir.remove();
});

/** `nx run http_hello --serve`, the management API and the dashboard at their defaults. */
function serving(name: string): NxProcess {
  const nx = startNx(
    ["run", examplePath("http_hello"), "--serve", "127.0.0.1:0", "--datastore-path", join(dir.path, name)],
    // Empty reads as unset: the default addresses apply (the helpers turn both off otherwise).
    { NX_MANAGEMENT_LISTEN: "", NX_DASHBOARD_LISTEN: "" },
  );
  running.push(nx);
  return nx;
}

test("two serving nodes at the default addresses: each has its API and dashboard where its start line says, no warning", async () => {
  const nodes = [serving("a"), serving("b")];
  const started = await Promise.all(
    nodes.map(async (nx) => {
      await nx.waitFor(/serving HTTP url=/);
      return {
        nx,
        api: (await nx.waitFor(/management: listening url=(http:\/\/127\.0\.0\.1:\d+)/))[1]!,
        dashboard: (await nx.waitFor(/dashboard: listening url=(http:\/\/127\.0\.0\.1:\d+)/))[1]!,
      };
    }),
  );
  assert.notEqual(started[0]!.api, started[1]!.api);
  assert.notEqual(started[0]!.dashboard, started[1]!.dashboard);
  for (const [i, { nx, api, dashboard }] of started.entries()) {
    const warnings = nx
      .stderr()
      .split("\n")
      // The test helpers run modules with --policy-default trusted, which warns once per module.
      .filter((line) => / (WARN|ERROR) /.test(line) && !/ WARN +policy: /.test(line));
    assert.deepEqual(warnings, [], nx.stderr());
    const token = readFileSync(join(dir.path, i === 0 ? "a" : "b", "management.token"), "utf8").trim();
    const answer = await fetch(`${api}/api/v1/node`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(answer.status, 200);
    const view = (await answer.json()) as { listen: { management: string } };
    assert.equal(view.listen.management, api);
    // The dashboard answers there too (its login page to a client without a session).
    assert.equal((await fetch(dashboard)).status, 200);
  }
});
