/**
 * Group commit under load. A commit writes its dirty pages and fdatasyncs on the event-loop
 * thread, at a cost that grows far slower than its number of writes (one fsync per commit, and a
 * page dirtied twice in a group is written once). So once a group is large enough to show load,
 * its commit waits until the thread has run for COMMIT_PACING_FACTOR times as long as the previous
 * commit took, at most COMMIT_PACING_MAX_MS: commits then take at most about 1 / (1 + factor) of
 * the thread, and the writes that arrive meanwhile join the group instead of paying for commits of
 * their own. A small group (fewer than PACED_COMMIT_MIN_WRITES writes) is committed at the end of
 * its turn, as if there were no pacing.
 */
export const PACED_COMMIT_MIN_WRITES = 8;
export const COMMIT_PACING_FACTOR = 2;
export const COMMIT_PACING_MAX_MS = 10;

/** What the pacing decision looks at; times in milliseconds on one monotonic clock. */
export interface CommitPacingInput {
  /** Writes in the open group. */
  writesInGroup: number;
  /** How long the previous commit took. */
  lastCommitMs: number;
  /** When the previous commit ended. */
  lastCommitEndMs: number;
  nowMs: number;
}

/** How much longer the open group should gather writes before it is committed: 0 for now. */
export function commitPauseMs(input: CommitPacingInput): number {
  if (input.writesInGroup < PACED_COMMIT_MIN_WRITES) return 0;
  const pauseMs = Math.min(input.lastCommitMs * COMMIT_PACING_FACTOR, COMMIT_PACING_MAX_MS);
  return Math.max(0, input.lastCommitEndMs + pauseMs - input.nowMs);
}
