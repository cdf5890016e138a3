import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Command } from "commander";
import fc from "fast-check";
import { CONFIG_PATH_FLAG } from "../config/cli-options.ts";
import { CONFIG_KEYS } from "../config/schema.ts";
import { runInvocationOf } from "./commands/run.ts";
import { CONFIG_PATH_LONG_NAME, parseRunArguments } from "./parse-run-arguments.ts";
import { buildProgram } from "./program.ts";
import { flagParts, RUN_ONLY_FLAGS, type RunInvocation } from "./run-flags.ts";

/** What commander makes of `args` (after `nx`): the invocation, or the error it raised. */
function commanderParse(args: readonly string[]): RunInvocation | "error" {
  const program = buildProgram().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  const run = program.commands.find((command) => command.name() === "run")!;
  let invocation: RunInvocation | undefined;
  run.exitOverride().action((modules: string[], _options: unknown, self: Command) => {
    invocation = runInvocationOf(modules, self.opts());
  });
  try {
    program.parse(["node", "nx", ...args]);
  } catch {
    return "error";
  }
  return invocation ?? "error";
}

const oneOf = (...groups: string[][]): fc.Arbitrary<string[]> => fc.constantFrom(...groups);

/** `--name value` or `--name=value`, for each of `values`. */
const valued = (name: string, values: readonly string[]): fc.Arbitrary<string[]> =>
  oneOf(...values.flatMap((value) => [[name, value], [`${name}=${value}`]]));

/** One token group of a command line built from the declarations, sometimes malformed. */
const flagTokens: fc.Arbitrary<string[]> = fc.oneof(
  fc.constantFrom(...RUN_ONLY_FLAGS.map((flag) => flag.flags)).chain((flags) => {
    const { short, long, takesValue } = flagParts(flags);
    if (takesValue) return valued(`--${long}`, ["1s", "x", "", "-5s", "a=b"]);
    return oneOf([`--${long}`], ...(short === undefined ? [] : [[`-${short}`], [`-${short}${short}`]]));
  }),
  fc
    .constantFrom(...CONFIG_KEYS)
    .chain((entry) =>
      entry.flag.argument === undefined
        ? oneOf([entry.flag.name])
        : valued(entry.flag.name, ["7", "127.0.0.1:0", "./data", "-1"]),
    ),
  oneOf(
    ["--config", "nx.toml"],
    ["--bogus"],
    ["--"],
    ["-x"],
    ["-h"],
    ["--help"],
    ["--json=1"],
    ["-"],
    ["-vx"],
    ["-v=1"],
    ["--=x"],
    ["--constructor"],
    ["--__proto__"],
    ["--toString=x"],
  ),
  oneOf(["a.wasm"], ["b.wasm"], ["dir/c.wasm"]),
);

describe("the nx run fast path", () => {
  test("declares --config exactly as commander does", () => {
    assert.equal(flagParts(CONFIG_PATH_FLAG).long, CONFIG_PATH_LONG_NAME);
  });

  test("reads a plain command line as commander does", () => {
    const args = ["run", "a.wasm", "-vv", "--datastore-path", "d", "--peer", "x:1", "--peer=y:2", "b.wasm"];
    const fast = parseRunArguments([...args, "--debug-protocol", "--print-gcounter", "k"]);
    assert.ok(fast !== undefined);
    assert.deepEqual(fast, commanderParse([...args, "--debug-protocol", "--print-gcounter", "k"]));
    assert.deepEqual(fast.modules, ["a.wasm", "b.wasm"]);
    assert.equal(fast.options.verbose, 2);
    assert.equal(fast.options.shutdownTimeout, "30s");
    assert.deepEqual(fast.flags["network.peers"], ["x:1", "y:2"]);
    assert.equal(fast.flags["network.serialization_format"], "json");
  });

  test("leaves help, errors and unusual command lines to commander", () => {
    for (const args of [
      ["run"],
      ["run", "--help"],
      ["run", "-h", "a.wasm"],
      ["run", "a.wasm", "--bogus"],
      ["run", "--", "a.wasm"],
      ["run", "a.wasm", "--shutdown-timeout", "-1s"],
      ["run", "a.wasm", "--json=yes"],
      ["config", "show"],
      ["--version"],
    ]) {
      assert.equal(parseRunArguments(args), undefined, args.join(" "));
    }
  });

  test("takes every command line of declared flags with plain values and modules (property)", () => {
    const plainTokens = fc.oneof(
      fc.constantFrom(...RUN_ONLY_FLAGS.map((flag) => flag.flags)).chain((flags) => {
        const { short, long, takesValue } = flagParts(flags);
        if (takesValue) return valued(`--${long}`, ["1s", "x", "a=b"]);
        return oneOf([`--${long}`], ...(short === undefined ? [] : [[`-${short}`], [`-${short}${short}`]]));
      }),
      fc
        .constantFrom(...CONFIG_KEYS)
        .chain((entry) =>
          entry.flag.argument === undefined
            ? oneOf([entry.flag.name])
            : valued(entry.flag.name, ["7", "127.0.0.1:0", "./data"]),
        ),
      oneOf(["--config", "nx.toml"], ["b.wasm"], ["dir/c.wasm"]),
    );
    fc.assert(
      fc.property(fc.array(plainTokens, { maxLength: 8 }), (groups) => {
        const args = ["run", "a.wasm", ...groups.flat()];
        const fast = parseRunArguments(args);
        assert.ok(fast !== undefined, args.join(" "));
        assert.deepEqual(fast, commanderParse(args), args.join(" "));
      }),
      { seed: 20261206, numRuns: 300 },
    );
  });

  test("whatever it accepts, commander accepts with the same result (property)", () => {
    fc.assert(
      fc.property(fc.array(flagTokens, { maxLength: 8 }), (groups) => {
        const args = ["run", ...groups.flat()];
        const fast = parseRunArguments(args);
        if (fast === undefined) return;
        assert.deepEqual(fast, commanderParse(args), args.join(" "));
      }),
      { seed: 20261121, numRuns: 400 },
    );
  });
});
