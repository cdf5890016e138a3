import wabtInit from "wabt";
import { silentLogger } from "./src/observe/logger.ts";
import { ModuleCache } from "./src/wasm/module-cache.ts";
import { loadGuestModuleBytes } from "./src/wasm/load-guest-module.ts";
import { GuestInstance } from "./src/wasm/guest-instance.ts";
const wabt = await wabtInit();
const wat = (body: string) => wabt.parseWat("t.wat", body, {}).toBinary({ write_debug_names: true }).buffer;
const env = {
  moduleId: "t", logger: silentLogger, env: {}, args: ["t"], clock: { nowMs: () => Date.now(), monotonicMs: () => performance.now() },
  randomFill: (t: Uint8Array) => crypto.getRandomValues(t), emitEvent: () => {}, stdout: (b: Uint8Array) => process.stdout.write(b), stderr: (b: Uint8Array) => process.stderr.write(b), capabilities: [],
};
const cache = new ModuleCache({ directory: undefined, logger: silentLogger });
const cases: Record<string, string> = {
  hello: `(module (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1) (data (i32.const 16) "hello\\n")
    (func (export "run") (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 6)) (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`,
  spin: `(module (memory (export "memory") 1) (func $spin (export "run") (loop $l (br $l))))`,
  rec: `(module (memory (export "memory") 1) (func $recurse (export "run") (call $recurse)))`,
  bomb: `(module (memory (export "memory") 1) (func $grow (export "run") (loop $l (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable)) (br $l))))`,
  start: `(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32))) (memory (export "memory") 1) (func $s (call $exit (i32.const 3))) (start $s) (func (export "run")))`,
};
for (const [name, src] of Object.entries(cases)) {
  const mod = await loadGuestModuleBytes(wat(src), name + ".wasm", { memoryMaxBytes: 16 << 20, cache, logger: silentLogger });
  let ticks = 0; const iv = setInterval(() => ticks++, 10);
  const t0 = performance.now();
  const guest = GuestInstance.create(mod, { env, cpuMsPerRun: 500 });
  const r = await guest.run();
  clearInterval(iv);
  console.log(name, r.ok ? "ok" : `${r.failure.kind}: ${r.failure.message}`, `${(performance.now()-t0).toFixed(0)}ms ticks=${ticks} refills=${guest.governor.refills} yields=${guest.governor.yields}`);
}
