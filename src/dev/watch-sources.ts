import { watch } from "node:fs";
import { extname, sep } from "node:path";

/**
 * How long `nx dev` waits after a source changed for more changes before it rebuilds: an editor
 * saving several files (or writing one in steps) gives one build, not one per write.
 */
export const DEV_REBUILD_DEBOUNCE_MS = 100;

/** Folders under a project that hold no sources: the build's output and installed packages. */
const NOT_SOURCES = new Set(["build", "node_modules", ".git"]);

/**
 * Calls `changed` once the files under `dir` with one of `extensions` stop changing for
 * {@link DEV_REBUILD_DEBOUNCE_MS} (node:fs.watch, recursive: inotify on Linux, FSEvents on
 * macOS). Writes under build/ or node_modules/ are not changes. Returns how to stop watching.
 */
export function watchSources(
  dir: string,
  extensions: readonly string[],
  changed: () => void,
): { close(): void } {
  let timer: NodeJS.Timeout | undefined;
  const watcher = watch(dir, { recursive: true }, (_event, file) => {
    if (file === null || !extensions.includes(extname(file))) return;
    if (NOT_SOURCES.has(file.split(sep)[0]!)) return;
    clearTimeout(timer);
    timer = setTimeout(changed, DEV_REBUILD_DEBOUNCE_MS);
  });
  return {
    close: () => {
      clearTimeout(timer);
      watcher.close();
    },
  };
}
