import type { LogFields, Logger, LogLevel } from "../../../src/observe/logger.ts";

export interface LogLine {
  readonly level: LogLevel;
  readonly message: string;
  readonly fields: LogFields | undefined;
}

/** A Logger that keeps every line, so tests can assert that a failure was reported clearly. */
export function recordingLogger(): Logger & {
  readonly lines: LogLine[];
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<LogLine>;
} {
  const lines: LogLine[] = [];
  const listeners = new Set<(line: LogLine) => void>();
  const log = (level: LogLevel) => (message: string, fields?: LogFields) => {
    const line = { level, message, fields };
    lines.push(line);
    for (const listener of listeners) listener(line);
  };
  const logger = {
    lines,
    trace: log("trace"),
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
    isLevelEnabled: () => true,
    child: () => logger,
    waitFor(pattern: RegExp, timeoutMs = 5000): Promise<LogLine> {
      const found = lines.find((line) => pattern.test(line.message));
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(listener);
          reject(
            new Error(
              `no log line matching ${pattern} within ${timeoutMs} ms; got:\n${lines.map((l) => `${l.level} ${l.message}`).join("\n")}`,
            ),
          );
        }, timeoutMs);
        const listener = (line: LogLine) => {
          if (!pattern.test(line.message)) return;
          clearTimeout(timer);
          listeners.delete(listener);
          resolve(line);
        };
        listeners.add(listener);
      });
    },
  };
  return logger;
}
