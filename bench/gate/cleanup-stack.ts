import { describeError } from "../../src/errors/numax-error.ts";

/**
 * Everything a gate must undo (processes, proxies, temporary directories), undone in reverse
 * order whatever happens: success, failure or Ctrl-C. Each step is bounded by the step itself
 * (a process stop escalates to SIGKILL); a step that throws does not stop the others.
 */
export class CleanupStack {
  readonly #steps: { label: string; run: () => unknown }[] = [];
  #ran: Promise<string[]> | undefined;

  defer(label: string, run: () => unknown): void {
    this.#steps.push({ label, run });
  }

  /** Runs every step once (later calls get the first run's outcome); returns the failures. */
  runAll(): Promise<string[]> {
    this.#ran ??= (async () => {
      const failures: string[] = [];
      while (this.#steps.length > 0) {
        const step = this.#steps.pop()!;
        try {
          await step.run();
        } catch (error) {
          failures.push(`${step.label}: ${describeError(error)}`);
        }
      }
      return failures;
    })();
    return this.#ran;
  }
}
