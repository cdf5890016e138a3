/**
 * Group commit under load. A commit writes its dirty pages and fdatasyncs on the event-loop
 * thread, at a cost that grows far slower than its number of writes (one fsync per commit, and a
 * page dirtied twice in a group is written once). So a commit waits until the thread has run for
 * COMMIT_PACING_FACTOR times as long as the previous commit took, counted from its end, at most
 * COMMIT_PACING_MAX_MS: commits then take at most about 1 / (1 + factor) of the thread, and the
 * writes that arrive meanwhile join the group instead of paying for commits of their own. After a
 * quiet spell the window has long passed and a group is committed at the end of its turn.
 *
 * The size of the group does not matter: many small groups in a row (a replica that writes a few
 * records at each wake of a guest) cost one fsync each just as large ones do, and are exactly
 * what pacing is for.
 */
export const COMMIT_PACING_FACTOR = 2;
export const COMMIT_PACING_MAX_MS = 10;

/** What the pacing decision looks at; times in milliseconds on one monotonic clock. */
export interface CommitPacingInput {
  /** How long the previous commit took. */
  lastCommitMs: number;
  /** When the previous commit ended. */
  lastCommitEndMs: number;
  nowMs: number;
}

/** How much longer the open group should gather writes before it is committed: 0 for now. */
export function commitPauseMs(input: CommitPacingInput): number {
  const pauseMs = Math.min(input.lastCommitMs * COMMIT_PACING_FACTOR, COMMIT_PACING_MAX_MS);
  return Math.max(0, input.lastCommitEndMs + pauseMs - input.nowMs);
}
