/**
 * Registered process names are per module for modules with a policy (docs/design/policies.md,
 * "Process names"): two modules on one real `nx run` register the same name without clashing,
 * and neither finds the other's. The modules meet through two shared store keys: the owner
 * registers `svc` and writes `ready`; the other then looks `svc` up, registers it itself and
 * writes `done`, which lets the owner end.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { EXIT_OK } from "../../src/cli/exit-codes.ts";
import { runNx } from "../fixtures/wasm/nx-process.ts";
import { watToWasm } from "../fixtures/wasm/wat-fixtures.ts";
import { tempDir } from "../helpers/nx-process.ts";

const dir = tempDir("nx-registered-names-");
after(() => dir.remove());

/** Polls for a store key at most this many times, 10 ms apart (the test's own time bound). */
const POLLS_MAX = 1000;

const IMPORTS = `
  (import "nx" "db_get" (func $db_get (param i32 i32 i32 i32) (result i32)))
  (import "nx" "db_set" (func $db_set (param i32 i32 i32 i32) (result i32)))
  (import "nx" "proc_register" (func $register (param i32 i32) (result i32)))
  (import "nx" "proc_whereis" (func $whereis (param i32 i32) (result i32)))
  (import "nx" "proc_receive" (func $receive (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "svc")
  (data (i32.const 80) "ready")
  (data (i32.const 96) "done")
  (func $print (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  ;; Waits (10 ms receives) until the store key at $ptr exists; traps after ${POLLS_MAX} polls.
  (func $await_key (param $ptr i32) (param $len i32)
    (local $polls i32)
    (block $found
      (loop $poll
        (br_if $found (i32.ge_s (call $db_get (local.get $ptr) (local.get $len) (i32.const 1024) (i32.const 64)) (i32.const 0)))
        (local.set $polls (i32.add (local.get $polls) (i32.const 1)))
        (if (i32.ge_u (local.get $polls) (i32.const ${POLLS_MAX})) (then unreachable))
        (drop (call $receive (i32.const 2048) (i32.const 256) (i32.const 10)))
        (br $poll))))`;

const OWNER = `(module ${IMPORTS}
  (data (i32.const 128) "owner registered svc\\n")
  (func (export "run")
    (if (i32.ne (call $register (i32.const 64) (i32.const 3)) (i32.const 0)) (then unreachable))
    (call $print (i32.const 128) (i32.const 21))
    (drop (call $db_set (i32.const 80) (i32.const 5) (i32.const 64) (i32.const 1)))
    (call $await_key (i32.const 96) (i32.const 4))))`;

const OTHER = `(module ${IMPORTS}
  (data (i32.const 128) "other found svc\\n")
  (data (i32.const 160) "other did not find svc\\n")
  (data (i32.const 192) "other registered svc\\n")
  (data (i32.const 224) "other could not register svc\\n")
  (func (export "run")
    (call $await_key (i32.const 80) (i32.const 5))
    (if (i32.gt_s (call $whereis (i32.const 64) (i32.const 3)) (i32.const 0))
      (then (call $print (i32.const 128) (i32.const 16)))
      (else (call $print (i32.const 160) (i32.const 23))))
    (if (i32.eq (call $register (i32.const 64) (i32.const 3)) (i32.const 0))
      (then (call $print (i32.const 192) (i32.const 21)))
      (else (call $print (i32.const 224) (i32.const 29))))
    (drop (call $db_set (i32.const 96) (i32.const 4) (i32.const 64) (i32.const 1)))))`;

describe("registered process names", () => {
  test("two modules with policies each have their own names: neither finds nor blocks the other's", async () => {
    writeFileSync(join(dir.path, "owner.wasm"), await watToWasm(OWNER, "owner.wat"));
    writeFileSync(join(dir.path, "other.wasm"), await watToWasm(OTHER, "other.wat"));
    const policy =
      'policy = { capabilities = { db = { read = ["/ready", "/done"], write = ["/ready", "/done"] } } }';
    writeFileSync(
      join(dir.path, "numax.toml"),
      [
        "[[modules]]",
        'path = "owner.wasm"',
        policy,
        "",
        "[[modules]]",
        'path = "other.wasm"',
        policy,
        "",
      ].join("\n"),
    );
    const result = await runNx(
      ["run", "--config", join(dir.path, "numax.toml"), "--datastore-path", join(dir.path, "data")],
      { cwd: dir.path, env: { NX_POLICY_DEFAULT: "deny" }, timeoutMs: 60_000 },
    );
    assert.equal(result.code, EXIT_OK, result.stderr);
    assert.match(result.stdout, /owner registered svc/);
    assert.match(result.stdout, /other did not find svc/);
    assert.match(result.stdout, /other registered svc/);
  });
});
