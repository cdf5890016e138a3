import type { Logger } from "../observe/logger.ts";
import type { AuditLog } from "./audit-log.ts";

/** Audit lines one module writes at most per window; the denials beyond are counted. */
export const POLICY_AUDIT_LINES_MAX = 20;
/** The window of {@link POLICY_AUDIT_LINES_MAX}, in milliseconds. */
export const POLICY_AUDIT_WINDOW_MS = 60_000;
/** Longest subject (key, topic, name) an audit line shows, in characters. */
export const POLICY_AUDIT_SUBJECT_CHARS_MAX = 256;

const lenientUtf8 = new TextDecoder("utf-8");

/** A subject as a line shows it: text, invalid UTF-8 as U+FFFD, cut to a bounded length. */
function shownSubject(subject: Uint8Array | string): string {
  const text = typeof subject === "string" ? subject : lenientUtf8.decode(subject);
  return text.length > POLICY_AUDIT_SUBJECT_CHARS_MAX
    ? `${text.slice(0, POLICY_AUDIT_SUBJECT_CHARS_MAX)}...`
    : text;
}

/**
 * The audit lines of one module's denied host calls (docs/design/policies.md#audit-line): one
 * warning per denial naming module, call, capability and key, at most
 * {@link POLICY_AUDIT_LINES_MAX} per {@link POLICY_AUDIT_WINDOW_MS}, so a guest that loops on a
 * denied call cannot flood the log; the next line written says how many were left out.
 */
export class PolicyAudit {
  readonly #moduleId: string;
  readonly #logger: Logger;
  readonly #nowMs: () => number;
  readonly #auditLog: AuditLog | undefined;
  #windowStartMs = Number.NEGATIVE_INFINITY;
  #linesInWindow = 0;
  #leftOut = 0;

  /** `auditLog`: the opt-in JSON-lines log, which gets every denial (it has its own bound). */
  constructor(moduleId: string, logger: Logger, nowMs: () => number, auditLog?: AuditLog) {
    this.#moduleId = moduleId;
    this.#logger = logger;
    this.#nowMs = nowMs;
    this.#auditLog = auditLog;
  }

  denied(call: string, capability: string, subject?: Uint8Array | string): void {
    if (this.#auditLog !== undefined) {
      const key = subject === undefined ? undefined : shownSubject(subject);
      this.#auditLog.write({
        kind: "denied",
        module: this.#moduleId,
        call,
        capability,
        ...(key === undefined ? {} : { key }),
      });
    }
    const now = this.#nowMs();
    if (now - this.#windowStartMs >= POLICY_AUDIT_WINDOW_MS) {
      this.#windowStartMs = now;
      this.#linesInWindow = 0;
    }
    if (this.#linesInWindow >= POLICY_AUDIT_LINES_MAX) {
      this.#leftOut++;
      return;
    }
    this.#linesInWindow++;
    const key = subject === undefined ? undefined : shownSubject(subject);
    const what = key === undefined ? capability : `${capability} ${JSON.stringify(key)}`;
    const suffix = this.#leftOut === 0 ? "" : ` (${this.#leftOut} more denials of this module not logged)`;
    const fields: Record<string, unknown> = { module: this.#moduleId, call, capability };
    if (key !== undefined) fields.key = key;
    if (this.#leftOut > 0) fields.leftOut = this.#leftOut;
    this.#logger.warn(
      `policy denied ${call}: ${what} is not granted to module ${this.#moduleId}${suffix}`,
      fields,
    );
    this.#leftOut = 0;
  }
}
