/**
 * A module with a policy reaches only its own code and its own processes
 * (docs/design/policies.md, "Processes"): on one real `nx run`, module `prober` cannot spawn
 * module `target`'s code (which would run with `target`'s namespace and policy), nor send to,
 * monitor or link to a `target` process whose pid it learned, nor send to the node's own
 * processes; its own spawns and sends still work, and a send to a pid that is gone answers -1 as
 * before. The modules meet through two shared store keys: `target` writes its pid to `pid` and
 * runs until `prober` writes `done`; it prints what reaches it.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { EXIT_OK } from "../../src/cli/exit-codes.ts";
import { runNx } from "../fixtures/wasm/nx-process.ts";
import { watToWasm } from "../fixtures/wasm/wat-fixtures.ts";
import { tempDir } from "../helpers/nx-process.ts";

const dir = tempDir("nx-module-isolation-");
after(() => dir.remove());

/** Polls for a store key at most this many times, 10 ms apart (the test's own time bound). */
const POLLS_MAX = 1000;
/** How long `prober` waits for the end of a child it spawned. */
const CHILD_WAIT_MS = 10_000;
/** A pid no process of the run has (the node spawns far fewer). */
const GONE_PID = 1_000_000;

const IMPORTS = `
  (import "nx" "db_get" (func $db_get (param i32 i32 i32 i32) (result i32)))
  (import "nx" "db_set" (func $db_set (param i32 i32 i32 i32) (result i32)))
  (import "nx" "proc_self" (func $self (result i32)))
  (import "nx" "proc_spawn" (func $spawn (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "nx" "proc_send" (func $send (param i32 i32 i32) (result i32)))
  (import "nx" "proc_monitor" (func $monitor (param i32) (result i32)))
  (import "nx" "proc_link" (func $link (param i32) (result i32)))
  (import "nx" "proc_receive" (func $receive (param i32 i32 i32) (result i32)))
  (import "nx" "proc_receive_match" (func $receive_match (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "pid")
  (data (i32.const 80) "done")
  (func $print (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  ;; Prints the line at $ptr ("... =?\\n") with ? replaced by the code: 0..9 for 0..-9, p for a pid.
  (func $say (param $ptr i32) (param $len i32) (param $code i32)
    (i32.store8 (i32.sub (i32.add (local.get $ptr) (local.get $len)) (i32.const 2))
      (if (result i32) (i32.gt_s (local.get $code) (i32.const 0))
        (then (i32.const 112))
        (else (i32.sub (i32.const 48) (local.get $code)))))
    (call $print (local.get $ptr) (local.get $len)))
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

const TARGET = `(module ${IMPORTS}
  (data (i32.const 128) "target got a message\\n")
  (data (i32.const 160) "target code ran for another module\\n")
  (func (export "wipe") (call $print (i32.const 160) (i32.const 35)))
  (func (export "run")
    (local $polls i32)
    (i32.store (i32.const 300) (call $self))
    (if (i32.ne (call $db_set (i32.const 64) (i32.const 3) (i32.const 300) (i32.const 4)) (i32.const 0))
      (then unreachable))
    (block $done
      (loop $poll
        (br_if $done (i32.ge_s (call $db_get (i32.const 80) (i32.const 4) (i32.const 1024) (i32.const 64)) (i32.const 0)))
        (local.set $polls (i32.add (local.get $polls) (i32.const 1)))
        (if (i32.ge_u (local.get $polls) (i32.const ${POLLS_MAX})) (then unreachable))
        (if (i32.ge_s (call $receive (i32.const 2048) (i32.const 256) (i32.const 10)) (i32.const 0))
          (then (call $print (i32.const 128) (i32.const 21))))
        (br $poll)))))`;

const PROBER = `(module ${IMPORTS}
  (data (i32.const 96) "target")
  (data (i32.const 104) "wipe")
  (data (i32.const 112) "child")
  (data (i32.const 120) "hi")
  (data (i32.const 128) "prober child ran\\n")
  (data (i32.const 160) "spawn other=?\\n")
  (data (i32.const 176) "spawn own=?\\n")
  (data (i32.const 192) "send other=?\\n")
  (data (i32.const 208) "monitor other=?\\n")
  (data (i32.const 228) "send own=?\\n")
  (data (i32.const 240) "send node=?\\n")
  (data (i32.const 256) "send gone=?\\n")
  (data (i32.const 272) "link other=?\\n")
  (func (export "child") (call $print (i32.const 128) (i32.const 17)))
  ;; Waits for the DOWN of a child it spawned with the monitor flag (pid > 0 only).
  (func $await_down (param $pid i32)
    (if (i32.gt_s (local.get $pid) (i32.const 0))
      (then (drop (call $receive_match (i32.const 2) (local.get $pid) (i32.const 0) (i32.const 0)
        (i32.const 2048) (i32.const 256) (i32.const ${CHILD_WAIT_MS}))))))
  (func (export "run")
    (local $target i32)
    (local $code i32)
    (call $await_key (i32.const 64) (i32.const 3))
    (if (i32.ne (call $db_get (i32.const 64) (i32.const 3) (i32.const 300) (i32.const 4)) (i32.const 4))
      (then unreachable))
    (local.set $target (i32.load (i32.const 300)))
    (local.set $code (call $spawn (i32.const 96) (i32.const 6) (i32.const 104) (i32.const 4)
      (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 2)))
    (call $say (i32.const 160) (i32.const 14) (local.get $code))
    (call $await_down (local.get $code))
    (local.set $code (call $spawn (i32.const 0) (i32.const 0) (i32.const 112) (i32.const 5)
      (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 2)))
    (call $say (i32.const 176) (i32.const 12) (local.get $code))
    (call $await_down (local.get $code))
    (call $say (i32.const 192) (i32.const 13) (call $send (local.get $target) (i32.const 120) (i32.const 2)))
    (call $say (i32.const 208) (i32.const 16) (call $monitor (local.get $target)))
    (call $say (i32.const 272) (i32.const 13) (call $link (local.get $target)))
    (call $say (i32.const 228) (i32.const 11) (call $send (call $self) (i32.const 120) (i32.const 2)))
    (call $say (i32.const 240) (i32.const 12) (call $send (i32.const 1) (i32.const 120) (i32.const 2)))
    (call $say (i32.const 256) (i32.const 12) (call $send (i32.const ${GONE_PID}) (i32.const 120) (i32.const 2)))
    (drop (call $db_set (i32.const 80) (i32.const 4) (i32.const 64) (i32.const 1)))))`;

describe("module isolation of processes", () => {
  let result: Awaited<ReturnType<typeof runNx>>;

  before(async () => {
    writeFileSync(join(dir.path, "target.wasm"), await watToWasm(TARGET, "target.wat"));
    writeFileSync(join(dir.path, "prober.wasm"), await watToWasm(PROBER, "prober.wat"));
    const db = 'db = { read = ["/pid", "/done"], write = ["/pid", "/done"] }';
    writeFileSync(
      join(dir.path, "numax.toml"),
      [
        "[[modules]]",
        'path = "target.wasm"',
        `policy = { capabilities = { ${db} } }`,
        "",
        "[[modules]]",
        'path = "prober.wasm"',
        `policy = { capabilities = { ${db}, processes = { spawn = "sandboxed" } } }`,
        "",
      ].join("\n"),
    );
    result = await runNx(
      ["run", "--config", join(dir.path, "numax.toml"), "--datastore-path", join(dir.path, "data")],
      { cwd: dir.path, env: { NX_POLICY_DEFAULT: "deny" }, timeoutMs: 60_000 },
    );
  });

  test("a module with a policy spawns its own code, never another module's", () => {
    assert.equal(result.code, EXIT_OK, result.stderr);
    assert.match(result.stdout, /^\[prober\] spawn other=3$/m);
    assert.doesNotMatch(result.stdout, /target code ran for another module/);
    assert.match(
      result.stderr,
      /policy denied proc_spawn: processes\.spawn "module target" is not granted to module prober/,
    );
    assert.match(result.stdout, /^\[prober\] spawn own=p$/m);
    assert.match(result.stdout, /prober child ran/);
  });

  test("a module with a policy sends to, monitors and links to its own processes only", () => {
    assert.equal(result.code, EXIT_OK, result.stderr);
    assert.match(result.stdout, /^\[prober\] send other=3$/m);
    assert.match(result.stdout, /^\[prober\] monitor other=3$/m);
    assert.doesNotMatch(result.stdout, /target got a message/);
    assert.match(
      result.stderr,
      /policy denied proc_send: processes "pid \d+ \(module target\)" is not granted to module prober/,
    );
    assert.match(result.stderr, /policy denied proc_monitor: processes "pid \d+ \(module target\)"/);
    assert.match(result.stdout, /^\[prober\] link other=3$/m);
    assert.match(result.stderr, /policy denied proc_link: processes "pid \d+ \(module target\)"/);
    // pid 1 is the first process nx run starts: one of the node's own (JavaScript) processes.
    assert.match(result.stdout, /^\[prober\] send node=3$/m);
    assert.match(result.stderr, /policy denied proc_send: processes "pid 1 \(a process of the node\)"/);
    assert.match(result.stdout, /^\[prober\] send own=0$/m);
    assert.match(result.stdout, /^\[prober\] send gone=1$/m);
  });
});
