/**
 * Coverage-guided fuzzing of the decoders (docs/supply-chain.md#fuzzing):
 *   npm run fuzz -- TARGET --minutes N      a long run of one target
 *   npm run fuzz -- --all --seconds 60      every target, the time shared (CI's smoke run)
 *   npm run fuzz -- --list
 * Options: --seed N (default 1: a run replays), --save (new inputs into fuzz/corpus/TARGET/).
 * Prints per target executions, executions per second, corpus size and coverage; a finding is
 * written to fuzz/findings/TARGET/crash-<hash> and the run exits 1.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CoverageMap, CoverageProbe } from "./coverage.ts";
import type { FuzzTarget } from "./fuzz-target.ts";
import { type FuzzReport, fuzz, inputName } from "./fuzzer.ts";
import { FUZZ_TARGETS } from "./targets/index.ts";

const FUZZ_ROOT = new URL("./", import.meta.url).pathname;
const SOURCE_ROOT = new URL("../src/", import.meta.url).href;
/** The fuzzer's own seeded random lives in src/; its coverage is not the targets'. */
export const FUZZER_OWN_SOURCES = ["sync/seeded-random.ts"];

/** A target's committed seed inputs (fuzz/corpus/TARGET/), sorted by name. */
export function corpusOf(target: string, dir = join(FUZZ_ROOT, "corpus", target)): Uint8Array[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  return names.map((name) => new Uint8Array(readFileSync(join(dir, name))));
}

export function formatReport(report: FuzzReport): string {
  const seconds = report.elapsedMs / 1000;
  const rate = seconds > 0 ? Math.round(report.executions / seconds) : report.executions;
  const { executed, seen, functions } = report.blocks;
  const share = seen > 0 ? ((100 * executed) / seen).toFixed(1) : "0.0";
  return (
    `fuzz ${report.target}: ${report.executions} execs in ${seconds.toFixed(1)} s (${rate} exec/s), ` +
    `corpus ${report.corpusSize} (+${report.newInputs.length}), coverage ${executed}/${seen} blocks (${share}%) ` +
    `in ${functions} functions of src/, ${report.features} features` +
    (report.finding === undefined ? "" : `, FINDING: ${report.finding.message}`)
  );
}

function runTarget(target: FuzzTarget, durationMs: number, seed: number, save: boolean): FuzzReport {
  const probe = new CoverageProbe();
  try {
    const report = fuzz(target, probe, new CoverageMap(SOURCE_ROOT, FUZZER_OWN_SOURCES), {
      seeds: corpusOf(target.name),
      durationMs,
      seed,
      monotonicMs: () => performance.now(),
    });
    if (save) {
      const dir = join(FUZZ_ROOT, "corpus", target.name);
      mkdirSync(dir, { recursive: true });
      for (const input of report.newInputs) writeFileSync(join(dir, inputName(input)), input);
    }
    if (report.finding !== undefined) {
      const dir = join(FUZZ_ROOT, "findings", target.name);
      mkdirSync(dir, { recursive: true });
      const path = join(dir, `crash-${inputName(report.finding.input)}`);
      writeFileSync(path, report.finding.input);
      process.stdout.write(
        `fuzz ${target.name}: finding written to ${path}\n${report.finding.stack ?? ""}\n`,
      );
      const cause = report.finding.cause;
      if (cause instanceof Error) process.stdout.write(`caused by: ${cause.stack}\n`);
    }
    return report;
  } finally {
    probe.close();
  }
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      all: { type: "boolean", default: false },
      list: { type: "boolean", default: false },
      minutes: { type: "string" },
      seconds: { type: "string" },
      seed: { type: "string", default: "1" },
      save: { type: "boolean", default: false },
    },
  });
  if (values.list) {
    for (const target of FUZZ_TARGETS) process.stdout.write(`${target.name}: ${target.description}\n`);
    process.exit(0);
  }
  const usage = (why: string): never => {
    process.stderr.write(
      `fuzz: error: ${why}; usage: npm run fuzz -- TARGET --minutes N | --all --seconds N (targets: ${FUZZ_TARGETS.map((t) => t.name).join(", ")})\n`,
    );
    process.exit(2);
  };
  const targets = values.all
    ? FUZZ_TARGETS
    : positionals.map((name) => FUZZ_TARGETS.find((t) => t.name === name) ?? usage(`no target ${name}`));
  if (targets.length === 0) usage("name a target or --all");
  const totalSeconds =
    values.minutes !== undefined
      ? Number(values.minutes) * 60
      : values.seconds !== undefined
        ? Number(values.seconds)
        : 60;
  if (!(totalSeconds > 0)) usage("--minutes and --seconds take a positive number");
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(seed)) usage(`--seed takes an integer, got ${values.seed}`);
  const perTargetMs = (totalSeconds * 1000) / targets.length;
  let findings = 0;
  for (const target of targets) {
    const report = runTarget(target, perTargetMs, seed, values.save);
    process.stdout.write(`${formatReport(report)}\n`);
    if (report.finding !== undefined) findings++;
  }
  process.stdout.write(`fuzz: ${targets.length} targets, ${findings} findings\n`);
  process.exit(findings === 0 ? 0 : 1);
}
