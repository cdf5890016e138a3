import wabtInit from "wabt";
import { instrumentModule } from "./src/wasm/instrument-module.ts";
const wabt = await wabtInit();
const wat = `(module
 (memory (export "memory") 1)
 (func $spin (export "run") (loop $l (br $l)))
 (func $sum (export "sum") (param $n i32) (result i32) (local $i i32) (local $acc i32)
   (block $done (loop $l
     (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
     (local.set $acc (i32.add (local.get $acc) (i32.mul (local.get $i) (local.get $i))))
     (local.set $i (i32.add (local.get $i) (i32.const 1)))
     (br $l)))
   (local.get $acc))
 (func $fib (export "fib") (param $n i32) (result i32)
   (if (result i32) (i32.lt_u (local.get $n) (i32.const 2)) (then (local.get $n))
     (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1))) (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
)`;
const bin = wabt.parseWat("t.wat", wat, {}).toBinary({ write_debug_names: true }).buffer;
const inst = instrumentModule(bin, { moduleLabel: "t", memoryMaxBytes: 16 << 20 });
console.log("checks", inst.fuelChecks, inst.bytes.length, bin.length, WebAssembly.validate(inst.bytes));
const tramp = wabt.parseWat("tr.wat", `(module (import "h" "f" (func $f (result i32))) (export "f" (func $f)))`, {}).toBinary({}).buffer;
let calls = 0; let sliceStart = performance.now(); let t0 = performance.now();
const refill = new WebAssembly.Suspending(() => {
  calls++;
  const now = performance.now();
  if (now - t0 > 1000) throw new Error("budget");
  if (now - sliceStart > 5) { return new Promise((r) => setImmediate(() => { sliceStart = performance.now(); r(100000); })); }
  return 100000;
});
const tr = new WebAssembly.Instance(new WebAssembly.Module(tramp), { h: { f: refill } });
const m = new WebAssembly.Module(inst.bytes);
const i = new WebAssembly.Instance(m, {});
(i.exports.__nx_fuel_table as WebAssembly.Table).set(0, tr.exports.f);
let ticks = 0; const iv = setInterval(() => ticks++, 10);
try { await WebAssembly.promising(i.exports.run as any)(); } catch (e) { console.log("run ended:", (e as Error).message, "calls", calls, "ticks", ticks); }
clearInterval(iv);
// overhead: plain vs instrumented
const plain = new WebAssembly.Instance(new WebAssembly.Module(bin), {});
const sumP = WebAssembly.promising(i.exports.sum as any);
for (let r = 0; r < 3; r++) {
  t0 = performance.now() + 1e9; let s = performance.now(); (plain.exports.sum as any)(200_000_000); const tp = performance.now() - s;
  s = performance.now(); sliceStart = performance.now(); await sumP(200_000_000); const ti = performance.now() - s;
  s = performance.now(); (plain.exports.fib as any)(32); const fp = performance.now() - s;
  s = performance.now(); await WebAssembly.promising(i.exports.fib as any)(32); const fi = performance.now() - s;
  console.log(`sum plain ${tp.toFixed(1)} instr ${ti.toFixed(1)} ratio ${(ti/tp).toFixed(2)} | fib plain ${fp.toFixed(1)} instr ${fi.toFixed(1)} ratio ${(fi/fp).toFixed(2)}`);
}
