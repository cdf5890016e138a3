/** Hand-written guests calling the host from inside wasm, as compiled guests do. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { GuestAbortError } from "../../src/wasm/abi/guest-errors.ts";
import { compileWat, instantiate, recordingEnvironment, text, utf8 } from "./harness.ts";
import { memoryGuestStore } from "./memory-guest-store.ts";

const KV_ROUND_TRIP = `(module
  (import "nx" "db_set" (func $db_set (param i32 i32 i32 i32) (result i32)))
  (import "nx" "db_get" (func $db_get (param i32 i32 i32 i32) (result i32)))
  (import "nx" "host_log_v2" (func $log (param i32 i32 i32)))
  (import "nx" "abort" (func $abort (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "greeting")
  (data (i32.const 16) "hello, numax")
  (data (i32.const 32) "retry failed")
  (data (i32.const 48) "round trip ok")
  (func $check (param $ok i32)
    (if (i32.eqz (local.get $ok)) (then (call $abort (i32.const 32) (i32.const 12)))))
  (func (export "run") (local $r i32)
    (call $check (i32.eqz (call $db_set (i32.const 0) (i32.const 8) (i32.const 16) (i32.const 12))))
    ;; a 4-byte buffer is too small: -2 and the required size at the buffer
    (local.set $r (call $db_get (i32.const 0) (i32.const 8) (i32.const 1024) (i32.const 4)))
    (call $check (i32.eq (local.get $r) (i32.const -2)))
    (local.set $r (call $db_get (i32.const 0) (i32.const 8) (i32.const 1024) (i32.load (i32.const 1024))))
    (call $check (i32.eq (local.get $r) (i32.const 12)))
    (call $log (i32.const 2) (i32.const 1024) (local.get $r))
    (call $log (i32.const 2) (i32.const 48) (i32.const 13))))`;

const GROW_THEN_READ = `(module
  (import "nx" "db_get" (func $db_get (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "k")
  (func (export "run") (result i32)
    ;; the host caches views of the 1-page buffer here ...
    (drop (call $db_get (i32.const 0) (i32.const 1) (i32.const 100) (i32.const 64)))
    ;; ... which memory.grow detaches
    (drop (memory.grow (i32.const 3)))
    ;; read into the last page, which did not exist when the host last looked
    (call $db_get (i32.const 0) (i32.const 1) (i32.const 200000) (i32.const 64))))`;

const LOG_RESULT_THEN_ABORT = `(module
  (import "nx" "host_log_v2" (func $log (param i32 i32) (result i32)))
  (import "nx" "abort" (func $abort (param i32 i32)))
  (memory (export "memory") 1)
  (global $last (export "last") (mut i32) (i32.const 99))
  (data (i32.const 0) "starting")
  (data (i32.const 16) "cannot continue: config missing")
  (func (export "run")
    (global.set $last (call $log (i32.const 0) (i32.const 8)))
    (call $abort (i32.const 16) (i32.const 31))
    (global.set $last (i32.const 7))))`;

describe("hand-written guests", () => {
  test("kv round trip with a -2 retry, logging through (level, ptr, len)", async () => {
    const { store } = memoryGuestStore();
    const { env, recorded } = recordingEnvironment({ store });
    const guest = instantiate(await compileWat(KV_ROUND_TRIP), env);
    guest.call("run");
    assert.deepEqual(
      recorded.logs.map((l) => [l.level, l.message]),
      [
        ["info", "hello, numax"],
        ["info", "round trip ok"],
      ],
    );
    assert.equal(text(store.get(utf8("greeting"))!), "hello, numax");
  });

  test("a guest growing its memory, then reading into the new pages", async () => {
    const { store } = memoryGuestStore();
    store.set(utf8("k"), utf8("after grow"));
    const { env } = recordingEnvironment({ store });
    const guest = instantiate(await compileWat(GROW_THEN_READ), env);
    assert.equal(guest.memory().length, 65536);
    assert.equal(guest.call("run"), 10);
    assert.equal(text(guest.read(100, 10)), "after grow");
    assert.equal(text(guest.read(200000, 10)), "after grow");
  });

  test("(ptr, len) -> i32 host_log_v2 returns 0 to the guest; abort ends it with the message", async () => {
    const { env, recorded } = recordingEnvironment();
    const guest = instantiate(await compileWat(LOG_RESULT_THEN_ABORT), env);
    assert.throws(
      () => guest.call("run"),
      (e: unknown) => e instanceof GuestAbortError && e.guestMessage === "cannot continue: config missing",
    );
    assert.equal((guest.exports.last as { value: number }).value, 0);
    assert.deepEqual(recorded.logs, [{ level: "info", message: "starting" }]);
  });
});
