/**
 * `path.join(directory, name)` for a `directory` already absolute and normalized (what
 * `path.resolve` and `realpathSync` return) and a `name` of one segment, by concatenation.
 * `path.join` normalizes its whole result character by character, and the joins of a plain
 * `nx run` (the datastore's layout, the module cache's entries) made node:path's
 * `normalizeString` hot enough for V8 to compile it with Maglev on a background thread at every
 * start, about 0.6 ms of CPU (test/cli-entry.test.ts).
 *
 * @example childPath("/var/lib/numax", "store") // "/var/lib/numax/store"
 */
export function childPath(directory: string, name: string): string {
  return directory.endsWith("/") ? `${directory}${name}` : `${directory}/${name}`;
}
