/**
 * Base of every operating error Numax reports: bad input, a peer gone, a full disk.
 * `code` is stable (tests and scripts match on it); `message` is the one line a user reads,
 * saying what was wrong and, where possible, what to do about it.
 *
 * Broken invariants are not NumaxErrors: they are assertions that crash the process.
 */
export class NumaxError extends Error {
  readonly code: string;
  /** The exit code of an `nx` command that ends with this error, when not the default rule's (src/cli/main.ts). */
  readonly commandExitCode: number | undefined;

  constructor(code: string, message: string, options?: { cause?: unknown; commandExitCode?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.commandExitCode = options?.commandExitCode;
    this.name = new.target.name;
  }
}

/** The one line printed for any thrown value: the message for a NumaxError, a short form otherwise. */
export function describeError(error: unknown): string {
  if (error instanceof NumaxError) return error.message;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
