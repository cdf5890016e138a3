/**
 * SIGTERM during `nx run`'s start-up (docs/design/node-lifecycle.md, "The CLI and the node"): the
 * node is stopped gracefully (the parts started stopped, no module run or a module run and ended
 * with its `shutdown`), never killed by the signal: exit 0 for a node that runs until stopped, 1
 * for a run that ends by itself (interrupted, as when its guests are). Before, the handlers were registered
 * once the node had started: a signal before that killed the process. Real `nx` processes, the
 * signal sent as soon as a start-up line shows.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { guestPath, startNx, stopNx, tempDir } from "./helpers/nx-process.ts";

describe("SIGTERM during start-up", { timeout: 120_000 }, () => {
  /** A node that serves: it runs until a signal, which is how it stops (exit 0). */
  const serving = [guestPath("ack_server"), guestPath("reactive_probe"), "--serve", "127.0.0.1:0"];
  const cases = [
    // The first line `nx run` writes, before the datastore is prepared and the modules loaded.
    { at: "the first line", line: /configuration read from .*numax\.toml/, args: serving, code: 0 },
    // While the node's components start (-v): the store is open, serving not yet.
    { at: "a component's start", line: /component started component=store/, args: serving, code: 0 },
    // A run that ends by itself (one-shot guests) was interrupted: it fails, as when its guests
    // are interrupted running (one spins until then), so a script never reads it as done. Five
    // modules to load (one with a store) keep its start-up going as the signal comes.
    {
      at: "the first line of a one-shot run",
      line: /configuration read from .*numax\.toml/,
      args: ["proc_spin", "counter_loop", "dice_roller", "ack_writer", "proc_printer"].map(guestPath),
      code: 1,
    },
  ];
  for (const { at, line, args, code } of cases) {
    it(`at ${at} stops the run (exit ${code})`, async () => {
      const dir = tempDir("nx-signal-at-start-");
      // Found in the working directory: it makes `nx run` say so first.
      writeFileSync(join(dir.path, "numax.toml"), `[storage]\ndatastore_path = "data"\n`);
      const nx = startNx(["run", "-v", ...args, "--shutdown-timeout", "10s"], {}, { cwd: dir.path });
      try {
        await nx.waitFor(line, 30_000);
        nx.child.kill("SIGTERM");
        const exit = await nx.exited;
        const output = nx.stderr() + nx.stdout();
        assert.deepEqual(exit, { code, signal: null }, output);
        assert.doesNotMatch(
          output,
          code === 0 ? /nx: error|shutdown did not finish/ : /shutdown did not finish/,
        );
        // Either the start stopped before any module ran, or the module ran and ended as at any shutdown.
        const stoppedAtStart = /INFO {2}start-up stopped by SIGTERM: no module ran/.test(output);
        if (stoppedAtStart) assert.doesNotMatch(output, /^(\[reactive_probe\] )?init$/m);
        else if (code === 0) assert.match(output, /^(\[reactive_probe\] )?shutdown$/m);
        else assert.match(output, /stopped by SIGTERM while running/, output);
      } finally {
        await stopNx(nx);
        dir.remove();
      }
    });
  }
});
