import { createHash, randomFillSync } from "node:crypto";

/**
 * `nx run --deterministic [--seed N]` (docs/design/determinism.md): the sources of
 * non-determinism a node hands its guests and its replica, made reproducible. One seed gives the
 * same guest randomness, the same virtual time, the same node id (without TLS) and so, for the
 * same modules and inputs on an empty datastore, the same replicated state and guest output.
 */
export interface Determinism {
  readonly seed: bigint;
  /** Virtual wall-clock time, Unix ms: DETERMINISTIC_EPOCH_MS, advancing VIRTUAL_TICK_MS per reading. */
  nowMs(): number;
  /** Virtual monotonic time: ms since the run began, on the same clock. */
  monotonicMs(): number;
  /** Fills `target` from the seeded stream: SHA-256(seed ‖ block counter), 32 bytes a block. */
  randomFill(target: Uint8Array): void;
}

/** Where virtual time starts: 2026-01-01T00:00:00Z (the same for every run and seed). */
export const DETERMINISTIC_EPOCH_MS = Date.UTC(2026, 0, 1);
/**
 * Virtual time advances this much at each reading (guests' and the replica's alike), so that
 * two readings never see the same time and a busy-wait on the clock ends.
 */
const VIRTUAL_TICK_MS = 1;
/** Largest `--seed`: seeds are unsigned 64-bit. */
export const DETERMINISTIC_SEED_MAX = 2n ** 64n - 1n;

export function createDeterminism(seed: bigint): Determinism {
  let elapsedMs = 0;
  const tick = (): number => {
    elapsedMs += VIRTUAL_TICK_MS;
    return elapsedMs;
  };
  const seedBytes = Buffer.alloc(8);
  seedBytes.writeBigUInt64BE(seed);
  let block = 0n;
  let pool: Buffer = Buffer.alloc(0);
  const nextBlock = (): Buffer => {
    const counter = Buffer.alloc(8);
    counter.writeBigUInt64BE(block++);
    return createHash("sha256").update(seedBytes).update(counter).digest();
  };
  return {
    seed,
    nowMs: () => DETERMINISTIC_EPOCH_MS + tick(),
    monotonicMs: tick,
    randomFill(target) {
      for (let filled = 0; filled < target.length; ) {
        if (pool.length === 0) pool = nextBlock();
        const take = Math.min(pool.length, target.length - filled);
        target.set(pool.subarray(0, take), filled);
        pool = pool.subarray(take);
        filled += take;
      }
    },
  };
}

/**
 * Where a node's own random bytes (its node id without TLS) come from: the seeded stream under
 * `determinism`, else the system's source.
 *
 * @example
 * const nodeId = await loadOrCreateNodeId(backend, randomBytesSource(determinism));
 */
export function randomBytesSource(determinism: Determinism | undefined): (n: number) => Uint8Array {
  return (n) => {
    const bytes = new Uint8Array(n);
    if (determinism === undefined) randomFillSync(bytes);
    else determinism.randomFill(bytes);
    return bytes;
  };
}

/** `--seed` text as a seed; undefined when it is not an integer from 0 to 2^64 - 1. */
export function parseSeed(text: string): bigint | undefined {
  if (!/^\d{1,20}$/.test(text)) return undefined;
  const seed = BigInt(text);
  return seed <= DETERMINISTIC_SEED_MAX ? seed : undefined;
}
