// The two WASI preview 1 calls the load guests need, declared directly: the nx ABI's
// time_monotonic counts whole milliseconds, too coarse to measure a latency budget of a few
// milliseconds, while WASI's monotonic clock counts nanoseconds (1 µs resolution here).

@external("wasi_snapshot_preview1", "clock_time_get")
declare function clock_time_get(clockId: u32, precision: u64, timeOut: usize): u16;

@external("wasi_snapshot_preview1", "poll_oneoff")
declare function poll_oneoff(subscriptions: usize, events: usize, count: usize, nevents: usize): u16;

@external("wasi_snapshot_preview1", "fd_write")
declare function fd_write(fd: u32, iovs: usize, iovsLen: usize, nwritten: usize): u16;

const CLOCK_MONOTONIC: u32 = 1;
const STDOUT: u32 = 1;

const timeSlot = memory.data(8);
// One iovec (buf: u32, len: u32) and the nwritten slot after it.
const iovec = memory.data(12);

// One clock subscription (48 bytes), its event (32 bytes) and the event count.
const subscription = memory.data(48);
const event = memory.data(32);
const eventCount = memory.data(4);

/**
 * Sleeps for `ns` (the host rounds up to whole milliseconds): the node parks this guest and keeps
 * serving, and the wait is not CPU time.
 */
export function sleepNs(ns: u64): void {
  memory.fill(subscription, 0, 48);
  store<u32>(subscription, CLOCK_MONOTONIC, 16);
  store<u64>(subscription, ns, 24);
  poll_oneoff(subscription, event, 1, eventCount);
}

/** Monotonic nanoseconds (never decreases). */
export function monotonicNs(): u64 {
  clock_time_get(CLOCK_MONOTONIC, 1000, timeSlot);
  return load<u64>(timeSlot);
}

/** Writes `len` bytes at `ptr` to stdout, looping over short writes. */
export function writeStdout(ptr: usize, len: usize): void {
  while (len > 0) {
    store<u32>(iovec, <u32>ptr);
    store<u32>(iovec, <u32>len, 4);
    if (fd_write(STDOUT, iovec, 1, iovec + 8) != 0) return;
    const written = <usize>load<u32>(iovec, 8);
    if (written == 0) return;
    ptr += written;
    len -= written;
  }
}
