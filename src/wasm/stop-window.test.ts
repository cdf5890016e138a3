import assert from "node:assert/strict";
import { test } from "node:test";
import { recordingEnvironment } from "../../test/fixtures/wasm/guest-runtime.ts";
import { watToWasm } from "../../test/fixtures/wasm/wat-fixtures.ts";
import { silentLogger } from "../observe/logger.ts";
import { WasmWriter } from "./binary/wasm-writer.ts";
import { GuestInstance, type GuestInstanceOptions } from "./guest-instance.ts";
import { type GuestModule, loadGuestModuleBytes } from "./load-guest-module.ts";
import { ModuleCache } from "./module-cache.ts";

/**
 * A guest stopped while it is off its own stack (in a host wait, or a refill's yield) must run
 * none of its code, host calls included, once it resumes: the instrumenter's stop check
 * (STOPPED_EXPORT) traps right after the call that resumed it. Each test kills the guest in the
 * narrowest window there is: after what it waited on settled, before it resumed.
 */

/** A guest whose `h.wait` suspends on `waiting` until `release`, counting its calls of `h.mark`. */
function waitingGuest(module: GuestModule): {
  guest: GuestInstance;
  waiting: Promise<number>;
  release: (value: number) => void;
  marks: () => number;
} {
  let marks = 0;
  const { promise: waiting, resolve: release } = Promise.withResolvers<number>();
  const guest = GuestInstance.create(module, {
    env: recordingEnvironment("w"),
    cpuMsPerRun: undefined,
    extraImports: { h: { mark: () => void marks++ } },
    suspendingImports: { h: { wait: () => waiting } },
  });
  return { guest, waiting, release, marks: () => marks };
}

async function load(wat: string): Promise<GuestModule> {
  const cache = new ModuleCache({ directory: undefined, logger: silentLogger });
  return loadGuestModuleBytes(await watToWasm(wat), "w", {
    memoryMaxBytes: 1 << 20,
    cache,
    logger: silentLogger,
  });
}

/** How `run` reaches the suspending import `$wait` (the `call_ref` forms are in CALL_REF_FORMS below). */
const CALLS = {
  call: "(drop (call $wait))",
  call_indirect: "(drop (call_indirect (type $waitType) (i32.const 0)))",
  return_call: "(drop (call $tail))",
  // Stays a tail call: the check after the call of the function that makes it.
  return_call_indirect: "(drop (call $tailIndirect))",
  // Through a direct tail call of such a function.
  return_call_chain: "(drop (call $tailChain))",
} as const;

/** Kills `module`'s guest after its wait settled, before it resumed; it must call `h.mark` no more. */
async function killAfterWaitSettled(module: GuestModule): Promise<void> {
  const { guest, waiting, release, marks } = waitingGuest(module);
  const run = guest.run();
  await new Promise((resolve) => setImmediate(resolve));
  release(1);
  // After the governor's own reaction to `waiting` (it resumes the guest): the kill lands
  // between the wait's end and the guest's next instruction.
  waiting.then(() => guest.kill("test"));
  const result = await run;
  assert.equal(result.ok, false);
  assert.equal(!result.ok && result.failure.kind, "killed");
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(marks(), 0, "the guest called the host after its kill");
}

for (const [form, call] of Object.entries(CALLS)) {
  for (const catches of [false, true]) {
    test(`a guest killed after its wait settled, before it resumed, makes no more host calls (${form}, catches ${catches})`, async () => {
      const module = await load(`(module
        (type $waitType (func (result i32)))
        (import "h" "wait" (func $wait (type $waitType)))
        (import "h" "mark" (func $mark))
        (memory (export "memory") 1)
        (table 1 funcref)
        (elem (i32.const 0) $wait)
        (func $tail (result i32) (return_call $wait))
        (func $tailIndirect (result i32) (return_call_indirect (type $waitType) (i32.const 0)))
        (func $tailChain (result i32) (return_call $tailIndirect))
        (func (export "run")
          ${catches ? `(block $c (try_table (catch_all $c) ${call}))` : call}
          (call $mark)))`);
      await killAfterWaitSettled(module);
    });
  }
}

/**
 * The module of the `call_ref` forms, assembled here: wabt writes `call_ref` without its type
 * immediate (an older draft), which V8 refuses. Imports `h.wait` (function 0, type 0: `[] ->
 * [i32]`) and `h.mark` (function 1); `run` (function 2) reaches `wait` through `run`'s `body`;
 * `tail` (function 3) is `return_call_ref` of `wait`.
 */
function callRefModule(body: number[], catches: boolean): Uint8Array {
  const section = (out: WasmWriter, id: number, content: WasmWriter): WasmWriter =>
    out.byte(id).sized(content.finish());
  const code = (instructions: number[]): Uint8Array =>
    new WasmWriter()
      .u32(0)
      .bytes(Uint8Array.from([...instructions, 0x0b]))
      .finish();
  // (block (try_table (catch_all 0) ...)): a catch_all's label is counted from outside try_table.
  const run = catches ? [0x02, 0x40, 0x1f, 0x40, 0x01, 0x02, 0x00, ...body, 0x0b, 0x0b] : body;
  const out = new WasmWriter().bytes(Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
  section(out, 1, new WasmWriter().u32(2).bytes(Uint8Array.from([0x60, 0, 1, 0x7f, 0x60, 0, 0])));
  section(
    out,
    2,
    new WasmWriter().u32(2).name("h").name("wait").byte(0).u32(0).name("h").name("mark").byte(0).u32(1),
  );
  section(out, 3, new WasmWriter().u32(2).u32(1).u32(0));
  section(out, 5, new WasmWriter().u32(1).byte(0).u32(1));
  section(out, 7, new WasmWriter().u32(2).name("memory").byte(2).u32(0).name("run").byte(0).u32(2));
  // A declarative segment: `ref.func 0` needs function 0 declared.
  section(out, 9, new WasmWriter().u32(1).byte(3).byte(0).u32(1).u32(0));
  const codes = new WasmWriter().u32(2);
  codes.sized(code([...run, 0x10, 0x01])); // ...; call $mark
  codes.sized(code([0xd2, 0x00, 0x15, 0x00])); // ref.func 0; return_call_ref 0
  section(out, 10, codes);
  return out.finish();
}

const CALL_REF_FORMS = {
  call_ref: [0xd2, 0x00, 0x14, 0x00, 0x1a], // ref.func 0; call_ref 0; drop
  return_call_ref: [0x10, 0x03, 0x1a], // call $tail; drop
} as const;

for (const [form, body] of Object.entries(CALL_REF_FORMS)) {
  for (const catches of [false, true]) {
    test(`a guest killed after its wait settled, before it resumed, makes no more host calls (${form}, catches ${catches})`, async () => {
      const cache = new ModuleCache({ directory: undefined, logger: silentLogger });
      const bytes = callRefModule([...body], catches);
      assert.ok(WebAssembly.validate(bytes), "the assembled module is invalid");
      const module = await loadGuestModuleBytes(bytes, "w", {
        memoryMaxBytes: 1 << 20,
        cache,
        logger: silentLogger,
      });
      await killAfterWaitSettled(module);
    });
  }
}

test("a guest killed after its refill's yield ended, before it resumed, makes no more host calls", async () => {
  const module = await load(`(module
    (import "h" "mark" (func $mark))
    (memory (export "memory") 1)
    (func (export "run") (loop $l (call $mark) (br $l))))`);
  let killed = false;
  let marksAfterKill = 0;
  let guest!: GuestInstance;
  const options: GuestInstanceOptions = {
    env: recordingEnvironment("w"),
    cpuMsPerRun: undefined,
    sliceMs: 0,
    extraImports: {
      h: {
        mark: () => {
          if (killed) marksAfterKill++;
        },
      },
    },
    yieldToLoop: () => {
      const turn = new Promise<void>((resolve) => setImmediate(resolve));
      // Queued from a reaction that runs before the governor's own (which answers the refill's
      // units): the kill runs after the refill was answered and before the guest resumes.
      turn.then(() =>
        queueMicrotask(() => {
          killed = true;
          guest.kill("test");
        }),
      );
      return turn;
    },
  };
  guest = GuestInstance.create(module, options);
  const result = await guest.run();
  assert.equal(!result.ok && result.failure.kind, "killed");
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(killed);
  assert.equal(marksAfterKill, 0, "the guest ran on a refill granted before its kill");
});

test("a guest stopped by a host function during its own call makes no more host calls", async () => {
  const module = await load(`(module
    (import "h" "stop" (func $stop))
    (import "h" "mark" (func $mark))
    (memory (export "memory") 1)
    (func (export "run") (call $stop) (call $mark)))`);
  let marks = 0;
  let guest!: GuestInstance;
  guest = GuestInstance.create(module, {
    env: recordingEnvironment("w"),
    cpuMsPerRun: undefined,
    extraImports: { h: { stop: () => guest.kill("test"), mark: () => void marks++ } },
  });
  const result = await guest.run();
  assert.equal(!result.ok && result.failure.kind, "killed");
  assert.equal(marks, 0, "the guest called the host after its kill");
});

test("a guest loops through return_call_indirect without end: the tail call stays one", async () => {
  const module = await load(`(module
    (type $t (func (param i32)))
    (memory (export "memory") 1)
    (table 1 funcref)
    (elem (i32.const 0) $f)
    (func $f (type $t) (param $n i32)
      (if (i32.eqz (local.get $n)) (then (return)))
      (return_call_indirect (type $t) (i32.sub (local.get $n) (i32.const 1)) (i32.const 0)))
    (func (export "run") (call $f (i32.const 1000000))))`);
  const guest = GuestInstance.create(module, { env: recordingEnvironment("w"), cpuMsPerRun: undefined });
  const result = await guest.run();
  assert.deepEqual(result, { ok: true }, "a million tail calls overflowed the stack");
});

test("a guest whose start function returns from the host after a kill does not enter its run", async () => {
  // The start function's tail call returns from the host straight to the runtime: no stop check
  // of the guest's own follows it.
  const module = await load(`(module
    (type $v (func))
    (import "h" "wait" (func $wait (type $v)))
    (import "h" "mark" (func $mark))
    (memory (export "memory") 1)
    (table 1 funcref)
    (elem (i32.const 0) $wait)
    (func $start (return_call_indirect (type $v) (i32.const 0)))
    (start $start)
    (func (export "run") (call $mark) (block $c (try_table (catch_all $c)))))`);
  const { guest, release, marks } = waitingGuest(module);
  const run = guest.run();
  await new Promise((resolve) => setImmediate(resolve));
  guest.kill("test");
  release(0);
  const result = await run;
  assert.equal(!result.ok && result.failure.kind, "killed");
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(marks(), 0, "the guest's run was entered after its kill");
});
