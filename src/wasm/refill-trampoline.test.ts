import assert from "node:assert/strict";
import { test } from "node:test";
import wabtFactory from "wabt";
import { REFILL_STOPPED, refillTrampoline, TRAMPOLINE_BYTES } from "./refill-trampoline.ts";

/** The trampoline's source, as its module comment shows it. */
const TRAMPOLINE_WAT = `(module
  (import "h" "f" (func $refill (param i32) (result i32)))
  (func $__nx_refill (export "f") (param $instance i32) (result i32) (local $units i32)
    (local.set $units (call $refill (local.get $instance)))
    (if (i32.lt_s (local.get $units) (i32.const 0)) (then unreachable))
    (local.get $units)))`;

/** Length of the name section at the end of the hand-written bytes (wabt writes its own, with local names). */
const NAME_SECTION_BYTES = 2 + 0x15;

test("the trampoline's bytes are its source, compiled, and a name section naming it __nx_refill", async () => {
  const wabt = await wabtFactory();
  const module = wabt.parseWat("refill-trampoline.wat", TRAMPOLINE_WAT);
  try {
    module.validate();
    const code = TRAMPOLINE_BYTES.subarray(0, TRAMPOLINE_BYTES.length - NAME_SECTION_BYTES);
    assert.deepEqual(Uint8Array.from(module.toBinary({}).buffer), Uint8Array.from(code));
  } finally {
    module.destroy();
  }
  const [names] = WebAssembly.Module.customSections(new WebAssembly.Module(TRAMPOLINE_BYTES), "name");
  assert.ok(names !== undefined, "a name section");
  assert.ok(Buffer.from(names).toString("latin1").endsWith("__nx_refill"));
});

test("passes the instance id on, answers what refill answers, and traps on REFILL_STOPPED with __nx_refill on the stack", async () => {
  let units: number | Promise<number> = 7;
  const ids: number[] = [];
  const f = WebAssembly.promising(
    refillTrampoline((id) => {
      ids.push(id);
      return units;
    }) as (id: number) => number,
  );
  assert.equal(await f(3), 7);
  units = Promise.resolve(9);
  assert.equal(await f(4), 9);
  assert.deepEqual(ids, [3, 4]);
  units = REFILL_STOPPED;
  await assert.rejects(f(5), (error: unknown) => {
    assert.ok(error instanceof WebAssembly.RuntimeError);
    assert.match(String(error.stack), /__nx_refill/);
    return true;
  });
});
