import type { BuildOutcome } from "./build-guest-project.ts";

/** The running node's side of `nx dev`: hot-reloads the module from its built file. */
export interface DevReloadTarget {
  reload(): Promise<{ readonly reloadMs: number }>;
}

export interface DevRebuildsOptions {
  /** The project's file as `nx dev` names it in its lines. */
  readonly label: string;
  readonly build: () => Promise<BuildOutcome>;
  readonly say: (line: string) => void;
  readonly describeError: (error: unknown) => string;
}

/**
 * The rebuild-and-reload rule of `nx dev`, apart from its I/O. Changes during a build make one
 * more build after it. The node starts after the first good build and reads the module as it
 * starts, so a build that ends while the node starts is reloaded once the node runs; the node is
 * looked at when a build ends, not when it began, since it may have started meanwhile.
 */
export class DevRebuilds {
  readonly #options: DevRebuildsOptions;
  #node: DevReloadTarget | undefined;
  #building = false;
  #again = false;
  #launched = false;
  /** The line of a build that ended while the node started, until the node reloads it. */
  #builtWhileStarting: string | undefined;
  #firstBuild: (() => void) | undefined;

  constructor(options: DevRebuildsOptions) {
    this.#options = options;
  }

  /** Builds, then reloads what built. True when the (last) build succeeded. */
  async rebuild(): Promise<boolean> {
    if (this.#building) {
      this.#again = true;
      return false;
    }
    this.#building = true;
    let ok = false;
    try {
      do {
        this.#again = false;
        ok = await this.#buildOnce();
      } while (this.#again);
    } finally {
      this.#building = false;
    }
    if (ok) this.#firstBuild?.();
    return ok;
  }

  /** Resolves at the next good build (after a first build failed). */
  nextGoodBuild(): Promise<void> {
    return new Promise((resolve) => {
      this.#firstBuild = resolve;
    });
  }

  /** The node is being started: from now on it may hold an older build than the last. */
  launched(): void {
    this.#launched = true;
  }

  /** The node runs and takes reloads. */
  started(node: DevReloadTarget): void {
    this.#node = node;
    const line = this.#builtWhileStarting;
    // A build in progress reloads when it ends.
    if (line !== undefined && !this.#building) {
      this.#builtWhileStarting = undefined;
      void this.#reload(node, line);
    }
  }

  async #buildOnce(): Promise<boolean> {
    const built = await this.#options.build();
    const node = this.#node;
    if (!built.ok) {
      const what =
        node === undefined ? "the node starts once it builds" : "the node goes on with the code it runs";
      const block = built.output.split("\n").map((line) => `  ${line}`);
      this.#options.say(`build failed (${what}):\n${block.join("\n")}`);
      return false;
    }
    const line = `built ${this.#options.label} in ${built.buildMs} ms`;
    if (node !== undefined) {
      this.#builtWhileStarting = undefined;
      await this.#reload(node, line);
    } else if (this.#launched) this.#builtWhileStarting = line;
    else this.#options.say(line);
    return true;
  }

  async #reload(node: DevReloadTarget, built: string): Promise<void> {
    try {
      const { reloadMs } = await node.reload();
      this.#options.say(`${built}, reloaded in ${Math.round(reloadMs)} ms`);
    } catch (error) {
      // The module host said why in its log line; the old code goes on.
      this.#options.say(`${built}, but the node refused it: ${this.#options.describeError(error)}`);
    }
  }
}
