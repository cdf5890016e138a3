import { fstatSync } from "node:fs";
import { createRequire } from "node:module";
import type { pino as PinoFactory, Logger as PinoLogger } from "pino";
import { processStderr } from "../fs/stdio-writer.ts";
import { LOG_LEVELS, type LogFields, type LogFormat, type Logger, type LogLevel } from "./logger.ts";
import { formatTextLogLine } from "./text-log-line.ts";

/** Where log lines go. `write` must be synchronous enough that no line is lost at exit. */
export interface LogDestination {
  write(line: string): unknown;
}

export interface CreateLoggerOptions {
  readonly level: LogLevel;
  readonly format: LogFormat;
  /** Default: the process's stderr (src/fs/stdio-writer.ts: written synchronously). */
  readonly destination?: LogDestination;
  /** Wall clock in ms since the epoch, for timestamps. Default: Date.now. */
  readonly now?: () => number;
  /** Colored levels in text lines. Default: stderr is a terminal and NO_COLOR is not set. */
  readonly color?: boolean;
}

const LEVEL_RANK: Readonly<Record<LogLevel, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
};

const joinComponent = (parent: string, child: string): string =>
  parent === "" ? child : `${parent}.${child}`;

/**
 * Whether stderr is a terminal, asked at the first line. `process.stderr.isTTY` alone would load
 * Node's streams, net and tty (about 2-3 ms, src/fs/stdio-writer.ts) even when stderr is a pipe
 * or a file: only a character device (a terminal, or /dev/null) is asked that way.
 */
function stderrIsTerminal(): boolean {
  try {
    return fstatSync(2).isCharacterDevice() && process.stderr.isTTY === true;
  } catch {
    return false;
  }
}

function createTextLogger(
  options: CreateLoggerOptions,
  destination: LogDestination,
  now: () => number,
): Logger {
  const threshold = LEVEL_RANK[options.level];
  let color = options.color;
  const colored = (): boolean => {
    color ??= process.env.NO_COLOR === undefined && stderrIsTerminal();
    return color;
  };
  const make = (component: string): Logger => {
    const log =
      (level: LogLevel) =>
      (message: string, fields?: LogFields): void => {
        if (LEVEL_RANK[level] < threshold) return;
        destination.write(
          formatTextLogLine({ time: new Date(now()), level, component, message, fields, color: colored() }),
        );
      };
    return {
      trace: log("trace"),
      debug: log("debug"),
      info: log("info"),
      warn: log("warn"),
      error: log("error"),
      isLevelEnabled: (level) => LEVEL_RANK[level] >= threshold,
      child: (name) => make(joinComponent(component, name)),
    };
  };
  return make("");
}

// pino costs ~15-20 ms to load: only the json format pays it (see docs/observability.md).
let pinoModule: typeof PinoFactory | undefined;
function loadPino(): typeof PinoFactory {
  pinoModule ??= createRequire(import.meta.url)("pino") as typeof PinoFactory;
  return pinoModule;
}

function wrapPino(instance: PinoLogger, root: PinoLogger, component: string): Logger {
  const log =
    (level: LogLevel) =>
    (message: string, fields?: LogFields): void => {
      if (fields === undefined) instance[level](message);
      else instance[level](fields, message);
    };
  return {
    trace: log("trace"),
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
    isLevelEnabled: (level) => instance.isLevelEnabled(level),
    // Children are made from the root with the full dotted name: pino would repeat a
    // `component` key per nesting level otherwise.
    child: (name) => {
      const full = joinComponent(component, name);
      return wrapPino(root.child({ component: full }), root, full);
    },
  };
}

function createJsonLogger(
  options: CreateLoggerOptions,
  destination: LogDestination | undefined,
  now: () => number,
): Logger {
  const pino = loadPino();
  const root = pino(
    {
      level: options.level,
      timestamp: () => `,"time":${now()}`,
      // Level names ("info") rather than pino's numbers: what log queries are written against.
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    },
    destination ?? pino.destination({ dest: 2, sync: true }),
  );
  return wrapPino(root, root, "");
}

/**
 * The node's logger: `text` lines for people or pino NDJSON for collectors, at `level` and
 * above, with component names (`logger.child("sync")` → `component: "sync"`).
 *
 * @example
 * const logger = createLogger({ level: "info", format: "text" });
 * logger.child("observability").info("listening", { url: "http://127.0.0.1:9100" });
 * // 14:03:07.412 INFO  observability: listening url=http://127.0.0.1:9100
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  if (!LOG_LEVELS.includes(options.level)) throw new RangeError(`unknown log level ${options.level}`);
  const now = options.now ?? Date.now;
  if (options.format === "json") return createJsonLogger(options, options.destination, now);
  return createTextLogger(options, options.destination ?? processStderr, now);
}
