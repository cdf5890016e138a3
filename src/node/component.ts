/**
 * One long-lived part of a node (the store, the replica, sync, the observability endpoint...)
 * with a start/stop lifecycle, after js-libp2p's `Startable`. A {@link ComponentSet} starts a
 * node's components after the ones they depend on and stops them in the reverse order.
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
  start(signal?: AbortSignal): Promise<void> | void;
  /** Releases them; called once, and only after `start` succeeded. */
  stop(): Promise<void> | void;
}
