import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ComponentGraphError, orderComponents } from "./component-order.ts";

const names = (components: readonly { name: string }[]) => components.map(({ name }) => name);

describe("orderComponents", () => {
  test("puts every component after its dependencies, otherwise keeps the given order", () => {
    const ordered = orderComponents([
      { name: "observability", dependsOn: ["metrics"] },
      { name: "sync", dependsOn: ["replica", "metrics"] },
      { name: "store" },
      { name: "replica", dependsOn: ["store"] },
      { name: "metrics" },
    ]);
    assert.deepEqual(names(ordered), ["store", "replica", "metrics", "observability", "sync"]);
  });

  test("keeps the given order of independent components", () => {
    assert.deepEqual(names(orderComponents([{ name: "b" }, { name: "a" }, { name: "c" }])), ["b", "a", "c"]);
    assert.deepEqual(orderComponents([]), []);
  });

  test("refuses an unknown dependency, naming both", () => {
    assert.throws(
      () => orderComponents([{ name: "replica", dependsOn: ["store"] }]),
      (error: unknown) =>
        error instanceof ComponentGraphError &&
        error.code === "COMPONENT_UNKNOWN_DEPENDENCY" &&
        error.message === `component "replica" depends on "store", which is not in the set`,
    );
  });

  test("refuses a cycle, spelling it out", () => {
    assert.throws(
      () =>
        orderComponents([
          { name: "metrics" },
          { name: "a", dependsOn: ["metrics", "c"] },
          { name: "b", dependsOn: ["a"] },
          { name: "c", dependsOn: ["b"] },
        ]),
      (error: unknown) =>
        error instanceof ComponentGraphError &&
        error.code === "COMPONENT_CYCLE" &&
        error.message === "components depend on each other in a cycle: a -> c -> b -> a",
    );
    assert.throws(() => orderComponents([{ name: "self", dependsOn: ["self"] }]), /cycle: self -> self$/);
  });

  test("refuses two components with one name", () => {
    assert.throws(
      () => orderComponents([{ name: "store" }, { name: "store" }]),
      (error: unknown) => error instanceof ComponentGraphError && error.code === "COMPONENT_DUPLICATE_NAME",
    );
  });
});
