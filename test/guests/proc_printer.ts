// Test guest for the multi-module runner: writes numbered lines to stdout through WASI, yielding
// in between (a receive that times out at once), so the lines of several modules interleave.

import { proc, system } from "../../sdk/assemblyscript/assembly";

// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "fd_write")
declare function fd_write(fd: u32, iovs: usize, iovsLen: usize, nwritten: usize): u16;

function write(text: string): void {
  const bytes = String.UTF8.encode(text);
  const iov = memory.data(12);
  store<u32>(iov, changetype<usize>(bytes));
  store<u32>(iov, <u32>bytes.byteLength, 4);
  fd_write(1, iov, 1, iov + 8);
}

export function run(): void {
  const name = system.moduleId();
  for (let i = 1; i <= 3; i++) {
    // Half a line, a turn for the others, then the rest: the runner must keep lines whole.
    write(`${name} line `);
    proc.receive(1);
    write(`${i}\n`);
  }
}
