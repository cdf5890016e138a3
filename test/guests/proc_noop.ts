// Test and benchmark guest: the smallest process, which asks for its pid and ends
// (bench/kernel-wasm.ts measures spawn-to-exit with it).

// @ts-ignore: decorator
@external("nx", "proc_self")
declare function proc_self(): i32;

let last: i32 = 0;

export function run(): void {
  last = proc_self();
}
