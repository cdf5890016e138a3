import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { familyDefinition } from "./crdt-families.ts";
import { CRDT_FAMILIES, type CrdtFamily } from "./op.ts";
import { encodeState } from "./state-codec.ts";
import { observableValue } from "./testing/observable-value.ts";
import { propertyRuns } from "./testing/property-runs.ts";
import { deliveryOrder, fromCells, historyActions, playHistory } from "./testing/replica-history.ts";

/** Two states are equal when their canonical encodings are byte-identical. */
function stateBytes(family: CrdtFamily, cells: readonly unknown[]): Buffer {
  return Buffer.from(encodeState({ family, cells } as never));
}

function mergedBytes(family: CrdtFamily, ...states: unknown[][]): Buffer {
  return stateBytes(family, fromCells(family, ...(states as never[])).cells());
}

for (const family of CRDT_FAMILIES) {
  describe(`${family} laws`, () => {
    test("merge is commutative, associative and idempotent", () => {
      fc.assert(
        fc.property(historyActions(), (actions) => {
          const [a, b, c] = playHistory(family, actions).states;
          assert.deepEqual(mergedBytes(family, a, b), mergedBytes(family, b, a));
          assert.deepEqual(
            mergedBytes(family, a, b, c),
            mergedBytes(family, a, fromCells(family, b, c).cells()),
          );
          assert.deepEqual(mergedBytes(family, a, a), stateBytes(family, fromCells(family, a).cells()));
          assert.deepEqual(mergedBytes(family, a), stateBytes(family, a));
        }),
        propertyRuns(60),
      );
    });

    test("replicas that get the same ops in any order, with duplicates, converge", () => {
      fc.assert(
        fc.property(
          historyActions().chain((actions) => {
            const { ops } = playHistory(family, actions);
            return fc.tuple(
              fc.constant(ops),
              fc.array(deliveryOrder(ops.length), { minLength: 3, maxLength: 3 }),
            );
          }),
          ([ops, orders]) => {
            const replicas = orders.map((order) => {
              const crdt = familyDefinition(family).create();
              for (const i of order) crdt.applyOp(ops[i]);
              return crdt;
            });
            const reference = stateBytes(family, replicas[0].cells());
            const value = observableValue(family, replicas[0]);
            for (const replica of replicas) {
              assert.deepEqual(stateBytes(family, replica.cells()), reference);
              assert.equal(observableValue(family, replica), value);
            }
            // applying everything again changes nothing (idempotent apply)
            for (const op of ops) assert.equal(replicas[0].applyOp(op), undefined);
            assert.deepEqual(stateBytes(family, replicas[0].cells()), reference);
          },
        ),
        propertyRuns(60),
      );
    });

    test("applying ops equals merging the states they produced (op and state paths agree)", () => {
      fc.assert(
        fc.property(historyActions(), (actions) => {
          const { ops, states } = playHistory(family, actions);
          const all = familyDefinition(family).create();
          for (const op of ops) all.applyOp(op);
          assert.deepEqual(stateBytes(family, all.cells()), mergedBytes(family, ...states));
          assert.equal(observableValue(family, all), observableValue(family, fromCells(family, ...states)));
        }),
        propertyRuns(60),
      );
    });
  });
}
