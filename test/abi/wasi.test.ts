import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { GuestExitError } from "../../src/wasm/abi/guest-errors.ts";
import { WASI_FUNCTION_SIGNATURES } from "../../src/wasm/abi/wasi.ts";
import {
  compileWat,
  type EnvironmentOptions,
  instantiate,
  recordingEnvironment,
  text,
  trampolineGuest,
  utf8,
} from "./harness.ts";

const ESUCCESS = 0;
const EBADF = 8;
const EFAULT = 21;
const EINVAL = 28;
const ENOSYS = 52;
const ENOTDIR = 54;
const ENOTSOCK = 57;
const ENOTSUP = 58;
const ESPIPE = 70;

const A = 1024;
const B = 2048;
const BUF = 8192;

async function setup(options: EnvironmentOptions = {}) {
  const { env, recorded } = recordingEnvironment(options);
  return { guest: await trampolineGuest(env), recorded };
}

describe("args and environ", () => {
  test("args_sizes_get / args_get: NUL-terminated strings and a pointer array", async () => {
    const { guest } = await setup({ args: ["app.wasm", "--name", "zoë"] });
    assert.equal(guest.call("args_sizes_get", A, B), ESUCCESS);
    assert.equal(guest.u32(A), 3);
    const size = guest.u32(B);
    assert.equal(size, 9 + 7 + utf8("zoë").length + 1);
    assert.equal(guest.call("args_get", A, BUF), ESUCCESS);
    const args = [0, 1, 2].map((i) => {
      const ptr = guest.u32(A + 4 * i);
      const end = guest.memory().indexOf(0, ptr);
      return text(guest.read(ptr, end - ptr));
    });
    assert.deepEqual(args, ["app.wasm", "--name", "zoë"]);
    assert.equal(guest.u32(A), BUF);
    assert.equal(guest.call("args_get", A, guest.memory().length - size + 1), EFAULT);
    assert.equal(guest.call("args_sizes_get", -1, B), EFAULT);
  });

  test("environ shows only NX_* and NUMAX_* variables", async () => {
    const { guest } = await setup({ env: { PATH: "/bin", NX_A: "1", SECRET: "s", NUMAX_B: "two" } });
    assert.equal(guest.call("environ_sizes_get", A, B), ESUCCESS);
    assert.equal(guest.u32(A), 2);
    assert.equal(guest.u32(B), "NX_A=1\0NUMAX_B=two\0".length);
    assert.equal(guest.call("environ_get", A, BUF), ESUCCESS);
    assert.equal(text(guest.read(BUF, guest.u32(B))), "NX_A=1\0NUMAX_B=two\0");
    assert.equal(guest.u32(A + 4), BUF + 7);
    assert.equal(guest.call("environ_get", -4, BUF), EFAULT);
  });
});

describe("clocks and random", () => {
  test("clock_time_get: realtime and monotonic in ns; CPU clocks ENOTSUP; unknown EINVAL", async () => {
    let mono = 42.5;
    const { guest } = await setup({ nowMs: () => 1_700_000_000_123.456, monotonicMs: () => mono });
    const view = () => new DataView(guest.memory().buffer);
    assert.equal(guest.call("clock_time_get", 0, 1000n, A), ESUCCESS);
    assert.equal(view().getBigUint64(A, true), 1_700_000_000_123_456_000n);
    assert.equal(guest.call("clock_time_get", 1, 0n, A), ESUCCESS);
    assert.equal(view().getBigUint64(A, true), 42_500_000n);
    mono = 1;
    guest.call("clock_time_get", 1, 0n, A);
    assert.equal(view().getBigUint64(A, true), 42_500_000n, "monotonic never decreases");
    assert.equal(guest.call("clock_time_get", 2, 0n, A), ENOTSUP);
    assert.equal(guest.call("clock_time_get", 3, 0n, A), ENOTSUP);
    assert.equal(guest.call("clock_time_get", 9, 0n, A), EINVAL);
    assert.equal(guest.call("clock_time_get", 0, 0n, guest.memory().length - 7), EFAULT);
    assert.equal(guest.call("clock_res_get", 1, A), ESUCCESS);
    assert.equal(view().getBigUint64(A, true), 1000n);
    assert.equal(guest.call("clock_res_get", 2, A), ENOTSUP);
    assert.equal(guest.call("clock_res_get", 0, -1), EFAULT);
  });

  test("random_get fills the range", async () => {
    const { guest } = await setup();
    assert.equal(guest.call("random_get", A, 16), ESUCCESS);
    assert.deepEqual(
      [...guest.read(A, 16)],
      Array.from({ length: 16 }, (_, i) => (i * 31 + 7) & 0xff),
    );
    assert.equal(guest.call("random_get", -1, 16), EFAULT);
  });
});

describe("stdio", () => {
  /** Writes iovecs (ptr, len) at A for the given strings (placed from BUF) and returns their count. */
  function iovecs(guest: Awaited<ReturnType<typeof setup>>["guest"], parts: string[]): number {
    let at = BUF;
    const view = new DataView(guest.memory().buffer);
    parts.forEach((part, i) => {
      const bytes = utf8(part);
      guest.write(at, bytes);
      view.setUint32(A + 8 * i, at, true);
      view.setUint32(A + 8 * i + 4, bytes.length, true);
      at += bytes.length;
    });
    return parts.length;
  }

  test("fd_write gathers iovecs to stdout / stderr at once and reports nwritten", async () => {
    const { guest, recorded } = await setup();
    const n = iovecs(guest, ["hello ", "", "world\n"]);
    assert.equal(guest.call("fd_write", 1, A, n, B), ESUCCESS);
    assert.equal(guest.u32(B), 12);
    assert.deepEqual(recorded.stdout.map(text), ["hello world\n"]);
    guest.write(BUF, "XXXX");
    assert.equal(text(recorded.stdout[0]!), "hello world\n", "the host got a copy");
    iovecs(guest, ["oops\n"]);
    assert.equal(guest.call("fd_write", 2, A, 1, B), ESUCCESS);
    assert.deepEqual(recorded.stderr.map(text), ["oops\n"]);
  });

  test("fd_write errors: EBADF for stdin and unknown fds, EINVAL above 1024 iovecs, EFAULT for bad ranges", async () => {
    const { guest, recorded } = await setup();
    iovecs(guest, ["x"]);
    assert.equal(guest.call("fd_write", 0, A, 1, B), EBADF);
    assert.equal(guest.call("fd_write", 3, A, 1, B), EBADF);
    assert.equal(guest.call("fd_write", -1, A, 1, B), EBADF);
    assert.equal(guest.call("fd_write", 1, A, 1025, B), EINVAL);
    assert.equal(guest.call("fd_write", 1, A, 1, -1), EFAULT);
    assert.equal(guest.call("fd_write", 1, guest.memory().length - 4, 1, B), EFAULT);
    new DataView(guest.memory().buffer).setUint32(A, 0xfffffff0, true);
    assert.equal(guest.call("fd_write", 1, A, 1, B), EFAULT);
    assert.equal(recorded.stdout.length, 0);
  });

  test("fd_read: stdin is at EOF; other fds EBADF", async () => {
    const { guest } = await setup();
    guest.write(B, new Uint8Array([9, 9, 9, 9]));
    assert.equal(guest.call("fd_read", 0, A, 1, B), ESUCCESS);
    assert.equal(guest.u32(B), 0);
    assert.equal(guest.call("fd_read", 1, A, 1, B), EBADF);
    assert.equal(guest.call("fd_read", 0, A, 1, -1), EFAULT);
  });

  test("fd_close closes stdio for good; fd_fdstat_get describes a character device", async () => {
    const { guest, recorded } = await setup();
    assert.equal(guest.call("fd_fdstat_get", 1, A), ESUCCESS);
    const view = new DataView(guest.memory().buffer);
    assert.equal(view.getUint8(A), 2, "character device");
    const rights = view.getBigUint64(A + 8, true);
    assert.equal(rights & (1n << 6n), 1n << 6n, "fd_write right");
    assert.equal(rights & ((1n << 2n) | (1n << 5n)), 0n, "no seek / tell: a tty for wasi-libc");
    assert.equal(guest.call("fd_fdstat_get", 0, A), ESUCCESS);
    assert.equal(view.getBigUint64(A + 8, true) & (1n << 1n), 1n << 1n, "fd_read right");
    assert.equal(guest.call("fd_filestat_get", 2, BUF), ESUCCESS);
    assert.equal(view.getUint8(BUF + 16), 2);
    assert.equal(guest.call("fd_close", 1), ESUCCESS);
    assert.equal(guest.call("fd_close", 1), EBADF);
    iovecs(guest, ["late"]);
    assert.equal(guest.call("fd_write", 1, A, 1, B), EBADF);
    assert.equal(guest.call("fd_fdstat_get", 1, A), EBADF);
    assert.equal(guest.call("fd_close", 7), EBADF);
    assert.equal(guest.call("fd_fdstat_get", 9, A), EBADF);
    assert.equal(guest.call("fd_fdstat_get", 2, -1), EFAULT);
    assert.equal(recorded.stdout.length, 0);
  });
});

describe("everything else", () => {
  test("no preopens, no filesystem, no sockets, no sleep", async () => {
    const { guest } = await setup();
    assert.equal(guest.call("fd_prestat_get", 3, A), EBADF);
    assert.equal(guest.call("fd_prestat_get", 0, A), EBADF);
    assert.equal(guest.call("fd_prestat_dir_name", 3, A, 16), EBADF);
    assert.equal(guest.call("path_open", 3, 0, A, 4, 0, 0n, 0n, 0, B), EBADF);
    assert.equal(guest.call("path_open", 0, 0, A, 4, 0, 0n, 0n, 0, B), ENOTDIR);
    assert.equal(guest.call("path_symlink", A, 4, 1, B, 4), ENOTDIR);
    assert.equal(guest.call("path_unlink_file", 5, A, 4), EBADF);
    assert.equal(guest.call("sock_accept", 1, 0, A), ENOTSOCK);
    assert.equal(guest.call("sock_send", 4, A, 1, 0, B), EBADF);
    assert.equal(guest.call("fd_seek", 1, 0n, 0, A), ESPIPE);
    assert.equal(guest.call("fd_tell", 1, A), ESPIPE);
    assert.equal(guest.call("fd_seek", 3, 0n, 0, A), EBADF);
    assert.equal(guest.call("fd_readdir", 0, A, 16, 0n, B), ENOTDIR);
    assert.equal(guest.call("fd_fdstat_set_flags", 1, 0), ESUCCESS);
    assert.equal(guest.call("fd_fdstat_set_flags", 1, 4), ENOTSUP);
    assert.equal(guest.call("fd_renumber", 1, 2), ENOTSUP);
    assert.equal(guest.call("fd_renumber", 1, 5), EBADF);
    assert.equal(guest.call("poll_oneoff", A, B, 1, BUF), ENOSYS);
    assert.equal(guest.call("proc_raise", 9), ENOSYS);
    assert.equal(guest.call("sched_yield"), ESUCCESS);
  });

  test("every preview 1 function is provided", async () => {
    const { guest } = await setup();
    assert.equal(WASI_FUNCTION_SIGNATURES.size, 46);
    for (const name of WASI_FUNCTION_SIGNATURES.keys()) {
      if (name !== "proc_exit") assert.equal(typeof guest.exports[name], "function", name);
    }
  });
});

describe("a hand-written WASI guest", () => {
  const HELLO_WASI = `(module
    (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
    (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 16) "hello, wasi\\n")
    (func (export "_start")
      ;; iovec at 0: (16, 12)
      (i32.store (i32.const 0) (i32.const 16))
      (i32.store (i32.const 4) (i32.const 12))
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      ;; exit code = number of visible environment variables + 2
      (drop (call $environ_sizes_get (i32.const 32) (i32.const 36)))
      (call $proc_exit (i32.add (i32.load (i32.const 32)) (i32.const 2)))
      unreachable))`;

  test("writes a line to stdout, then proc_exit ends it with its code", async () => {
    const bytes = await compileWat(HELLO_WASI);
    const { env, recorded } = recordingEnvironment({ env: { NX_ONE: "1", OTHER: "x" } });
    const guest = instantiate(bytes, env);
    assert.throws(
      () => guest.call("_start"),
      (error: unknown) =>
        error instanceof GuestExitError && error.exitCode === 3 && error.code === "GUEST_EXIT",
    );
    assert.deepEqual(recorded.stdout.map(text), ["hello, wasi\n"]);
  });
});
