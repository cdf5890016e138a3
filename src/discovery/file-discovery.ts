import { type FSWatcher, watch } from "node:fs";
import { basename, dirname } from "node:path";
import { backgroundClock, type Clock, type TimerHandle } from "../clock/clock.ts";
import { describeError } from "../errors/numax-error.ts";
import { readInputFile } from "../fs/read-input-file.ts";
import type { Logger } from "../observe/logger.ts";
import { CandidateSet } from "./candidate-set.ts";
import type { PeerDiscovery } from "./peer-discovery.ts";
import { PEERS_FILE_BYTES_MAX, parsePeersFile } from "./peers-file.ts";

/** How long a burst of directory events settles before the file is read once. */
const FILE_EVENT_SETTLE_MS = 50;

export interface FileDiscoveryOptions {
  /** `[discovery] peers_file`. */
  readonly path: string;
  /** `[discovery] refresh_interval`: the file is read this often too (watches miss some changes). */
  readonly refreshIntervalMs: number;
  readonly logger: Logger;
  /** The refresh and settle timers' clock; default `backgroundClock`. */
  readonly clock?: Clock;
}

/**
 * `[discovery] mode = "file"`: the `host:port` lines of a peers file (`parsePeersFile`), read
 * again when its directory changes and every `refreshIntervalMs`. The directory is watched, not
 * the file: a Kubernetes ConfigMap or a Consul template replaces the file by a rename or a symlink
 * swap, which a watch on the file itself misses. A missing, unreadable or oversized file keeps
 * the last good set, with one warning per distinct problem.
 */
export function createFileDiscovery(options: FileDiscoveryOptions): PeerDiscovery {
  const { path, refreshIntervalMs, logger, clock = backgroundClock } = options;
  const set = new CandidateSet(logger);
  let watcher: FSWatcher | undefined;
  let poll: TimerHandle | undefined;
  let settle: TimerHandle | undefined;
  let lastProblem: string | undefined;
  let stopped = false;
  /** Reads run one at a time; a change during a read reads again after it. */
  let reading: Promise<void> | undefined;
  let readAgain = false;

  const problem = (message: string): void => {
    if (message !== lastProblem) logger.warn(message);
    lastProblem = message;
  };

  const readOnce = async (): Promise<void> => {
    const text = await readBounded(path).catch((error: unknown) => {
      const code = (error as NodeJS.ErrnoException).code;
      problem(
        code === "ENOENT"
          ? `peers file ${path} does not exist (yet): no peers from it until it does`
          : `cannot read peers file ${path}: ${describeError(error)}; keeping the last peers read`,
      );
      return code === "ENOENT" ? "" : undefined;
    });
    if (text === undefined || stopped) return;
    if (text === null) {
      problem(
        `peers file ${path} is larger than ${PEERS_FILE_BYTES_MAX} bytes (PEERS_FILE_BYTES_MAX); keeping the last peers read`,
      );
      return;
    }
    const { addresses, problems } = parsePeersFile(text);
    const summary = problems.map((p) => `${path}:${p.line}: ${p.message}`).join("; ");
    if (summary !== "") problem(`peers file: skipped ${problems.length} line(s): ${summary}`);
    else lastProblem = undefined;
    set.replace(addresses.map((address) => ({ address })));
  };

  const read = (): Promise<void> => {
    if (reading !== undefined) {
      readAgain = true;
      return reading;
    }
    reading = (async () => {
      do {
        readAgain = false;
        await readOnce();
      } while (readAgain && !stopped);
      reading = undefined;
    })();
    return reading;
  };

  return {
    name: "file",
    async start() {
      await read();
      try {
        watcher = watch(dirname(path), { persistent: false }, () => {
          clock.clearTimeout(settle);
          settle = clock.setTimeout(() => void read(), FILE_EVENT_SETTLE_MS);
        });
        watcher.on("error", (error) =>
          logger.warn("peers file watch failed; polling only", { path, error: describeError(error) }),
        );
      } catch (error) {
        logger.warn(
          `cannot watch the directory of ${basename(path)}; reading it every refresh_interval only`,
          {
            path,
            error: describeError(error),
          },
        );
      }
      poll = clock.setInterval(() => void read(), refreshIntervalMs);
    },
    async stop() {
      stopped = true;
      watcher?.close();
      clock.clearTimeout(settle);
      clock.clearTimeout(poll);
      set.close();
      await reading;
    },
    discover: () => set.discover(),
    announce: async (self) => set.setSelf(self),
    watch: (listener) => set.watch(listener),
  };
}

/**
 * The file's text, or null when it holds more than PEERS_FILE_BYTES_MAX bytes. `readInputFile`
 * also refuses a FIFO or device at once (a FIFO would otherwise hold the node's start).
 */
async function readBounded(path: string): Promise<string | null> {
  try {
    return readInputFile(path, PEERS_FILE_BYTES_MAX).toString("utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EFBIG") return null;
    throw error;
  }
}
