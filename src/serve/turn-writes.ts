/**
 * Writes to clients deferred to the end of the event loop's turn: what handlers answer (HTTP
 * responses, WebSocket frames and closes) is written once the turn has run its other callbacks,
 * all together, in the order it was deferred, rather than from inside each handler's return or
 * host call. On loopback under load (32 keep-alive clients, alternated pairs) that cost the node
 * 22.0-22.8 µs of CPU per request against 23.2-26.2, and 9.3-9.6 µs per WebSocket echo against
 * 13-14, where a microtask instead gained nothing: it is writing the turn's answers together that
 * saves (bench/reports/README.md). A write waits at most for the turn's other callbacks, never for
 * a timer.
 *
 * Every write is on its own: one that throws goes to its own `failed` (which answers its client
 * another way) and the turn's other writes still go out.
 */

const writes: (() => void)[] = [];
const failures: ((error: unknown) => void)[] = [];
let scheduled = false;

/**
 * Runs `write` at the end of this event-loop turn (`setImmediate`), after the writes deferred
 * before it; if it throws, `failed` gets the error. A `failed` that throws is a broken invariant:
 * rethrown (uncaught) once the turn's other writes are out.
 */
export function writeAtTurnEnd(write: () => void, failed: (error: unknown) => void): void {
  writes.push(write);
  failures.push(failed);
  if (scheduled) return;
  scheduled = true;
  setImmediate(writeAll);
}

function writeAll(): void {
  scheduled = false;
  // Writes deferred while these run (a write's own callbacks) wait for the next turn.
  const turn = writes.splice(0, writes.length);
  const failed = failures.splice(0, failures.length);
  let broken: { error: unknown } | undefined;
  for (let index = 0; index < turn.length; index++) {
    try {
      turn[index]!();
    } catch (error) {
      try {
        failed[index]!(error);
      } catch (failure) {
        broken ??= { error: failure };
      }
    }
  }
  if (broken !== undefined) throw broken.error;
}
