import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Mailbox, NO_MESSAGE } from "./mailbox.ts";
import type { Pid } from "./pid.ts";
import { ExitMessage } from "./system-messages.ts";

const RUNS = Number(process.env.NX_PROPERTY_RUNS ?? 200);
const SEED = Number(process.env.NX_PROPERTY_SEED ?? 7);

type Op = { kind: "push"; value: number } | { kind: "shift" } | { kind: "take"; modulo: number };

describe("Mailbox", () => {
  it("behaves like an array queue under push, shift and selective take", () => {
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant("push" as const), value: fc.integer({ min: 0, max: 1000 }) }),
      fc.record({ kind: fc.constant("shift" as const) }),
      fc.record({ kind: fc.constant("take" as const), modulo: fc.integer({ min: 2, max: 7 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const mailbox = new Mailbox(Number.POSITIVE_INFINITY);
        const model: number[] = [];
        for (const o of ops) {
          if (o.kind === "push") {
            mailbox.pushUser(o.value);
            model.push(o.value);
          } else if (o.kind === "shift") {
            const expected = model.length > 0 ? model.shift() : NO_MESSAGE;
            assert.equal(mailbox.shift(), expected);
          } else {
            const matches = (m: unknown) => (m as number) % o.modulo === 0;
            const index = model.findIndex(matches);
            const expected = index >= 0 ? model.splice(index, 1)[0] : NO_MESSAGE;
            assert.equal(mailbox.take(matches), expected);
          }
          assert.equal(mailbox.length, model.length);
        }
        assert.deepEqual(mailbox.snapshot(Number.POSITIVE_INFINITY), model);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it("keeps the order of the messages a selective take skips", () => {
    const mailbox = new Mailbox(Number.POSITIVE_INFINITY);
    for (const m of ["a", 1, "b", 2, "c"]) mailbox.pushUser(m);
    assert.equal(
      mailbox.take((m) => typeof m === "number"),
      1,
    );
    assert.equal(
      mailbox.take((m) => typeof m === "number"),
      2,
    );
    assert.deepEqual(mailbox.snapshot(10), ["a", "b", "c"]);
  });

  it("leaves itself unchanged when the matcher throws", () => {
    const mailbox = new Mailbox(Number.POSITIVE_INFINITY);
    mailbox.pushUser(1);
    mailbox.pushUser(2);
    assert.throws(() =>
      mailbox.take(() => {
        throw new Error("bad matcher");
      }),
    );
    assert.deepEqual(mailbox.snapshot(10), [1, 2]);
  });

  it("sheds user messages beyond its capacity and counts them, but never system messages", () => {
    const mailbox = new Mailbox(2);
    assert.equal(mailbox.pushUser("u1"), true);
    assert.equal(mailbox.pushUser("u2"), true);
    assert.equal(mailbox.pushUser("u3"), false);
    const exit = new ExitMessage(7 as Pid, "boom");
    mailbox.pushSystem(exit);
    mailbox.pushSystem(exit);
    assert.equal(mailbox.pushUser("u4"), false, "system messages do not make room for user ones");
    assert.equal(mailbox.dropped, 2);
    assert.equal(mailbox.length, 4);
    assert.equal(mailbox.shift(), "u1");
    assert.equal(mailbox.pushUser("u5"), true, "taking a user message frees a slot");
    assert.equal(
      mailbox.take((m) => m instanceof ExitMessage),
      exit,
    );
    assert.equal(mailbox.pushUser("u6"), false, "taking a system message frees no user slot");
    assert.deepEqual(mailbox.snapshot(10), ["u2", exit, "u5"]);
  });

  it("grows past its initial ring and wraps around without losing order", () => {
    const mailbox = new Mailbox(Number.POSITIVE_INFINITY);
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 37; i++) mailbox.pushUser(next++);
      for (let i = 0; i < 30; i++) assert.equal(mailbox.shift(), expected++);
    }
    while (mailbox.length > 0) assert.equal(mailbox.shift(), expected++);
    assert.equal(expected, next);
    assert.equal(mailbox.shift(), NO_MESSAGE);
  });
});
