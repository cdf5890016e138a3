import type { InterruptSignal } from "./interrupt.ts";

/**
 * One long-lived part of a node (the store, the replica, sync, the observability endpoint...)
 * with a start/stop lifecycle, after js-libp2p's `Startable`. A {@link ComponentSet} starts a
 * node's components after the ones they depend on and stops them in the reverse order.
 *
 * Like libp2p's, the lifecycle has phases around `start` and `stop`, each run over every
 * component before the next phase begins: `start` (in dependency order), `afterStart` (same
 * order, once every component is started), then at shutdown `beforeStop` (reverse order, before
 * any component stops), `stop` (reverse order) and `afterStop` (reverse order, once every
 * component is stopped). Most components need only `start` and `stop`.
 *
 * @example
 * const store: Component = {
 *   name: "store",
 *   start: async () => { backend = await openLmdbBackend(options); },
 *   stop: () => backend.close(),
 * };
 * const replica: Component = { name: "replica", dependsOn: ["store"], start, stop };
 */
export interface Component {
  /** Unique within its set; what other components name in `dependsOn` and errors report. */
  readonly name: string;
  /** Names of the components that must be started before this one and stopped after it. */
  readonly dependsOn?: readonly string[];
  /** Acquires the component's resources; `signal` aborts a start that is no longer wanted. */
  start(signal?: InterruptSignal): Promise<void> | void;
  /** Runs once every component of the set has started. */
  afterStart?(): Promise<void> | void;
  /** Runs when shutdown begins, before any component of the set stops. */
  beforeStop?(): Promise<void> | void;
  /** Releases the component's resources; called once, and only after `start` succeeded. */
  stop(): Promise<void> | void;
  /** Runs once every component of the set has stopped. */
  afterStop?(): Promise<void> | void;
}
