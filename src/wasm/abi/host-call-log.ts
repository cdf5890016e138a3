/**
 * The opt-in audit log of one module's host calls (docs/design/policies.md#audit-log): the runtime
 * wraps each host function the module imports, and the log records one call in every N (its
 * sampling) with its result. A module without it (`GuestEnvironment.callLog` absent) pays nothing.
 *
 * @example
 * imports.nx.db_get = callLog.wrap("nx", "db_get", imports.nx.db_get);
 */
export interface HostCallLog {
  wrap<Args extends unknown[], Result>(
    module: string,
    name: string,
    fn: (...args: Args) => Result,
  ): (...args: Args) => Result;
}
