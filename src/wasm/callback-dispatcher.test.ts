import assert from "node:assert/strict";
import { test } from "node:test";
import wabtFactory from "wabt";
import {
  DISPATCH_ARG0_MAX,
  DISPATCH_ARG1_MAX,
  DISPATCH_CODES,
  DISPATCH_END,
  DISPATCH_WAIT,
  DISPATCHER_BYTES,
  packDispatch,
} from "./callback-dispatcher.ts";

/** The dispatcher's source, as its module comment shows it. */
const DISPATCHER_WAT = `(module
  (type $v (func)) (type $i (func (param i32))) (type $ii (func (param i32 i32))) (type $r (func (result i32)))
  (import "h" "next" (func $next (type $r)))
  (import "h" "wait" (func $wait (type $r)))
  (import "g" "on_tick" (func $tick (type $v)))
  (import "g" "on_remote_op" (func $remote (type $ii)))
  (import "g" "on_peer_connected" (func $pc (type $i)))
  (import "g" "on_peer_disconnected" (func $pd (type $i)))
  (import "g" "on_message" (func $msg (type $ii)))
  (func (export "dispatch") (local $n i32) (local $a0 i32) (local $a1 i32)
    (loop $l
      (local.set $n (call $next))
      (local.set $a0 (i32.and (i32.shr_u (local.get $n) (i32.const 3)) (i32.const 2047)))
      (local.set $a1 (i32.shr_u (local.get $n) (i32.const 14)))
      (block $done (block $w (block $b4 (block $b3 (block $b2 (block $b1 (block $b0
        (br_table $b0 $b1 $b2 $b3 $b4 $w $done (i32.and (local.get $n) (i32.const 7))))
        (call $tick) (br $l))
        (call $remote (local.get $a0) (local.get $a1)) (br $l))
        (call $pc (local.get $a0)) (br $l))
        (call $pd (local.get $a0)) (br $l))
        (call $msg (local.get $a0) (local.get $a1)) (br $l))
        (drop (call $wait)) (br $l)))))`;

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

test("each packed code calls its callback with its arguments; WAIT waits, END returns", () => {
  const calls: string[] = [];
  const answers = [
    packDispatch(DISPATCH_CODES.on_tick),
    packDispatch(DISPATCH_CODES.on_remote_op, 1024, 6),
    DISPATCH_WAIT,
    packDispatch(DISPATCH_CODES.on_peer_connected, 32),
    packDispatch(DISPATCH_CODES.on_peer_disconnected, 32),
    packDispatch(DISPATCH_CODES.on_message, DISPATCH_ARG0_MAX, DISPATCH_ARG1_MAX),
    DISPATCH_END,
  ];
  let at = 0;
  const callbacks = {
    on_tick: () => calls.push("tick"),
    on_remote_op: (a: number, b: number) => calls.push(`remote ${a} ${b}`),
    on_peer_connected: (a: number) => calls.push(`connected ${a}`),
    on_peer_disconnected: (a: number) => calls.push(`disconnected ${a}`),
    on_message: (a: number, b: number) => calls.push(`message ${a} ${b}`),
  };
  const instance = new WebAssembly.Instance(new WebAssembly.Module(DISPATCHER_BYTES), {
    h: { next: () => answers[at++]!, wait: () => calls.push("wait") },
    g: callbacks,
  });
  (instance.exports.dispatch as () => void)();
  assert.deepEqual(calls, [
    "tick",
    "remote 1024 6",
    "wait",
    "connected 32",
    "disconnected 32",
    `message ${DISPATCH_ARG0_MAX} ${DISPATCH_ARG1_MAX}`,
  ]);
  assert.equal(at, answers.length);
  assert.throws(() => packDispatch(0, DISPATCH_ARG0_MAX + 1), RangeError);
});
