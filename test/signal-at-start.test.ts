/**
 * SIGTERM during `nx run`'s start-up (docs/design/node-lifecycle.md, "The CLI and the node"): the
 * node is stopped gracefully (exit 0, the parts started stopped, no module run or a module run and
 * ended with its `shutdown`), never killed by the signal. Before, the handlers were registered
 * once the node had started: a signal before that killed the process. Real `nx` processes, the
 * signal sent as soon as a start-up line shows.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { guestPath, startNx, stopNx, tempDir } from "./helpers/nx-process.ts";

describe("SIGTERM during start-up", { timeout: 120_000 }, () => {
  const cases = [
    // The first line `nx run` writes, before the datastore is prepared and the modules loaded.
    { at: "the first line", line: /configuration read from .*numax\.toml/ },
    // While the node's components start (-v): the store is open, serving not yet.
    { at: "a component's start", line: /component started component=store/ },
  ];
  for (const { at, line } of cases) {
    it(`at ${at} ends the run gracefully (exit 0)`, async () => {
      const dir = tempDir("nx-signal-at-start-");
      // Found in the working directory: it makes `nx run` say so first.
      writeFileSync(join(dir.path, "numax.toml"), `[storage]\ndatastore_path = "data"\n`);
      const nx = startNx(
        [
          "run",
          "-v",
          guestPath("ack_server"),
          guestPath("reactive_probe"),
          "--serve",
          "127.0.0.1:0",
          "--shutdown-timeout",
          "10s",
        ],
        {},
        { cwd: dir.path },
      );
      try {
        await nx.waitFor(line, 30_000);
        nx.child.kill("SIGTERM");
        const exit = await nx.exited;
        const output = nx.stderr() + nx.stdout();
        assert.deepEqual(exit, { code: 0, signal: null }, output);
        assert.doesNotMatch(output, /nx: error|shutdown did not finish/);
        // Either the start stopped before any module ran, or the module ran and ended as at any shutdown.
        const ran = /^(\[reactive_probe\] )?init$/m.test(output);
        if (ran) assert.match(output, /^(\[reactive_probe\] )?shutdown$/m);
        else assert.match(output, /INFO {2}start-up stopped by SIGTERM: no module ran/);
      } finally {
        await stopNx(nx);
        dir.remove();
      }
    });
  }
});
