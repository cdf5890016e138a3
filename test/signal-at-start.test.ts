/**
 * SIGTERM during `nx run`'s start-up (docs/design/node-lifecycle.md, "The CLI and the node"): the
 * node is stopped gracefully (the parts started stopped, no module run or a module run and ended
 * with its `shutdown`), never killed by the signal: exit 0 for a node that runs until stopped, 1
 * for a run that ends by itself (interrupted, as when its guests are). Before, the handlers were registered
 * once the node had started: a signal before that killed the process. Real `nx` processes, the
 * signal sent as soon as a start-up line shows.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  closeSync,
  constants,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { examplePath, guestPath, installedPackage, startNx, stopNx, tempDir } from "./helpers/nx-process.ts";

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

/**
 * SIGINT/SIGTERM while the CLI still loads, before runModules has its handlers (bin/nx.js records
 * them and runModules takes them): the same graceful stop as at its first line, where the
 * signal's default action killed the process. The moment is made real: in an installed layout,
 * build/cli/main.cjs is a named pipe, so bin/nx.js waits in the bundle's read until this test
 * opens the pipe's other end; the signals are sent then, and the bundle written after them.
 */
describe("a signal while nx run loads", { timeout: 120_000 }, () => {
  const cases = [
    {
      signals: ["SIGTERM"],
      run: "a one-shot run",
      args: [examplePath("hello")],
      code: 1,
      line: /start-up stopped by SIGTERM: no module ran/,
    },
    {
      signals: ["SIGINT"],
      run: "a node that serves",
      args: [guestPath("ack_server"), "--serve", "127.0.0.1:0"],
      code: 0,
      line: /start-up stopped by SIGINT: no module ran/,
    },
    // Refused for its command line: that error and its exit, whatever signal came as it loaded.
    {
      signals: ["SIGTERM"],
      run: "a run with a bad flag",
      args: [examplePath("hello"), "--log-level", "loud"],
      code: 2,
      line: /nx: error: invalid configuration .*\n.*--log-level/,
    },
    // A second signal exits at once, as during any graceful stop. Two signals sent one after the
    // other may reach the process's threads in either order: the line names the one seen second.
    {
      signals: ["SIGINT", "SIGTERM"],
      run: "a one-shot run",
      args: [examplePath("hello")],
      code: 130,
      line: /(SIGINT|SIGTERM) again: exiting at once/,
    },
  ] as const;
  for (const { signals, run, args, code, line } of cases) {
    it(`${signals.join(" then ")} for ${run} stops it (exit ${code})`, async () => {
      const dir = tempDir("nx-signal-while-loading-");
      const root = installedPackage(dir.path);
      const bundlePath = join(root, "build/cli/main.cjs");
      const bundle = readFileSync(bundlePath);
      renameSync(bundlePath, `${bundlePath}.built`);
      execFileSync("mkfifo", [bundlePath]);
      const nx = startNx(
        ["run", ...args, "--datastore-path", "data", "--shutdown-timeout", "10s"],
        { NODE_COMPILE_CACHE: join(dir.path, "cc") },
        { bin: join(root, "bin/nx.js"), cwd: dir.path },
      );
      // Opening the pipe to write returns once bin/nx.js has opened it to read the bundle.
      const opening = open(bundlePath, "w");
      try {
        const writer = await Promise.race([
          opening,
          nx.exited.then((exit) => {
            throw new Error(`nx exited before reading its bundle: ${JSON.stringify(exit)}\n${nx.stderr()}`);
          }),
        ]);
        for (const signal of signals) nx.child.kill(signal);
        await writer.writeFile(bundle);
        await writer.close();
        const exit = await nx.exited;
        const output = nx.stderr() + nx.stdout();
        assert.deepEqual(exit, { code, signal: null }, output);
        assert.match(output, line);
        assert.doesNotMatch(output, /shutdown did not finish/);
        // Stopped before anything of the run was made: no datastore, no module ran.
        assert.equal(existsSync(join(dir.path, "data")), false, output);
        // Nor a code cache of the little the run compiled, which later starts would keep using
        // (a node that serves exits 0 here, as after a run that went well).
        const caches = readdirSync(join(dir.path, "cc"), { recursive: true, encoding: "utf8" });
        assert.deepEqual(
          caches.filter((name) => name.includes("numax-cli-")),
          [],
          output,
        );
      } finally {
        // A child that never opened the pipe leaves our open waiting on the thread pool: a reader ends it.
        closeSync(openSync(bundlePath, constants.O_RDONLY | constants.O_NONBLOCK));
        await opening.then((handle) => handle.close()).catch(() => {});
        await stopNx(nx);
        dir.remove();
      }
    });
  }
});
