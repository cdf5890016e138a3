import type { Component } from "./component.ts";
import { orderComponents } from "./component-order.ts";

/** A component whose `stop` threw, and what it threw. */
export interface ComponentFailure {
  readonly component: string;
  readonly error: unknown;
}

/**
 * A component's `start` failed. The components started before it have been stopped (in reverse
 * order); `cause` is what `start` threw and `stopFailures` what those stops threw, if anything.
 */
export class ComponentStartError extends Error {
  readonly code = "COMPONENT_START_FAILED";
  readonly component: string;
  readonly stopFailures: readonly ComponentFailure[];

  constructor(component: string, cause: unknown, stopFailures: readonly ComponentFailure[]) {
    super(`component "${component}" failed to start: ${describe(cause)}`, { cause });
    this.name = new.target.name;
    this.component = component;
    this.stopFailures = stopFailures;
  }
}

/** One or more components' `stop` threw; every other component was still stopped. */
export class ComponentStopError extends Error {
  readonly code = "COMPONENT_STOP_FAILED";
  readonly failures: readonly ComponentFailure[];

  constructor(failures: readonly ComponentFailure[]) {
    super(
      `${failures.length === 1 ? "a component" : `${failures.length} components`} failed to stop: ${failures
        .map(({ component, error }) => `${component}: ${describe(error)}`)
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

  constructor(components: readonly Component[]) {
    this.components = orderComponents(components);
  }

  /**
   * Starts every component in order. If one fails (or `signal` aborts between two), stops the
   * ones already started, in reverse, and throws a {@link ComponentStartError} naming it.
   */
  async start(signal?: AbortSignal): Promise<void> {
    for (const component of this.components) {
      try {
        signal?.throwIfAborted();
        await component.start(signal);
      } catch (error) {
        throw new ComponentStartError(component.name, error, await this.#stopStarted());
      }
      this.#started.push(component);
    }
  }

  /**
   * Stops the started components in reverse start order. Every component's `stop` runs even if
   * an earlier one threw; the failures are thrown together as a {@link ComponentStopError}.
   * Stopping again does nothing.
   */
  async stop(): Promise<void> {
    const failures = await this.#stopStarted();
    if (failures.length > 0) throw new ComponentStopError(failures);
  }

  async #stopStarted(): Promise<ComponentFailure[]> {
    const started = this.#started.reverse();
    this.#started = [];
    const failures: ComponentFailure[] = [];
    for (const component of started) {
      try {
        await component.stop();
      } catch (error) {
        failures.push({ component: component.name, error });
      }
    }
    return failures;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
