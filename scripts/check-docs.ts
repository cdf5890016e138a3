// Checks that the docs say only what the code does: every error code, constant, metric, `nx`
// command and flag, limit value and relative link a doc names. Prints one line per false claim
// (`doc:line: claim: what is wrong`) and exits 1 if there is any.
//   npx node scripts/check-docs.ts [repository root]
// test/docs/check-docs.test.ts runs it in `npm test`.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Command } from "commander";
import { buildProgram } from "../src/cli/program.ts";
import { CONFIG_KEYS, type ConfigKeyEntry } from "../src/config/schema.ts";
import { createNodeMetrics } from "../src/observe/metrics.ts";

/** One false claim: where it is, what it says, what is wrong with it. */
export interface Finding {
  readonly doc: string;
  readonly line: number;
  readonly claim: string;
  readonly problem: string;
}

export function formatFinding(finding: Finding): string {
  return `${finding.doc}:${finding.line}: ${finding.claim}: ${finding.problem}`;
}

/** A doc as the checks read it: its path relative to the repository and its lines. */
export interface Doc {
  readonly path: string;
  readonly lines: readonly string[];
}

/** What the checks compare the docs with, read from the repository once. */
export interface Facts {
  /** Every source file's text, by path relative to the repository (src/ first: error codes live there). */
  readonly sources: ReadonlyMap<string, string>;
  /** Metric names a node exposes (src/observe/metrics.ts), histograms with the series they expose. */
  readonly metrics: ReadonlySet<string>;
  readonly program: Command;
  /** The scripts of package.json (`npm run <name>`). */
  readonly npmScripts: ReadonlySet<string>;
  readonly configKeys: readonly ConfigKeyEntry[];
  /** Whether a path (relative to the repository) exists. */
  readonly exists: (path: string) => boolean;
  /** The text of a doc a link points to (for anchors), or undefined. */
  readonly readDoc: (path: string) => string | undefined;
}

/** Codes of operating errors are UPPER_SNAKE with one of these prefixes; each must be a string in src/. */
const ERROR_CODE_PREFIXES = [
  "ABI",
  "CERT",
  "CLI",
  "CLOCK",
  "CONFIG",
  "CRDT",
  "DIAGNOSE",
  "GUEST",
  "KERNEL",
  "MANAGEMENT",
  "NET",
  "OBSERVABILITY",
  "PKI",
  "POLICY",
  "RELEASE",
  "REPLICA",
  "SNAPSHOT",
  "STORE",
  "SYNC",
  "USAGE",
  "WASM",
];

const UPPER_SNAKE = /\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b(?:_\*)?|\b[A-Z][A-Z0-9]*_\*/g;
const CODE_SPAN = /`([^`\n]+)`/g;
const METRIC = /\bnumax_[a-z0-9_]+/g;
const LINK = /\[[^\]\n]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g;

// ---- (a) error codes and named constants --------------------------------------------------------

/**
 * Error codes anywhere in a doc must be strings in src/; other UPPER_SNAKE names in code spans
 * (constants, NX_* variables) must be words somewhere in the sources. `PREFIX_*` stands for a
 * family: some name with that prefix must exist.
 */
export function checkNames(doc: Doc, facts: Facts): Finding[] {
  const findings: Finding[] = [];
  const inSource = (name: string, codesOnly: boolean): boolean => {
    // A code is a string in src/ (or a constant declared there); other names are any word of the sources.
    const pattern = name.endsWith("_*")
      ? new RegExp(`\\b${name.slice(0, -1)}[A-Z0-9_]+\\b`)
      : new RegExp(codesOnly ? `["'\`]${name}["'\`]|\\bconst ${name}\\b` : `\\b${name}\\b`);
    for (const [path, text] of facts.sources) {
      if (codesOnly && !path.startsWith("src/")) continue;
      if (pattern.test(text)) return true;
    }
    return false;
  };
  doc.lines.forEach((line, index) => {
    const spans = new Set(
      [...line.matchAll(CODE_SPAN)].flatMap((m) => [...m[1].matchAll(UPPER_SNAKE)].map((n) => n[0])),
    );
    for (const match of line.matchAll(UPPER_SNAKE)) {
      const name = match[0];
      const isCode = ERROR_CODE_PREFIXES.includes(name.split("_")[0]);
      if (!isCode && !spans.has(name)) continue;
      if (inSource(name, isCode)) continue;
      findings.push({
        doc: doc.path,
        line: index + 1,
        claim: name,
        problem: isCode ? "no such error code in src/" : "named nowhere in the sources",
      });
    }
  });
  return dedupe(findings);
}

// ---- (b) metrics ------------------------------------------------------------------------------

/** Every `numax_*` metric a doc or dashboard names must be declared in src/observe/metrics.ts. */
export function checkMetrics(doc: Doc, facts: Facts): Finding[] {
  const findings: Finding[] = [];
  doc.lines.forEach((line, index) => {
    for (const match of line.matchAll(METRIC)) {
      if (facts.metrics.has(match[0])) continue;
      findings.push({
        doc: doc.path,
        line: index + 1,
        claim: match[0],
        problem: "no such metric in src/observe/metrics.ts",
      });
    }
  });
  return dedupe(findings);
}

/** Every metric metrics.ts declares must be in the reference table of docs/observability.md. */
export function checkMetricsDocumented(doc: Doc, facts: Facts): Finding[] {
  const declaredNames = [...facts.metrics].filter(
    (name) =>
      !/_(bucket|sum|count)$/.test(name) || !facts.metrics.has(name.replace(/_(bucket|sum|count)$/, "")),
  );
  const text = doc.lines.join("\n");
  return declaredNames
    .filter((name) => !new RegExp(`\\b${name}\\b`).test(text))
    .map((name) => ({
      doc: doc.path,
      line: 1,
      claim: name,
      problem: "declared in src/observe/metrics.ts but not documented here",
    }));
}

/** Metric names in a Prometheus exposition (from its TYPE lines), with the series of histograms. */
function declaredMetrics(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of exposition.matchAll(/^# TYPE (\S+) (\w+)$/gm)) {
    names.add(name);
    if (type === "histogram" || type === "summary") {
      for (const series of ["_bucket", "_sum", "_count"]) names.add(name + series);
    }
  }
  return names;
}

// ---- (c) limits ---------------------------------------------------------------------------------

/** A value as docs write it, in a canonical unit: bytes, milliseconds or a plain count. */
export interface Quantity {
  readonly value: number;
  readonly dimension: "bytes" | "ms" | "count";
}

const BYTE_UNITS: Readonly<Record<string, number>> = {
  B: 1,
  byte: 1,
  bytes: 1,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
};
const TIME_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, min: 60_000, h: 3_600_000 };
const QUANTITY =
  /(?<![\w.])(\d{1,3}(?:[ \u202f,_]\d{3})+|\d+(?:\.\d+)?)\s?(KiB|MiB|GiB|bytes|byte|B|ms|min|s|h)?(?![\w.])/g;

/** Every number in a table cell, with its unit: `500 ms doubling to 30 s` is 500 ms and 30 000 ms. */
export function parseQuantities(text: string): Quantity[] {
  const quantities: Quantity[] = [];
  for (const match of text.replaceAll("`", " ").matchAll(QUANTITY)) {
    const value = Number(match[1].replace(/[ \u202f,_]/g, ""));
    const unit = match[2];
    if (unit !== undefined && unit in BYTE_UNITS)
      quantities.push({ value: value * BYTE_UNITS[unit], dimension: "bytes" });
    else if (unit !== undefined && unit in TIME_UNITS)
      quantities.push({ value: value * TIME_UNITS[unit], dimension: "ms" });
    else quantities.push({ value, dimension: "count" });
  }
  return quantities;
}

/** The value of a source constant in the dimension its name gives it (`_MS`, `_SECS`, `BYTES`). */
function constantQuantity(name: string, value: number): Quantity {
  if (/(^|_)MS(_|$)|[a-z]Ms(?![a-z])/.test(name)) return { value, dimension: "ms" };
  if (/(^|_)SECS?(_|$)|[a-z]Secs?(?![a-z])/.test(name)) return { value: value * 1000, dimension: "ms" };
  if (/BYTES|[a-z]Bytes(?![a-z])/.test(name)) return { value, dimension: "bytes" };
  return { value, dimension: "count" };
}

/** The default of a config key in canonical units, or undefined when the key is unset by default. */
function configQuantity(entry: ConfigKeyEntry): Quantity | undefined {
  if (typeof entry.default !== "number") return undefined;
  const value = entry.default;
  // Durations, and keys written in seconds or milliseconds, are normalized to milliseconds.
  if (entry.kind.typeName === "duration" || entry.unit === "milliseconds" || entry.unit === "seconds") {
    return { value, dimension: "ms" };
  }
  if (entry.kind.typeName === "size") return { value, dimension: "bytes" };
  if (entry.unit === "MiB") return { value: value * 1024 ** 2, dimension: "bytes" };
  return { value, dimension: "count" };
}

/**
 * Evaluates `const NAME = <expr>` found in the sources when `<expr>` is arithmetic over numbers
 * and other such constants (`4 * 1024 * 1024`, `1 << 20`, `10_000`); undefined otherwise.
 */
function sourceConstant(
  name: string,
  sources: ReadonlyMap<string, string>,
  depth = 0,
): { value: number; path: string } | undefined {
  return sourceConstants(name, sources, depth)[0];
}

/** Every numeric declaration of `name` in src/: two modules may each have a constant of that name. */
function sourceConstants(
  name: string,
  sources: ReadonlyMap<string, string>,
  depth = 0,
): Array<{ value: number; path: string }> {
  const declaration = new RegExp(`\\bconst ${name}(?:\\s*:\\s*number)?\\s*=\\s*([^;]+);`);
  return findAllInSource(declaration, sources, depth);
}

/**
 * The default of a camelCase option, found where the code applies it: `name ?? <expr>` or, in an
 * object of defaults, `name: <expr>,` (the first numeric one in src/).
 */
function optionDefault(
  name: string,
  sources: ReadonlyMap<string, string>,
): { value: number; path: string } | undefined {
  const applied = new RegExp(`\\b${name}\\s*\\?\\?\\s*([A-Z0-9][\\w\\s*+<]*?)\\s*[,;)\\n]`);
  const listed = new RegExp(`\\b${name}:\\s*([A-Z0-9][\\w\\s*+<]*?),`);
  return findInSource(applied, sources, 0) ?? findInSource(listed, sources, 0);
}

function findInSource(
  pattern: RegExp,
  sources: ReadonlyMap<string, string>,
  depth: number,
): { value: number; path: string } | undefined {
  return findAllInSource(pattern, sources, depth)[0];
}

function findAllInSource(
  pattern: RegExp,
  sources: ReadonlyMap<string, string>,
  depth: number,
): Array<{ value: number; path: string }> {
  const found: Array<{ value: number; path: string }> = [];
  if (depth > 8) return found;
  for (const [path, text] of sources) {
    if (!(path.startsWith("src/") || path.startsWith("bin/")) || path.endsWith(".test.ts")) continue;
    for (const match of text.matchAll(new RegExp(pattern.source, "g"))) {
      // Examples in comments are not the code's defaults.
      const lineStart = text.lastIndexOf("\n", match.index) + 1;
      if (/^\s*(\*|\/\/)/.test(text.slice(lineStart, match.index))) continue;
      const value = evaluate(match[1].trim(), sources, depth);
      if (value !== undefined) found.push({ value, path });
    }
  }
  return found;
}

/** Arithmetic over numbers and UPPER_SNAKE constants of the sources, or undefined for anything else. */
function evaluate(
  expression: string,
  sources: ReadonlyMap<string, string>,
  depth: number,
): number | undefined {
  let arithmetic = expression;
  for (const reference of new Set(expression.match(/\b[A-Z][A-Z0-9_]*\b/g) ?? [])) {
    const inner = sourceConstant(reference, sources, depth + 1);
    if (inner === undefined) return undefined;
    arithmetic = arithmetic.replace(new RegExp(`\\b${reference}\\b`, "g"), String(inner.value));
  }
  if (!/^[\d_\s*+\-/()<.]+$/.test(arithmetic)) return undefined;
  const value = Function(`"use strict"; return (${arithmetic.replaceAll("_", "")});`)() as unknown;
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

const sameQuantity = (a: Quantity, b: Quantity): boolean =>
  a.dimension === b.dimension && a.value === b.value;

function describeQuantity(quantity: Quantity): string {
  if (quantity.dimension === "ms") return `${quantity.value} ms`;
  if (quantity.dimension === "bytes") return `${quantity.value} bytes`;
  return String(quantity.value);
}

/**
 * In each table of docs/LIMITS.md, a row that names a source constant (UPPER_SNAKE) or a config
 * key (`section.key`) must show that constant's value (or the key's default) in its value column.
 */
export function checkLimits(doc: Doc, facts: Facts): Finding[] {
  const findings: Finding[] = [];
  let header: string[] | undefined;
  doc.lines.forEach((line, index) => {
    if (!line.trimStart().startsWith("|")) {
      header = undefined;
      return;
    }
    const cells = line
      .trim()
      .slice(1, -1)
      .split("|")
      .map((cell) => cell.trim());
    if (cells.every((cell) => /^:?-+:?$/.test(cell))) return;
    if (header === undefined) {
      header = cells.map((cell) => cell.toLowerCase());
      return;
    }
    const valueColumn = header.findIndex((name) => name === "value" || name === "default");
    if (valueColumn < 0 || valueColumn >= cells.length) return;
    const shown = parseQuantities(cells[valueColumn]);
    const claim = `${cells[0]} = ${cells[valueColumn]}`;
    // What happens at a bound is a promise: "a KERNEL_* error" cannot be checked, the code it names can.
    for (const family of line.matchAll(/\b([A-Z]+)_\*/g)) {
      if (!ERROR_CODE_PREFIXES.includes(family[1])) continue;
      findings.push({
        doc: doc.path,
        line: index + 1,
        claim,
        problem: `${family[0]}: name the exact error code`,
      });
    }
    // What sets the bound is named in the value and "set by" columns ("at the bound" names effects).
    const named = cells
      .filter((_, column) => column === valueColumn || header?.[column] === "set by")
      .flatMap((cell) => [...cell.matchAll(CODE_SPAN)].map((m) => m[1]));
    const namesConstant = named.some((name) => /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/.test(name));
    for (const name of named) {
      if (/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/.test(name) && !ERROR_CODE_PREFIXES.includes(name.split("_")[0])) {
        const constants = sourceConstants(name, facts.sources);
        if (constants.length === 0) {
          findings.push({
            doc: doc.path,
            line: index + 1,
            claim,
            problem: `${name}: no numeric constant of that name in src/`,
          });
          continue;
        }
        // Where two modules declare the same name, the row may mean either.
        const expected = constants.map((constant) => constantQuantity(name, constant.value));
        if (!shown.some((quantity) => expected.some((value) => sameQuantity(quantity, value)))) {
          findings.push({
            doc: doc.path,
            line: index + 1,
            claim,
            problem: constants
              .map((constant, k) => `${name} is ${describeQuantity(expected[k])} in ${constant.path}`)
              .join(", "),
          });
        }
      }
      // An option whose default is a named constant is checked through that constant.
      if (/^[a-z]+[A-Z][A-Za-z]*$/.test(name) && !namesConstant) {
        const option = optionDefault(name, facts.sources);
        const expected = option === undefined ? undefined : constantQuantity(name, option.value);
        if (expected === undefined || option === undefined) {
          findings.push({
            doc: doc.path,
            line: index + 1,
            claim,
            problem: `${name}: no default found in src/ (\`${name} ?? CONSTANT\`)`,
          });
        } else if (!shown.some((quantity) => sameQuantity(quantity, expected))) {
          findings.push({
            doc: doc.path,
            line: index + 1,
            claim,
            problem: `the default of ${name} is ${describeQuantity(expected)} in ${option.path}`,
          });
        }
        continue;
      }
      const key = facts.configKeys.find((entry) => entry.key === name);
      if (key !== undefined) {
        const expected = configQuantity(key);
        const unset = /\b(none|unset|off)\b|—/i.test(cells[valueColumn]);
        if (expected === undefined ? !unset : !shown.some((quantity) => sameQuantity(quantity, expected))) {
          findings.push({
            doc: doc.path,
            line: index + 1,
            claim,
            problem: `the default of ${name} is ${expected === undefined ? "unset" : describeQuantity(expected)} (src/config/schema.ts)`,
          });
        }
      } else if (
        /^[a-z_]+\.[a-z_]+$/.test(name) &&
        facts.configKeys.some((entry) => name.startsWith(`${entry.section}.`))
      ) {
        findings.push({ doc: doc.path, line: index + 1, claim, problem: `${name}: no such config key` });
      }
    }
  });
  return findings;
}

/**
 * In any table, a row that pairs a number with a constant (`| \`-3\` | \`ERR_INTERNAL\` | ... |`,
 * a table of codes) must give the constant's value.
 */
export function checkValueTables(doc: Doc, facts: Facts): Finding[] {
  const findings: Finding[] = [];
  doc.lines.forEach((line, index) => {
    if (!line.trimStart().startsWith("|")) return;
    const cells = line
      .trim()
      .slice(1, -1)
      .split("|")
      .map((cell) => cell.trim());
    const number = cells.find((cell) => /^`-?\d+`$/.test(cell));
    const name = cells.find((cell) => /^`[A-Z][A-Z0-9]*(_[A-Z0-9]+)+`$/.test(cell));
    if (number === undefined || name === undefined) return;
    const constants = sourceConstants(name.slice(1, -1), facts.sources);
    const value = Number(number.slice(1, -1));
    if (constants.length === 0 || constants.some((constant) => constant.value === value)) return;
    findings.push({
      doc: doc.path,
      line: index + 1,
      claim: `${number} ${name}`,
      problem: constants
        .map((constant) => `${name.slice(1, -1)} is ${constant.value} in ${constant.path}`)
        .join(", "),
    });
  });
  return findings;
}

// ---- (d) nx commands and flags ------------------------------------------------------------------

/** Fenced blocks whose `nx` lines are commands (a block without a language is taken as shell). */
const SHELL_FENCES = ["", "sh", "shell", "bash", "console"];

const NX_INVOCATION = /(?:^|[\s;&|(`$])nx((?:\s+[^\s;&|`)#]+)+)/g;

/** Lines of fenced code blocks (with `\`-continued lines joined) and inline code spans that run `nx`. */
function nxInvocations(doc: Doc): Array<{ line: number; words: string[] }> {
  const found: Array<{ line: number; words: string[] }> = [];
  let inFence = false;
  let shellFence = false;
  let pending = "";
  let pendingLine = 0;
  doc.lines.forEach((raw, index) => {
    const fence = /^\s*```(\w*)/.exec(raw);
    if (fence !== null) {
      inFence = !inFence;
      shellFence = inFence && SHELL_FENCES.includes(fence[1]);
      return;
    }
    if (inFence && !shellFence) return;
    const texts = inFence ? [] : [...raw.matchAll(CODE_SPAN)].map((m) => m[1]);
    if (inFence) {
      if (pending === "") pendingLine = index + 1;
      pending += ` ${raw.replace(/\\\s*$/, "")}`;
      if (/\\\s*$/.test(raw)) return;
      texts.push(pending.replace(/(^|\s)#.*$/, ""));
      pending = "";
    }
    for (const text of texts) {
      for (const match of text.matchAll(NX_INVOCATION)) {
        found.push({ line: inFence ? pendingLine : index + 1, words: match[1].trim().split(/\s+/) });
      }
    }
  });
  return found;
}

function longFlags(command: Command): Set<string> {
  const flags = new Set<string>(["--help", "-h"]);
  for (const option of command.options) {
    if (option.long) flags.add(option.long);
    if (option.short) flags.add(option.short);
    if (option.negate && option.long) flags.add(option.long);
  }
  return flags;
}

/** Every `nx` command line a doc shows must name existing subcommands and flags of that subcommand. */
export function checkCommands(doc: Doc, facts: Facts): Finding[] {
  const findings: Finding[] = [];
  for (const { line, words } of nxInvocations(doc)) {
    let command = facts.program;
    const path = ["nx"];
    let position = 0;
    let invocation = true;
    for (; position < words.length; position++) {
      const word = words[position];
      if (word.startsWith("-") || word.startsWith("<") || word.startsWith("[")) break;
      // `nx` followed by something that is not a word (`nx = ...`, `nx SDK:`) is not a command line.
      if (!/^[a-z][a-z0-9-]*(\/[a-z][a-z0-9-]*)*$/.test(word)) {
        invocation = position > 0;
        break;
      }
      // `nx config init/validate/show` names several subcommands: each must exist; the first is followed.
      const alternatives = word.split("/");
      const missing = alternatives.filter(
        (name) => !command.commands.some((c) => c.name() === name || c.aliases().includes(name)),
      );
      const sub =
        missing.length === 0 ? command.commands.find((c) => c.name() === alternatives[0]) : undefined;
      if (sub === undefined) {
        if (command.commands.length > 0 && command.registeredArguments.length === 0) {
          findings.push({
            doc: doc.path,
            line,
            claim: `nx ${words.join(" ")}`,
            problem: `"${path.join(" ")}" has no subcommand "${missing[0]}" (it has: ${command.commands.map((c) => c.name()).join(", ")})`,
          });
        }
        break;
      }
      command = sub;
      path.push(word);
    }
    if (!invocation) continue;
    const flags = longFlags(command);
    if (command === facts.program) flags.add("--version").add("-V");
    for (const word of words.slice(position)) {
      const flag = word.replace(/^["']|["']$/g, "").split("=")[0];
      if (!/^--?[a-zA-Z][\w-]*$/.test(flag) || flags.has(flag)) continue;
      // Short switches may be grouped: -vv is -v -v.
      if (/^-[a-zA-Z]{2,}$/.test(flag) && [...flag.slice(1)].every((letter) => flags.has(`-${letter}`)))
        continue;
      findings.push({
        doc: doc.path,
        line,
        claim: `nx ${words.join(" ")}`,
        problem: `"${path.join(" ")}" has no flag ${flag}`,
      });
    }
  }
  return findings;
}

/** Every `npm run <script>` a doc shows must be a script of package.json. */
export function checkNpmScripts(doc: Doc, facts: Facts): Finding[] {
  const findings: Finding[] = [];
  doc.lines.forEach((line, index) => {
    for (const match of line.matchAll(/\bnpm run(?:\s+-{1,2}[a-z-]+)*\s+([a-z][\w:-]*)/g)) {
      if (facts.npmScripts.has(match[1])) continue;
      findings.push({
        doc: doc.path,
        line: index + 1,
        claim: match[0],
        problem: `package.json has no script "${match[1]}"`,
      });
    }
  });
  return findings;
}

/** Every test file a doc cites as evidence must exist (a bare name: somewhere in the sources). */
export function checkTestFiles(doc: Doc, facts: Facts): Finding[] {
  const findings: Finding[] = [];
  const paths = [...facts.sources.keys()];
  doc.lines.forEach((line, index) => {
    for (const match of line.matchAll(/(?<![\w./<>*-])([\w-][\w./-]*\.test\.ts)\b/g)) {
      const cited = match[1];
      const found = cited.includes("/")
        ? facts.exists(cited)
        : paths.some((path) => path.endsWith(`/${cited}`));
      if (!found)
        findings.push({ doc: doc.path, line: index + 1, claim: cited, problem: "no such test file" });
    }
  });
  return findings;
}

// ---- (e) relative links ---------------------------------------------------------------------------

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes. */
function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*_~]/g, (char) => (char === "_" ? "_" : ""))
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const counts = new Map<string, number>();
  let inFence = false;
  for (const line of text.split("\n")) {
    if (/^\s*```/.test(line)) inFence = !inFence;
    const heading = inFence ? null : /^#{1,6}\s+(.*?)\s*#*$/.exec(line);
    if (heading === null) continue;
    const base = headingAnchor(heading[1]);
    const seen = counts.get(base) ?? 0;
    anchors.add(seen === 0 ? base : `${base}-${seen}`);
    counts.set(base, seen + 1);
  }
  return anchors;
}

/** Every relative link (and its `#anchor`) must resolve inside the repository. */
export function checkLinks(doc: Doc, facts: Facts): Finding[] {
  const findings: Finding[] = [];
  let inFence = false;
  doc.lines.forEach((line, index) => {
    if (/^\s*```/.test(line)) inFence = !inFence;
    if (inFence) return;
    for (const match of line.matchAll(LINK)) {
      const target = match[1].replace(/^<|>$/g, "");
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
      const [pathPart, anchor] = target.split("#", 2);
      const path = pathPart === "" ? doc.path : join(dirname(doc.path), decodeURIComponent(pathPart));
      const problem = !facts.exists(path)
        ? `${path} does not exist`
        : anchor !== undefined &&
            path.endsWith(".md") &&
            !anchorsOf(facts.readDoc(path) ?? "").has(anchor.toLowerCase())
          ? `${path} has no heading #${anchor}`
          : undefined;
      if (problem !== undefined) findings.push({ doc: doc.path, line: index + 1, claim: match[0], problem });
    }
  });
  return findings;
}

// ---- running them -----------------------------------------------------------------------------------

function dedupe(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((finding) => {
    const key = formatFinding(finding);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function walk(root: string, directory: string, accept: (path: string) => boolean): string[] {
  const absolute = join(root, directory);
  if (!existsSync(absolute)) return [];
  return readdirSync(absolute, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory())
      return entry.name === "node_modules" || entry.name === "build" ? [] : walk(root, path, accept);
    return accept(path) ? [path] : [];
  });
}

/** The docs the checks read: README.md and every Markdown file under docs/. */
function docPaths(root: string): string[] {
  return ["README.md", ...walk(root, "docs", (path) => path.endsWith(".md"))].sort();
}

export async function loadFacts(root: string): Promise<Facts> {
  const sourceDirectories = ["src", "bin", "sdk", "examples", "bench", "scripts", "test"];
  const sources = new Map<string, string>();
  for (const directory of sourceDirectories) {
    for (const path of walk(
      root,
      directory,
      (p) => /\.(ts|js|mjs|h|c|rs|json|toml|sh)$/.test(p) && !p.includes("/build/"),
    )) {
      sources.set(path, readFileSync(join(root, path), "utf8"));
    }
  }
  const packageJson = readFileSync(join(root, "package.json"), "utf8");
  sources.set("package.json", packageJson);
  return {
    sources,
    npmScripts: new Set(Object.keys((JSON.parse(packageJson) as { scripts?: object }).scripts ?? {})),
    // What a node really exposes: the registry's own exposition, every metric declared in it.
    metrics: declaredMetrics(await createNodeMetrics({ version: "0.0.0", processMetrics: false }).render()),
    program: buildProgram(),
    configKeys: CONFIG_KEYS,
    exists: (path) => existsSync(join(root, path)),
    readDoc: (path) => {
      const absolute = join(root, path);
      return existsSync(absolute) && statSync(absolute).isFile() ? readFileSync(absolute, "utf8") : undefined;
    },
  };
}

function readDoc(root: string, path: string): Doc {
  return { path, lines: readFileSync(join(root, path), "utf8").split("\n") };
}

/** Every check over every doc of the repository at `root`. */
export async function checkDocs(root: string): Promise<Finding[]> {
  const facts = await loadFacts(root);
  const findings: Finding[] = [];
  for (const path of docPaths(root)) {
    const doc = readDoc(root, path);
    findings.push(
      ...checkNames(doc, facts),
      ...checkMetrics(doc, facts),
      ...checkCommands(doc, facts),
      ...checkNpmScripts(doc, facts),
      ...checkValueTables(doc, facts),
      ...checkTestFiles(doc, facts),
      ...checkLinks(doc, facts),
    );
    if (path === "docs/LIMITS.md") findings.push(...checkLimits(doc, facts));
    if (path === "docs/observability.md") findings.push(...checkMetricsDocumented(doc, facts));
  }
  for (const path of walk(root, "docs/dashboards", (p) => p.endsWith(".json"))) {
    findings.push(...checkMetrics(readDoc(root, path), facts));
  }
  return findings.sort((a, b) => a.doc.localeCompare(b.doc) || a.line - b.line);
}

export const REPOSITORY_ROOT = resolve(import.meta.dirname, "..");

if (import.meta.main) {
  // Another checkout's docs can be checked against this code: node scripts/check-docs.ts <root>
  const findings = await checkDocs(
    process.argv[2] === undefined ? REPOSITORY_ROOT : resolve(process.argv[2]),
  );
  for (const finding of findings) console.log(formatFinding(finding));
  console.log(
    findings.length === 0
      ? "check-docs: every claim checked holds"
      : `check-docs: ${findings.length} false claims`,
  );
  process.exitCode = findings.length === 0 ? 0 : 1;
}
