import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import type { Component } from "./component.ts";
import { ComponentGraphError } from "./component-order.ts";
import { ComponentSet, ComponentStartError, ComponentStopError } from "./component-set.ts";

const PROPERTY_RUNS = { seed: 20_261_206, numRuns: 300 };

interface Spec {
  readonly name: string;
  readonly dependsOn?: readonly string[];
  readonly failStart?: boolean;
  readonly failStop?: boolean;
}

/**
 * Components that record each phase as `<phase> <name>` into `log` (after an await, as real
 * ones would).
 */
function recorded(specs: readonly Spec[], log: string[]): Component[] {
  return specs.map(({ name, dependsOn, failStart, failStop }) => {
    const phase = (label: string) => async () => {
      await Promise.resolve();
      log.push(`${label} ${name}`);
    };
    return {
      name,
      dependsOn,
      start: async () => {
        await Promise.resolve();
        if (failStart) throw new Error(`${name} cannot start`);
        log.push(`start ${name}`);
      },
      afterStart: phase("afterStart"),
      beforeStop: phase("beforeStop"),
      stop: async () => {
        await Promise.resolve();
        log.push(`stop ${name}`);
        if (failStop) throw new Error(`${name} cannot stop`);
      },
      afterStop: phase("afterStop"),
    };
  });
}

/** The names logged for `phase`, in order. */
const logged = (log: readonly string[], phase: string) =>
  log.filter((line) => line.startsWith(`${phase} `)).map((line) => line.slice(phase.length + 1));

/**
 * An acyclic dependency graph: component i may depend only on components before it in creation
 * order, then the declaration order is shuffled so the set has to sort them.
 */
const dependencyGraph = fc
  .integer({ min: 1, max: 10 })
  .chain((size) =>
    fc.tuple(
      fc.tuple(
        ...Array.from({ length: size }, (_, i) => fc.subarray(Array.from({ length: i }, (_, j) => `c${j}`))),
      ),
      fc.shuffledSubarray(
        Array.from({ length: size }, (_, i) => i),
        { minLength: size },
      ),
    ),
  )
  .map(([dependencies, order]) => order.map((i) => ({ name: `c${i}`, dependsOn: dependencies[i]! })));

describe("ComponentSet", () => {
  test("every component starts after its dependencies and stops before them (property)", async () => {
    await fc.assert(
      fc.asyncProperty(dependencyGraph, async (specs) => {
        const log: string[] = [];
        const set = new ComponentSet(recorded(specs, log));
        await set.start();
        await set.stop();
        const starts = logged(log, "start");
        const stops = logged(log, "stop");
        assert.equal(starts.length, specs.length);
        assert.deepEqual(stops, [...starts].reverse());
        // Each phase runs over every component before the next phase begins.
        const phases = ["start", "afterStart", "beforeStop", "stop", "afterStop"];
        assert.deepEqual(
          log.map((line) => line.split(" ")[0]),
          phases.flatMap((phase) => starts.map(() => phase)),
        );
        assert.deepEqual(logged(log, "afterStart"), starts);
        assert.deepEqual(logged(log, "beforeStop"), stops);
        assert.deepEqual(logged(log, "afterStop"), stops);
        for (const { name, dependsOn } of specs) {
          for (const dependency of dependsOn ?? []) {
            assert.ok(
              starts.indexOf(dependency) < starts.indexOf(name),
              `${dependency} starts before ${name}`,
            );
            assert.ok(stops.indexOf(dependency) > stops.indexOf(name), `${dependency} stops after ${name}`);
          }
        }
      }),
      PROPERTY_RUNS,
    );
  });

  test("a failed start stops exactly the ones already started, in reverse, and names the one that failed (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        dependencyGraph.chain((specs) => fc.tuple(fc.constant(specs), fc.nat({ max: specs.length - 1 }))),
        async ([specs, failing]) => {
          const failingName = specs[failing]!.name;
          const log: string[] = [];
          const set = new ComponentSet(
            recorded(
              specs.map((spec) => ({ ...spec, failStart: spec.name === failingName })),
              log,
            ),
          );
          const error = await set.start().then(
            () => assert.fail("start should fail"),
            (thrown: unknown) => thrown,
          );
          assert.ok(error instanceof ComponentStartError);
          assert.equal(error.component, failingName);
          assert.equal((error.cause as Error).message, `${failingName} cannot start`);
          const starts = logged(log, "start");
          const stops = logged(log, "stop");
          assert.deepEqual(stops, [...starts].reverse());
          assert.deepEqual(logged(log, "beforeStop"), stops);
          assert.deepEqual(logged(log, "afterStop"), stops);
          assert.deepEqual(
            logged(log, "afterStart"),
            [],
            "afterStart runs only once every component started",
          );
          assert.ok(!starts.includes(failingName));
          const length = log.length;
          await set.stop(); // nothing left to stop
          assert.equal(log.length, length);
        },
      ),
      PROPERTY_RUNS,
    );
  });

  test("a start failure lists the stops that failed while undoing it", async () => {
    const log: string[] = [];
    const set = new ComponentSet(
      recorded(
        [
          { name: "store", failStop: true },
          { name: "replica", dependsOn: ["store"], failStart: true },
        ],
        log,
      ),
    );
    await assert.rejects(set.start(), (error: unknown) => {
      assert.ok(error instanceof ComponentStartError);
      assert.equal(error.message, `component "replica" failed to start: replica cannot start`);
      assert.deepEqual(
        error.stopFailures.map(({ component, error }) => [component, (error as Error).message]),
        [["store", "store cannot stop"]],
      );
      return true;
    });
    assert.deepEqual(log, ["start store", "beforeStop store", "stop store", "afterStop store"]);
  });

  test("a failed afterStart stops every component and names the one that failed", async () => {
    const log: string[] = [];
    const [store, endpoint] = recorded([{ name: "store" }, { name: "endpoint", dependsOn: ["store"] }], log);
    const set = new ComponentSet([
      store!,
      {
        ...endpoint!,
        afterStart: () => {
          throw new Error("address in use");
        },
      },
    ]);
    await assert.rejects(set.start(), (error: unknown) => {
      assert.ok(error instanceof ComponentStartError);
      assert.equal(error.message, `component "endpoint" failed to run afterStart: address in use`);
      assert.equal(error.phase, "afterStart");
      return true;
    });
    assert.deepEqual(log, [
      "start store",
      "start endpoint",
      "afterStart store",
      "beforeStop endpoint",
      "beforeStop store",
      "stop endpoint",
      "stop store",
      "afterStop endpoint",
      "afterStop store",
    ]);
  });

  test("stop runs every component's stop even when some throw, and reports each failure", async () => {
    const log: string[] = [];
    const set = new ComponentSet(
      recorded(
        [
          { name: "store", failStop: true },
          { name: "replica", dependsOn: ["store"] },
          { name: "sync", dependsOn: ["replica"], failStop: true },
        ],
        log,
      ),
    );
    await set.start();
    await assert.rejects(set.stop(), (error: unknown) => {
      assert.ok(error instanceof ComponentStopError);
      assert.deepEqual(
        error.failures.map(({ component }) => component),
        ["sync", "store"],
      );
      assert.equal(
        error.message,
        "2 components failed to stop: sync (stop): sync cannot stop; store (stop): store cannot stop",
      );
      return true;
    });
    assert.deepEqual(logged(log, "stop"), ["sync", "replica", "store"]);
    assert.deepEqual(logged(log, "afterStop"), ["sync", "replica", "store"]);
    const length = log.length;
    await set.stop(); // stopping again does nothing
    assert.equal(log.length, length);
  });

  test("beginStop runs every beforeStop (once) before anything stops; stop then runs the rest", async () => {
    const log: string[] = [];
    const set = new ComponentSet(
      recorded(
        [
          { name: "store" },
          { name: "modules", dependsOn: ["store"] },
          { name: "serve", dependsOn: ["modules"] },
        ],
        log,
      ),
    );
    await set.start();
    log.length = 0;
    await set.beginStop();
    await set.beginStop();
    assert.deepEqual(log, ["beforeStop serve", "beforeStop modules", "beforeStop store"]);
    await set.stop();
    assert.deepEqual(logged(log, "beforeStop"), ["serve", "modules", "store"], "not run again");
    assert.deepEqual(logged(log, "stop"), ["serve", "modules", "store"]);
  });

  test("an aborted start stops what started and starts nothing more", async () => {
    const log: string[] = [];
    const abort = new AbortController();
    const [store, replica] = recorded([{ name: "store" }, { name: "replica", dependsOn: ["store"] }], log);
    const set = new ComponentSet([
      {
        ...store!,
        start: async () => {
          await store!.start();
          abort.abort(new Error("shutting down"));
        },
      },
      replica!,
    ]);
    await assert.rejects(set.start(abort.signal), (error: unknown) => {
      assert.ok(error instanceof ComponentStartError);
      assert.equal(error.component, "replica");
      return true;
    });
    assert.deepEqual(log, ["start store", "beforeStop store", "stop store", "afterStop store"]);
  });

  /** A store and a `modules` after it, started under a signal aborted as `modules` has started. */
  function abortedAtLastStart(store: Spec, log: string[]): Promise<void> {
    const abort = new AbortController();
    const [first, last] = recorded([store, { name: "modules", dependsOn: [store.name] }], log);
    const set = new ComponentSet([
      first!,
      {
        ...last!,
        start: async () => {
          await last!.start();
          abort.abort(new Error("SIGTERM"));
        },
      },
    ]);
    return set.start(abort.signal);
  }

  test("a start aborted during the last component's start runs no afterStart and stops them all", async () => {
    const log: string[] = [];
    await assert.rejects(abortedAtLastStart({ name: "store" }, log), (error: unknown) => {
      assert.ok(error instanceof ComponentStartError);
      assert.equal((error.cause as Error).message, "SIGTERM");
      return true;
    });
    assert.deepEqual(logged(log, "afterStart"), [], "no part began its work");
    assert.deepEqual(logged(log, "stop"), ["modules", "store"]);
  });

  test("a start aborted whose started parts fail to stop throws their stop failures, not the abort", async () => {
    // The abort is no failure (`nx run` exits 0 on it): a store that could not save as it closed is one.
    const log: string[] = [];
    await assert.rejects(abortedAtLastStart({ name: "store", failStop: true }, log), (error: unknown) => {
      assert.ok(error instanceof ComponentStopError, String(error));
      assert.equal(error.message, "a component failed to stop: store (stop): store cannot stop");
      return true;
    });
    assert.deepEqual(logged(log, "stop"), ["modules", "store"]);
  });

  test("refuses at construction a set that cannot be ordered", () => {
    assert.throws(
      () => new ComponentSet(recorded([{ name: "sync", dependsOn: ["replica"] }], [])),
      ComponentGraphError,
    );
  });
});
