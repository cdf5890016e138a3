/**
 * The dependency policy, checked by `npm run check:deps` in CI (.ci/run) and, without the
 * network part, by test/supply-chain/dependency-policy.test.ts in `npm test`:
 *   - every package in package-lock.json has a license of {@link ALLOWED_LICENSES} (an SPDX
 *     expression: `OR` needs one allowed side, `AND` both);
 *   - a package with an install script is listed in package.json's `allowScripts` (npm 11's
 *     field: `true` runs the script, `false` skips it), so a new one fails CI until reviewed;
 *   - `npm audit` against the lock file finds nothing high or critical. Where the registry's
 *     audit endpoint does not answer (this development machine's), one line says it was skipped.
 * docs/supply-chain.md says how to change the lists.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const REPO_ROOT = new URL("../", import.meta.url).pathname;

/** Permissive licenses whose terms an Apache-2.0 package and its users can meet by shipping notices. */
export const ALLOWED_LICENSES: ReadonlySet<string> = new Set([
  "MIT",
  "ISC",
  "Apache-2.0",
  "BSD-2-Clause",
  "BSD-3-Clause",
  "0BSD",
  "BlueOak-1.0.0",
  "CC0-1.0",
  "Zlib",
  "Python-2.0",
  "PSF-2.0",
  // spdx-exceptions: data (the list of SPDX exceptions), attribution only; a dev tool's.
  "CC-BY-3.0",
]);

/**
 * Packages whose lock entry declares no license, with the one read by hand. A `*` ends a family:
 * the other platforms' builds of a native package, which the lock lists without installing.
 */
export const UNDECLARED_LICENSES: ReadonlyMap<string, string> = new Map([
  // Its LICENSE file is the BSD Zero Clause License; its package.json names none.
  ["htmx-ext-sse", "0BSD"],
  ["@biomejs/cli-*", "MIT OR Apache-2.0"],
  ["@msgpackr-extract/msgpackr-extract-*", "MIT"],
]);

/** `npm audit` severities that fail the check; lower ones are reported in one line each. */
export const AUDIT_FAILING_SEVERITIES: ReadonlySet<string> = new Set(["high", "critical"]);
/** The audit asks the registry once: a slow answer is a skipped audit, not a stuck CI. */
const AUDIT_TIMEOUT_MS = 60_000;

export interface LockEntry {
  readonly version?: string;
  readonly license?: string;
  readonly hasInstallScript?: boolean;
  readonly link?: boolean;
  readonly dev?: boolean;
}

export interface LockFile {
  readonly packages: Readonly<Record<string, LockEntry>>;
}

/** Whether the SPDX expression `expression` is allowed: `OR` needs one allowed side, `AND` both. */
export function licenseAllowed(expression: string, allowed: ReadonlySet<string> = ALLOWED_LICENSES): boolean {
  const tokens = expression.match(/\(|\)|[^\s()]+/g) ?? [];
  let at = 0;
  // expression := term (OR term)*; term := factor (AND factor)*; factor := id | "(" expression ")"
  const factor = (): boolean => {
    const token = tokens[at++];
    if (token === "(") {
      const value = orExpression();
      if (tokens[at++] !== ")") throw new SyntaxError(`unbalanced parentheses in "${expression}"`);
      return value;
    }
    if (token === undefined || token === ")" || /^(AND|OR|WITH)$/.test(token)) {
      throw new SyntaxError(`"${expression}" is not an SPDX expression`);
    }
    // `X WITH exception` adds permissions to X: it is allowed when X is.
    if (tokens[at] === "WITH") at += 2;
    return allowed.has(token);
  };
  const term = (): boolean => {
    let value = factor();
    while (tokens[at] === "AND") {
      at++;
      value = factor() && value;
    }
    return value;
  };
  const orExpression = (): boolean => {
    let value = term();
    while (tokens[at] === "OR") {
      at++;
      value = term() || value;
    }
    return value;
  };
  try {
    const value = orExpression();
    return value && at === tokens.length;
  } catch {
    return false;
  }
}

/** The package name of a lock key: `node_modules/a/node_modules/@s/b` is `@s/b`. */
export function packageNameOf(lockKey: string): string {
  return lockKey.slice(lockKey.lastIndexOf("node_modules/") + "node_modules/".length);
}

function undeclaredLicense(name: string): string | undefined {
  for (const [pattern, license] of UNDECLARED_LICENSES) {
    if (pattern.endsWith("*") ? name.startsWith(pattern.slice(0, -1)) : name === pattern) return license;
  }
  return undefined;
}

/**
 * What in `lock` breaks the policy, one line each: a license not allowed or not declared, an
 * install script not listed in `allowScripts` (package.json's field, name to true or false).
 */
export function lockViolations(lock: LockFile, allowScripts: Readonly<Record<string, boolean>>): string[] {
  const violations: string[] = [];
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (key === "" || entry.link === true) continue;
    const name = packageNameOf(key);
    const at = `${name}@${entry.version ?? "?"}`;
    const license = entry.license ?? undeclaredLicense(name);
    if (license === undefined) {
      violations.push(
        `${at} declares no license: read it and add it to UNDECLARED_LICENSES (scripts/dependency-policy.ts), or drop the package`,
      );
    } else if (!licenseAllowed(license)) {
      violations.push(
        `${at} is licensed ${license}, which ALLOWED_LICENSES does not allow: replace it, or review the license and add it`,
      );
    }
    if (entry.hasInstallScript === true && !(name in allowScripts)) {
      violations.push(
        `${at} has an install script that package.json's allowScripts does not list: review it, then add "${name}": true (run) or false (skip)`,
      );
    }
  }
  return violations;
}

/** The outcome of `npm audit --json`: a skip line when the registry did not answer, else what it found. */
export type AuditOutcome =
  | { readonly kind: "skipped"; readonly reason: string }
  | {
      readonly kind: "audited";
      readonly failing: string[];
      readonly reported: string[];
      readonly total: number;
    };

interface AuditReport {
  readonly vulnerabilities?: Record<string, { readonly severity: string; readonly via?: unknown[] }>;
  readonly message?: string;
  readonly error?: { readonly summary?: string; readonly code?: string };
}

/** Reads `npm audit --json`'s output (`stdout`), or why it did not audit. */
export function auditOutcome(stdout: string, stderr: string): AuditOutcome {
  let report: AuditReport;
  try {
    report = JSON.parse(stdout) as AuditReport;
  } catch {
    return { kind: "skipped", reason: stderr.trim().split("\n")[0] || "npm audit printed no report" };
  }
  if (report.vulnerabilities === undefined) {
    const reason =
      report.message ?? report.error?.summary ?? report.error?.code ?? "npm audit printed no report";
    return { kind: "skipped", reason: reason.split("\n")[0]! };
  }
  const failing: string[] = [];
  const reported: string[] = [];
  for (const [name, { severity }] of Object.entries(report.vulnerabilities)) {
    (AUDIT_FAILING_SEVERITIES.has(severity) ? failing : reported).push(`${name}: ${severity}`);
  }
  return { kind: "audited", failing, reported, total: Object.keys(report.vulnerabilities).length };
}

/** `npm audit` of the lock file alone (no node_modules needed). */
export function runAudit(): AuditOutcome {
  const audit = spawnSync("npm", ["audit", "--package-lock-only", "--json"], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    timeout: AUDIT_TIMEOUT_MS,
  });
  if (audit.error !== undefined) return { kind: "skipped", reason: audit.error.message };
  return auditOutcome(audit.stdout, audit.stderr);
}

/** The repository's lock file and `allowScripts`. */
export function repositoryDependencies(root: string = REPO_ROOT): {
  lock: LockFile;
  allowScripts: Record<string, boolean>;
} {
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
    allowScripts?: Record<string, boolean>;
  };
  const lockPath = join(root, "package-lock.json");
  if (!existsSync(lockPath)) throw new Error(`${lockPath} is missing: the policy checks the lock file`);
  return {
    lock: JSON.parse(readFileSync(lockPath, "utf8")) as LockFile,
    allowScripts: manifest.allowScripts ?? {},
  };
}

if (import.meta.main) {
  const { lock, allowScripts } = repositoryDependencies();
  const violations = lockViolations(lock, allowScripts);
  const count = Object.keys(lock.packages).length - 1;
  for (const line of violations) process.stdout.write(`dependency policy: ${line}\n`);
  const audit = runAudit();
  if (audit.kind === "skipped") {
    process.stdout.write(
      `dependency policy: npm audit skipped: the registry did not audit (${audit.reason})\n`,
    );
  } else {
    for (const line of audit.failing)
      process.stdout.write(`dependency policy: npm audit: ${line}: update or replace it\n`);
    for (const line of audit.reported)
      process.stdout.write(`dependency policy: npm audit (below high, reported): ${line}\n`);
  }
  const failed = violations.length > 0 || (audit.kind === "audited" && audit.failing.length > 0);
  process.stdout.write(
    `dependency policy: ${count} packages, licenses and install scripts ${violations.length === 0 ? "allowed" : `${violations.length} violations`}; audit ${audit.kind === "skipped" ? "skipped" : `${audit.total} advisories, ${audit.failing.length} high or critical`}\n`,
  );
  process.exit(failed ? 1 : 0);
}
