import assert from "node:assert/strict";
import { test } from "node:test";
import wabtFactory from "wabt";
import { EXPORT_LOOP_BYTES, ExportLoop } from "./export-loop.ts";

/** The loop's source, as its module comment shows it. */
const EXPORT_LOOP_WAT = `(module
  (type $v (func)) (type $r (func (param i32) (result i32)))
  (import "h" "wait" (func $wait (type $r)))
  (import "g" "exports" (table 0 funcref))
  (func (export "dispatch") (param $loop i32) (param $n i32)
    (loop $l
      (call_indirect (type $v) (local.get $n))
      (local.set $n (call $wait (local.get $loop)))
      (br_if $l (i32.ge_s (local.get $n) (i32.const 0))))))`;

/** A guest with two exports that record their calls through an import, and one that traps. */
const GUEST_WAT = `(module
  (import "host" "called" (func $called (param i32)))
  (func (export "a") (call $called (i32.const 1)))
  (func (export "b") (call $called (i32.const 2)))
  (func (export "trap") unreachable))`;

test("the export loop's bytes are its source, compiled", async () => {
  const wabt = await wabtFactory();
  const module = wabt.parseWat("export-loop.wat", EXPORT_LOOP_WAT);
  try {
    module.validate();
    assert.deepEqual(Uint8Array.from(module.toBinary({}).buffer), EXPORT_LOOP_BYTES);
  } finally {
    module.destroy();
  }
});

test("calls exports one after the other on one loop; a trap ends it with the error", async () => {
  const wabt = await wabtFactory();
  const parsed = wabt.parseWat("guest.wat", GUEST_WAT);
  const bytes = parsed.toBinary({}).buffer;
  parsed.destroy();
  const calls: number[] = [];
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {
    host: { called: (n: number) => calls.push(n) },
  });
  const ends: unknown[] = [];
  const loop = new ExportLoop(instance, {
    returned: () => ends.push("returned"),
    failed: (error) => ends.push(error),
  });
  /** Runs `name` and answers how its call ended, once it has. */
  const call = async (name: string): Promise<unknown> => {
    const before = ends.length;
    loop.call(name);
    while (ends.length === before) await new Promise((resolve) => setImmediate(resolve));
    return ends.at(-1);
  };
  assert.equal(await call("a"), "returned");
  assert.equal(await call("b"), "returned");
  assert.equal(await call("a"), "returned");
  assert.deepEqual(calls, [1, 2, 1]);
  assert.equal(loop.alive, true);
  assert.throws(() => loop.call("missing"), /exports no function missing/);
  assert.ok((await call("trap")) instanceof WebAssembly.RuntimeError);
  assert.equal(loop.alive, false, "the trap unwound the loop");
  assert.throws(() => loop.call("a"), /after the loop ended/);
  assert.deepEqual(calls, [1, 2, 1], "nothing ran after the trap");
});

test("a loop closed while it waits between calls returns, and reports nothing more", async () => {
  const wabt = await wabtFactory();
  const parsed = wabt.parseWat("guest.wat", GUEST_WAT);
  const bytes = parsed.toBinary({}).buffer;
  parsed.destroy();
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { host: { called: () => {} } });
  const ends: unknown[] = [];
  const loop = new ExportLoop(instance, {
    returned: () => ends.push("returned"),
    failed: (error) => ends.push(error),
  });
  loop.call("a");
  assert.deepEqual(ends, ["returned"], "the first call runs at once, as a plain JSPI call would");
  loop.close();
  assert.equal(loop.alive, false);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(ends, ["returned"], "the loop's own return is no call's failure");
  assert.throws(() => loop.call("a"), /after the loop ended/);
});
