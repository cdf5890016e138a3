import assert from "node:assert/strict";
import { test } from "node:test";
import wabtFactory from "wabt";
import { DISPATCH_CODES, DISPATCHER_BYTES } from "./callback-dispatcher.ts";

/** The dispatcher's source, as its module comment shows it. */
const DISPATCHER_WAT = `(module
  (type $v (func)) (type $i (func (param i32))) (type $ii (func (param i32 i32))) (type $r (func (result i32)))
  (import "h" "next" (func $next (type $r)))
  (import "h" "a0" (func $a0 (type $r)))
  (import "h" "a1" (func $a1 (type $r)))
  (import "g" "on_tick" (func $tick (type $v)))
  (import "g" "on_remote_op" (func $remote (type $ii)))
  (import "g" "on_peer_connected" (func $pc (type $i)))
  (import "g" "on_peer_disconnected" (func $pd (type $i)))
  (import "g" "on_message" (func $msg (type $ii)))
  (func (export "dispatch")
    (loop $l
      (block $done (block $b4 (block $b3 (block $b2 (block $b1 (block $b0
        (br_table $b0 $b1 $b2 $b3 $b4 $done (call $next)))
        (call $tick) (br $l))
        (call $remote (call $a0) (call $a1)) (br $l))
        (call $pc (call $a0)) (br $l))
        (call $pd (call $a0)) (br $l))
        (call $msg (call $a0) (call $a1)) (br $l)))))`;

test("the dispatcher's bytes are its source, compiled", async () => {
  const wabt = await wabtFactory();
  const module = wabt.parseWat("dispatcher.wat", DISPATCHER_WAT);
  try {
    module.validate();
    assert.deepEqual(Uint8Array.from(module.toBinary({}).buffer), DISPATCHER_BYTES);
  } finally {
    module.destroy();
  }
});

test("each code calls its callback with the host's arguments; any other code ends the loop", () => {
  const calls: string[] = [];
  const codes = [...Object.values(DISPATCH_CODES), -1];
  let at = 0;
  const callbacks = {
    on_tick: () => calls.push("tick"),
    on_remote_op: (a: number, b: number) => calls.push(`remote ${a} ${b}`),
    on_peer_connected: (a: number) => calls.push(`connected ${a}`),
    on_peer_disconnected: (a: number) => calls.push(`disconnected ${a}`),
    on_message: (a: number, b: number) => calls.push(`message ${a} ${b}`),
  };
  const instance = new WebAssembly.Instance(new WebAssembly.Module(DISPATCHER_BYTES), {
    h: { next: () => codes[at++]!, a0: () => 10 + at, a1: () => 20 + at },
    g: callbacks,
  });
  (instance.exports.dispatch as () => void)();
  assert.deepEqual(calls, ["tick", "remote 12 22", "connected 13", "disconnected 14", "message 15 25"]);
  assert.equal(at, codes.length);
});
