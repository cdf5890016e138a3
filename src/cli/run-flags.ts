import type { ConfigFlags } from "../config/resolve.ts";

/**
 * The flags of `nx run` beyond the configuration keys, declared once as data. Both parsers read
 * these declarations: commander (help, errors, every other command; commands/run.ts) and the
 * commander-free fast path of a plain `nx run` (parse-run-arguments.ts), so they cannot drift.
 * The configuration keys' flags come from the config schema on both paths.
 */

/** How the occurrences of a flag become its value. */
export type RunFlagKind =
  /** No argument; `true` when given. */
  | "switch"
  /** No argument; the number of occurrences (`-vv` = 2). */
  | "count"
  /** One argument; the last occurrence wins. */
  | "value"
  /** One argument, repeatable; every occurrence in order. */
  | "list";

export interface RunFlag<K extends keyof RunOnlyOptions = keyof RunOnlyOptions> {
  /** Where the value lands in {@link RunOnlyOptions}. */
  readonly key: K;
  /** Commander's flag syntax: `-v, --verbose` or `--settle-for <duration>`. */
  readonly flags: string;
  readonly kind: RunFlagKind;
  readonly description: string;
  readonly defaultValue?: RunOnlyOptions[K];
}

/** `nx run` options beyond the configuration keys. */
export interface RunOnlyOptions {
  readonly verbose: number;
  readonly shutdownTimeout: string;
  readonly waitBeforeRun?: string;
  readonly settleFor?: string;
  readonly json?: boolean;
  readonly stdinTopic?: string;
  readonly serve?: string;
  readonly policy?: string[];
  readonly printGcounter?: string[];
  readonly printPncounter?: string[];
  readonly printLwwRegister?: string[];
  readonly printLwwMap?: string[];
  readonly printOrset?: string[];
  readonly printRga?: string[];
  readonly deterministic?: boolean;
  readonly seed?: string;
}

/** A parsed `nx run` command line, whichever parser read it. */
export interface RunInvocation {
  readonly modules: readonly string[];
  /** `--config <file>`. */
  readonly configPath: string | undefined;
  /** The configuration keys set by flags, keyed by schema key. */
  readonly flags: ConfigFlags;
  readonly options: RunOnlyOptions;
}

const printFlag = (key: keyof RunOnlyOptions, family: string, what: string): RunFlag => ({
  key,
  flags: `--print-${family} <key>`,
  kind: "list",
  description: `print ${what} when the node stops (repeatable; needs sync)`,
});

export const RUN_ONLY_FLAGS: readonly RunFlag[] = [
  {
    key: "verbose",
    flags: "-v, --verbose",
    kind: "count",
    description: "raise the log level one step (repeatable)",
    defaultValue: 0,
  },
  {
    key: "shutdownTimeout",
    flags: "--shutdown-timeout <duration>",
    kind: "value",
    description: "longest graceful shutdown (e.g. 10s)",
    defaultValue: "30s",
  },
  {
    key: "waitBeforeRun",
    flags: "--wait-before-run <duration>",
    kind: "value",
    description: "with sync: wait up to this long for the configured peers before running",
  },
  {
    key: "settleFor",
    flags: "--settle-for <duration>",
    kind: "value",
    description: "with sync: keep syncing this long after the modules ran, then exit",
  },
  {
    key: "deterministic",
    flags: "--deterministic",
    kind: "switch",
    description: "seeded randomness and virtual time for guests and the replica (docs/design/determinism.md)",
  },
  {
    key: "seed",
    flags: "--seed <n>",
    kind: "value",
    description: "the seed of --deterministic (0 to 2^64-1, default 0)",
  },
  {
    key: "json",
    flags: "--json",
    kind: "switch",
    description: "print the --print-* values as one JSON object on stdout",
  },
  {
    key: "stdinTopic",
    flags: "--stdin-topic <topic>",
    kind: "value",
    description:
      "publish each line typed on stdin as a message on TOPIC to this node's modules (e.g. chat/input)",
  },
  {
    key: "serve",
    flags: "--serve <host:port>",
    kind: "value",
    description:
      "serve the modules' default routes over HTTP on this address (e.g. 127.0.0.1:8080; see docs/serving.md)",
  },
  {
    key: "policy",
    flags: "--policy <file>",
    kind: "list",
    description:
      "the module's policy file (docs/design/policies.md); with several modules MODULE=FILE, repeatable",
  },
  printFlag("printGcounter", "gcounter", "a GCounter, as `KEY = 12`"),
  printFlag("printPncounter", "pncounter", "a PNCounter, as `KEY = -3`"),
  printFlag("printLwwRegister", "lww-register", "an LWW-Register, as `KEY = value` or `KEY = <unset>`"),
  printFlag("printLwwMap", "lww-map", "an LWW-Map, as `KEY = {field=value, other=value}`"),
  printFlag("printOrset", "orset", "an ORSet, as `KEY = [a, b]` (sorted)"),
  printFlag("printRga", "rga", "an RGA sequence, as `KEY = [v1, v2]`"),
];

const SHORT_NAME = /^[A-Za-z]$/;
const LONG_NAME = /^[a-z][a-z0-9-]*$/;
const ARGUMENT = /^<[^>]+>$/;

/**
 * The parts of commander's flag syntax: `-v, --verbose` → short `v`, long `verbose`;
 * `--seed <n>` takes a value. Read by position and checked with `test`, not matched with
 * `exec`: a plain `nx run` reads every run flag, and an exec's result (an array, its groups)
 * per flag was 6 KB of the young generation it fills before its first scavenge.
 */
export function flagParts(flags: string): { short?: string; long: string; takesValue: boolean } {
  const short = flags.startsWith(", ", 2) && flags.startsWith("-") ? flags.charAt(1) : undefined;
  const longStart = short === undefined ? 0 : 4;
  const space = flags.indexOf(" ", longStart);
  const long = flags.slice(longStart + 2, space < 0 ? flags.length : space);
  const argument = space < 0 ? undefined : flags.slice(space + 1);
  if (
    (short !== undefined && !SHORT_NAME.test(short)) ||
    !flags.startsWith("--", longStart) ||
    !LONG_NAME.test(long) ||
    (argument !== undefined && !ARGUMENT.test(argument))
  ) {
    throw new Error(`unsupported flag syntax ${flags}`);
  }
  return { short, long, takesValue: argument !== undefined };
}
