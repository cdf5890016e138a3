/**
 * Runs `emit` once the writes the node made before this call are durable: the node's output
 * gate (`DurableOutputGate.release`, docs/storage.md). What a handler sends (a response, an
 * event, a frame) acknowledges the writes it made before, so it goes through one of these.
 */
export type ReleaseOutput = (emit: () => void) => void;

/** Sends at once: a listener without a store behind it. */
export const RELEASE_AT_ONCE: ReleaseOutput = (emit) => emit();
