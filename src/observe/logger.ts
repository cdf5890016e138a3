/**
 * The logging seam. Library code logs only through a Logger it was given (never console.*),
 * named by component: `logger.child("sync")`. The real implementation is pino-backed
 * (see `create-logger.ts`); tests pass `silentLogger` or a recording logger.
 */
export type LogLevel = "trace" | "debug" | "info" | "warn" | "error";

export const LOG_LEVELS: readonly LogLevel[] = ["trace", "debug", "info", "warn", "error"];

/** How log lines are written: `text` for humans at a terminal, `json` (NDJSON) for collectors. */
export type LogFormat = "text" | "json";

export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

export type LogFields = Record<string, unknown>;

export interface Logger {
  trace(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  isLevelEnabled(level: LogLevel): boolean;
  /** A logger whose lines carry `component` (nested names join with "."). */
  child(component: string): Logger;
}

const noop = (): void => {};

export const silentLogger: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  isLevelEnabled: () => false,
  child: () => silentLogger,
};
