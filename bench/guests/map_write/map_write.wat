;; The guest of `npm run bench -- map-write` (bench/map-write.ts): `crdt_lww_map_set` of distinct
;; fields of the LWW-Map "gate-counter" in a loop, field "n1-<i>" and value i (8 bytes), as the
;; gates' counter_load guest writes with --keys. Hand-written WAT rather than AssemblyScript (which
;; scripts/build-guests.ts would build): the field is formatted in place, so the guest's own share
;; of the CPU per write is a few instructions and the figure is the node's path.
;; Parameters written by the host before each run: [0] first index  [4] writes.
;; [8] receives the sum of the results (0: every call answered OK).
(module
  (import "nx" "crdt_lww_map_set" (func $set (param i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "gate-counter")
  (data (i32.const 128) "n1-")
  ;; Writes the decimal digits of $n after "n1-" at 128; returns the field's length.
  (func $field (param $n i32) (result i32)
    (local $digits i32) (local $rest i32) (local $at i32)
    (local.set $digits (i32.const 1))
    (local.set $rest (local.get $n))
    (block $counted
      (loop $count
        (br_if $counted (i32.lt_u (local.get $rest) (i32.const 10)))
        (local.set $rest (i32.div_u (local.get $rest) (i32.const 10)))
        (local.set $digits (i32.add (local.get $digits) (i32.const 1)))
        (br $count)))
    (local.set $at (i32.add (i32.const 131) (local.get $digits)))
    (loop $digit
      (local.set $at (i32.sub (local.get $at) (i32.const 1)))
      (i32.store8 (local.get $at) (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $digit (local.get $n)))
    (i32.add (i32.const 3) (local.get $digits)))
  (func (export "run")
    (local $i i32) (local $end i32) (local $sum i32)
    (local.set $i (i32.load (i32.const 0)))
    (local.set $end (i32.add (local.get $i) (i32.load (i32.const 4))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (i64.store (i32.const 256) (i64.extend_i32_u (local.get $i)))
        (local.set $sum (i32.add (local.get $sum)
          (call $set (i32.const 64) (i32.const 12) (i32.const 128) (call $field (local.get $i))
            (i32.const 256) (i32.const 8))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.store (i32.const 8) (local.get $sum))))
