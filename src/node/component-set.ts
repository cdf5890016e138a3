import { type Logger, silentLogger } from "../observe/logger.ts";
import type { Component } from "./component.ts";
import { orderComponents } from "./component-order.ts";
import type { InterruptSignal } from "./interrupt.ts";

/** A lifecycle phase of a component (see component.ts). */
export type ComponentPhase = "start" | "afterStart" | "beforeStop" | "stop" | "afterStop";

/** A component whose phase threw, and what it threw. */
export interface ComponentFailure {
  readonly component: string;
  readonly phase: ComponentPhase;
  readonly error: unknown;
}

/**
 * A component's `start` (or `afterStart`) failed. The components started before it have been
 * stopped (in reverse order); `cause` is what it threw and `stopFailures` what those stops
 * threw, if anything.
 */
export class ComponentStartError extends Error {
  readonly code = "COMPONENT_START_FAILED";
  readonly component: string;
  readonly phase: ComponentPhase;
  readonly stopFailures: readonly ComponentFailure[];

  constructor(failure: ComponentFailure, stopFailures: readonly ComponentFailure[]) {
    super(
      `component "${failure.component}" failed to ${phaseText(failure.phase)}: ${describe(failure.error)}`,
      {
        cause: failure.error,
      },
    );
    this.name = new.target.name;
    this.component = failure.component;
    this.phase = failure.phase;
    this.stopFailures = stopFailures;
  }
}

/** One or more components' stop phases threw; every other phase of every component still ran. */
export class ComponentStopError extends Error {
  readonly code = "COMPONENT_STOP_FAILED";
  readonly failures: readonly ComponentFailure[];

  constructor(failures: readonly ComponentFailure[]) {
    super(
      `${failures.length === 1 ? "a component" : `${failures.length} components`} failed to stop: ${failures
        .map(({ component, phase, error }) => `${component} (${phase}): ${describe(error)}`)
        .join("; ")}`,
    );
    this.name = new.target.name;
    this.failures = failures;
  }
}

/**
 * Starts components after their dependencies (see component-order.ts) and stops them in the
 * reverse order, so nothing is stopped while a component that uses it still runs.
 *
 * @example
 * const set = new ComponentSet([store, replica, sync]); // throws now if they cannot be ordered
 * await set.start();                                    // store, replica, sync
 * await set.stop();                                     // sync, replica, store
 */
export class ComponentSet {
  /** In start order. */
  readonly components: readonly Component[];
  /** The components started and not yet stopped, in start order. */
  #started: Component[] = [];
  /** The `beforeStop` phase, once begun (beginStop, or stop): its failures. */
  #beforeStop: Promise<ComponentFailure[]> | undefined;
  readonly #logger: Logger;

  /** `logger` gets one debug line per component started or stopped. */
  constructor(components: readonly Component[], options: { readonly logger?: Logger } = {}) {
    this.components = orderComponents(components);
    this.#logger = options.logger ?? silentLogger;
  }

  /**
   * Starts every component in order, then runs their `afterStart`. If one fails (or `signal`
   * aborts between two, or before `afterStart`), stops the ones already started, in reverse, and throws a
   * {@link ComponentStartError} naming it; an aborted start whose stops threw throws those
   * ({@link ComponentStopError}).
   */
  async start(signal?: InterruptSignal): Promise<void> {
    for (const component of this.components) {
      try {
        if (signal?.aborted === true) throw signal.reason;
        await component.start(signal);
      } catch (error) {
        throw await this.#startFailed({ component: component.name, phase: "start", error }, signal);
      }
      this.#started.push(component);
      this.#logger.debug("component started", { component: component.name });
    }
    for (const [index, component] of this.components.entries()) {
      try {
        // Aborted once every part is up: none begins its work (the modules run from afterStart).
        if (index === 0 && signal?.aborted === true) throw signal.reason;
        await component.afterStart?.();
      } catch (error) {
        throw await this.#startFailed({ component: component.name, phase: "afterStart", error }, signal);
      }
    }
  }

  /**
   * Stops the components started after `failure`. An abort is no failure of the set (`nx run`
   * exits 0 on it), so a start aborted whose stops threw (a store that could not save as it
   * closed) is a {@link ComponentStopError}, not an error that reads as the abort.
   */
  async #startFailed(failure: ComponentFailure, signal: InterruptSignal | undefined): Promise<Error> {
    const stopFailures = await this.#stopStarted();
    const aborted = signal?.aborted === true && failure.error === signal.reason;
    if (aborted && stopFailures.length > 0) return new ComponentStopError(stopFailures);
    return new ComponentStartError(failure, stopFailures);
  }

  /**
   * Shutdown begins: runs the started components' `beforeStop` now (once), in reverse start
   * order, before anything stops: a node reports not ready while its parts still run. Its
   * failures are thrown by `stop`, which runs the other phases.
   */
  async beginStop(): Promise<void> {
    this.#beforeStop ??= this.#runBeforeStop([...this.#started].reverse());
    await this.#beforeStop;
  }

  /**
   * Stops the started components: `beforeStop` (unless `beginStop` ran it), `stop`, then
   * `afterStop`, each in reverse start order. Every phase of every component runs even if an
   * earlier one threw; the failures are thrown together as a {@link ComponentStopError}.
   * Stopping again does nothing.
   */
  async stop(): Promise<void> {
    const failures = await this.#stopStarted();
    if (failures.length > 0) throw new ComponentStopError(failures);
  }

  async #stopStarted(): Promise<ComponentFailure[]> {
    const started = this.#started.reverse();
    this.#started = [];
    const failures = [...(await (this.#beforeStop ?? this.#runBeforeStop(started)))];
    this.#beforeStop = undefined;
    const run = (component: Component, phase: ComponentPhase, step: () => Promise<void> | void) =>
      runPhase(component, phase, step, failures);
    for (const component of started) {
      if (await run(component, "stop", () => component.stop())) {
        this.#logger.debug("component stopped", { component: component.name });
      }
    }
    for (const component of started) {
      const { afterStop } = component;
      if (afterStop !== undefined) await run(component, "afterStop", () => afterStop.call(component));
    }
    return failures;
  }

  async #runBeforeStop(started: readonly Component[]): Promise<ComponentFailure[]> {
    const failures: ComponentFailure[] = [];
    for (const component of started) {
      const { beforeStop } = component;
      if (beforeStop !== undefined) {
        await runPhase(component, "beforeStop", () => beforeStop.call(component), failures);
      }
    }
    return failures;
  }
}

/** Runs one phase of `component`; true when it did not throw (what it threw joins `failures`). */
async function runPhase(
  component: Component,
  phase: ComponentPhase,
  step: () => Promise<void> | void,
  failures: ComponentFailure[],
): Promise<boolean> {
  try {
    await step();
    return true;
  } catch (error) {
    failures.push({ component: component.name, phase, error });
    return false;
  }
}

function phaseText(phase: ComponentPhase): string {
  return phase === "start" ? "start" : `run ${phase}`;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
