import type { CleanupStack } from "../cleanup-stack.ts";
import type { ScenarioOutcome } from "../gate-report.ts";
import type { GateSettings } from "../gate-settings.ts";

/** What a scenario gets from the runner. */
export interface ScenarioContext {
  readonly settings: GateSettings;
  /** A temporary directory of this run (datastores, profiles), removed by the cleanup. */
  readonly workDir: string;
  /** Register every process, proxy and file to undo; the runner runs it whatever happens. */
  readonly cleanup: CleanupStack;
  /** Aborted on Ctrl-C / SIGTERM: stop waiting and return or throw. */
  readonly signal: AbortSignal;
  /** A progress line for the person watching. */
  readonly say: (message: string) => void;
}

export type Scenario = (context: ScenarioContext) => Promise<ScenarioOutcome>;
