/**
 * Writes to clients deferred to the end of the event loop's turn: what handlers answer (HTTP
 * responses, WebSocket frames and closes) is written once the turn has run its other callbacks,
 * all together, in the order it was deferred, rather than from inside each handler's return or
 * host call. On loopback under load (32 keep-alive clients, alternated pairs) that cost the node
 * 22.0-22.8 µs of CPU per request against 23.2-26.2, and 9.3-9.6 µs per WebSocket echo against
 * 13-14, where a microtask instead gained nothing: it is writing the turn's answers together that
 * saves (bench/reports/README.md). A write waits at most for the turn's other callbacks, never for
 * a timer.
 */

const pending: (() => void)[] = [];
let scheduled = false;

/** Runs `write` at the end of this event-loop turn (`setImmediate`), after the writes deferred before it. */
export function writeAtTurnEnd(write: () => void): void {
  pending.push(write);
  if (scheduled) return;
  scheduled = true;
  setImmediate(writeAll);
}

function writeAll(): void {
  scheduled = false;
  // Writes deferred while these run (a write's own callbacks) wait for the next turn.
  const writes = pending.splice(0, pending.length);
  for (const write of writes) write();
}
