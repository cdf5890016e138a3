import type { Logger } from "../observe/logger.ts";

/** Per-source refusal kinds remembered at once; beyond, the longest quiet one is forgotten. */
export const REFUSAL_LOG_SOURCES_MAX = 256;

/**
 * Logs refused inbound connections without letting a flood or a peer that keeps redialing (an
 * intruder of another cluster, a stranger outside the allowlist) write a line per attempt: the
 * first refusal of a kind from a source is logged at once, the same refusal again from that source
 * within `intervalMs` only counted, and the next line logged says how many there were since.
 *
 * A source is what the caller names (the remote IP, not its port: every redial has a new port;
 * or one name for every address, to bound a whole flood's lines), a kind is what the refusals
 * have in common (an error code); `nowMs` is the transport's clock.
 */
export class RefusalLog {
  readonly #logger: Logger;
  readonly #nowMs: () => number;
  readonly #intervalMs: number;
  readonly #last = new Map<string, { atMs: number; leftOut: number }>();

  constructor(logger: Logger, nowMs: () => number, intervalMs: number) {
    this.#logger = logger;
    this.#nowMs = nowMs;
    this.#intervalMs = intervalMs;
  }

  report(source: string, kind: string, message: string, fields: Record<string, unknown>): void {
    const key = `${source} ${kind}`;
    const now = this.#nowMs();
    const last = this.#last.get(key);
    if (last !== undefined && now - last.atMs < this.#intervalMs) {
      last.leftOut++;
      return;
    }
    const leftOut = last?.leftOut ?? 0;
    this.#last.delete(key);
    this.#last.set(key, { atMs: now, leftOut: 0 });
    if (this.#last.size > REFUSAL_LOG_SOURCES_MAX) this.#last.delete(this.#last.keys().next().value!);
    const refused = leftOut + 1;
    const suffix = leftOut === 0 ? "" : ` (${refused} refused since the last report)`;
    this.#logger.warn(`${message}${suffix}`, { ...fields, refused });
  }
}
