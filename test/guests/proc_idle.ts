// Test and benchmark guest: parks in receive until a message arrives, then ends. Uses the raw
// ABI into a static buffer, so an idle process holds no heap allocations of its own.

// @ts-ignore: decorator
@external("nx", "proc_receive")
declare function proc_receive(outPtr: usize, outCap: usize, timeoutMs: i32): i32;

export function run(): void {
  const buffer = memory.data(256);
  proc_receive(buffer, 256, -1);
}
