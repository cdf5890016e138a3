import { NumaxError } from "../errors/numax-error.ts";

/** Where an effective configuration value came from, in precedence order (flag wins). */
export type ConfigSource = "flag" | "env" | "file" | "default";

/** What kind of problem a ConfigIssue is; stable, tests and scripts match on it. */
export type ConfigIssueKind =
  /** The file could not be read. */
  | "unreadable"
  /** The file is not valid TOML (line and column are set). */
  | "syntax"
  | "unknown-section"
  | "unknown-key"
  /** A value of the wrong TOML type (a string where an integer belongs). */
  | "wrong-type"
  /** The right type but not a valid value (a malformed duration, an unknown enum member). */
  | "invalid-value"
  | "out-of-range"
  /** Two keys that do not make sense together (a certificate without its key). */
  | "contradiction";

export interface ConfigIssue {
  readonly kind: ConfigIssueKind;
  /** The key (`limits.max_peers`), section (`[netwrok]`) or file the issue is about. */
  readonly subject: string;
  /** Where the bad value came from, when it came from one place. */
  readonly source?: ConfigSource;
  /** The environment variable or flag that carried the value, e.g. `NX_MAX_PEERS`. */
  readonly via?: string;
  readonly message: string;
  /** 1-based position in the file, for syntax errors. */
  readonly line?: number;
  readonly column?: number;
}

/** One line per issue, naming the key, where its value came from and what is wrong. */
export function formatConfigIssue(issue: ConfigIssue): string {
  const position = issue.line === undefined ? "" : `:${issue.line}:${issue.column ?? 1}`;
  const where = issue.via === undefined ? "" : ` (${issue.via})`;
  return `${issue.subject}${position}${where}: ${issue.message}`;
}

/**
 * Every problem found in a configuration at once, so that a user fixes them in one pass.
 * `message` is a summary line followed by one line per issue.
 */
export class ConfigError extends NumaxError {
  readonly issues: readonly ConfigIssue[];

  constructor(summary: string, issues: readonly ConfigIssue[]) {
    const count = issues.length === 1 ? "1 problem" : `${issues.length} problems`;
    const lines = issues.map((issue) => `  ${formatConfigIssue(issue)}`);
    super("USAGE_CONFIG_INVALID", [`${summary} (${count}):`, ...lines].join("\n"));
    this.issues = issues;
  }
}
