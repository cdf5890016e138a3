import { AbiContext } from "./abi-context.ts";
import { OUTPUT_BYTES_MAX } from "./abi-limits.ts";
import type { GuestEnvironment } from "./guest-environment.ts";
import { GuestExitError } from "./guest-errors.ts";
import type { GuestMemoryRef } from "./guest-memory.ts";
import { guestVisibleEnv } from "./guest-visible-env.ts";
import { asHostFunction, forwarding } from "./host-call-forwarding.ts";
import {
  WASI_EBADF,
  WASI_EFAULT,
  WASI_EINVAL,
  WASI_EIO,
  WASI_ENOSYS,
  WASI_ENOTCAPABLE,
  WASI_ENOTDIR,
  WASI_ENOTSOCK,
  WASI_ENOTSUP,
  WASI_ESPIPE,
  WASI_ESUCCESS,
} from "./wasi-errno.ts";

import { WASI_FUNCTION_SIGNATURES } from "./wasi-signatures.ts";

export { WASI_FUNCTION_SIGNATURES, WASI_MODULE } from "./wasi-signatures.ts";

const CLOCK_REALTIME = 0;
const CLOCK_MONOTONIC = 1;
const CLOCK_PROCESS_CPUTIME = 2;
const CLOCK_THREAD_CPUTIME = 3;
/** The host clocks read milliseconds; nanosecond times are exact to the microsecond at best. */
const CLOCK_RESOLUTION_NS = 1_000n;

const FILETYPE_CHARACTER_DEVICE = 2;
const RIGHT_FD_READ = 1n << 1n;
const RIGHT_FD_WRITE = 1n << 6n;
const RIGHT_FD_FILESTAT_GET = 1n << 21n;
const RIGHT_POLL_FD_READWRITE = 1n << 27n;
const FDSTAT_BYTES = 24;
const FILESTAT_BYTES = 64;

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
/** Most iovecs one fd_read / fd_write accepts (POSIX IOV_MAX). */
const IOVECS_MAX = 1024;

const utf8 = new TextEncoder();

/** `strings` as NUL-terminated UTF-8, computed once per instance. */
function nulTerminated(strings: readonly string[]): Uint8Array[] {
  return strings.map((text) => utf8.encode(`${text}\0`));
}

function msToNs(ms: number): bigint {
  return Number.isFinite(ms) && ms > 0 ? BigInt(Math.floor(ms * 1000)) * 1000n : 0n;
}

/**
 * The WASI preview 1 import object (`wasi_snapshot_preview1`) of one guest instance: stdio,
 * args, environment (only `NX_*` / `NUMAX_*`), clocks, random and `proc_exit`; no filesystem
 * (no preopens) and no sockets. Every preview 1 function exists, so any wasi-libc or Rust
 * guest links; the unsupported ones answer EBADF, ENOTDIR, ENOTSOCK, ESPIPE, ENOTSUP or ENOSYS
 * like a process with only fds 0-2 open would see.
 *
 * Pointers out of guest memory answer EFAULT; an unexpected host error answers EIO and logs a
 * line. Only `proc_exit` throws ({@link GuestExitError}).
 *
 * With `imported` (the names the guest imports from WASI), only those functions are made: a
 * guest's instantiation reads no other, and the whole object of 46 was 20 KB of the young
 * generation a plain `nx run` fills before its first scavenge. Without it, every one.
 */
export function createWasiImports(
  env: GuestEnvironment,
  memory: GuestMemoryRef,
  imported?: readonly string[],
  // biome-ignore lint/complexity/noBannedTypes: a WebAssembly import object holds host functions of many shapes
): Record<string, Function> {
  const ctx = new AbiContext(env, memory);
  const { views } = ctx;
  let argList: Uint8Array[] | undefined;
  const args = (): Uint8Array[] => {
    argList ??= nulTerminated(env.args);
    return argList;
  };
  // A policy shows only the names its `env` grants; asking for the whole list is not a denial.
  let environList: Uint8Array[] | undefined;
  const environ = (): Uint8Array[] => {
    environList ??= nulTerminated(
      [...guestVisibleEnv(env.env)]
        .filter(([name]) => env.policy?.showsEnv(name) ?? true)
        .map(([name, value]) => `${name}=${value}`),
    );
    return environList;
  };
  const closed = [false, false, false];
  let lastMonotonicNs = 0n;

  function isOpenStdio(fd: number): boolean {
    return fd >= 0 && fd <= STDERR && !closed[fd];
  }

  /** Wraps a WASI function: nothing thrown reaches the guest, an unexpected error answers EIO. */
  function guard<A extends unknown[]>(name: string, fn: (...a: A) => number): (...a: A) => number {
    const forward = forwarding(fn);
    return asHostFunction((a, b, c, d, e, f, g, h, i): number => {
      try {
        return forward(a, b, c, d, e, f, g, h, i);
      } catch (error) {
        ctx.logFailure(name, error);
        return WASI_EIO;
      }
    });
  }

  function fits(ptr: number, len: number, mem: Uint8Array): boolean {
    return ptr + len <= mem.length;
  }

  /** `*_sizes_get`: the count and the total byte size of a NUL-terminated string list. */
  function sizesGet(list: readonly Uint8Array[]) {
    return (countPtr: number, sizePtr: number): number => {
      const mem = views.bytes();
      countPtr >>>= 0;
      sizePtr >>>= 0;
      if (!fits(countPtr, 4, mem) || !fits(sizePtr, 4, mem)) return WASI_EFAULT;
      const data = views.data();
      data.setUint32(countPtr, list.length, true);
      data.setUint32(
        sizePtr,
        list.reduce((sum, entry) => sum + entry.length, 0),
        true,
      );
      return WASI_ESUCCESS;
    };
  }

  /** `args_get` / `environ_get`: the pointer array at `pointersPtr`, the strings at `bufferPtr`. */
  function listGet(list: readonly Uint8Array[]) {
    return (pointersPtr: number, bufferPtr: number): number => {
      const mem = views.bytes();
      pointersPtr >>>= 0;
      bufferPtr >>>= 0;
      const total = list.reduce((sum, entry) => sum + entry.length, 0);
      if (!fits(pointersPtr, 4 * list.length, mem) || !fits(bufferPtr, total, mem)) return WASI_EFAULT;
      const data = views.data();
      let at = bufferPtr;
      list.forEach((entry, i) => {
        data.setUint32(pointersPtr + 4 * i, at, true);
        mem.set(entry, at);
        at += entry.length;
      });
      return WASI_ESUCCESS;
    };
  }

  function clockNs(id: number): bigint | undefined {
    if (id === CLOCK_REALTIME) return msToNs(env.clock.nowMs());
    if (id === CLOCK_MONOTONIC) {
      const now = msToNs(env.clock.monotonicMs());
      if (now > lastMonotonicNs) lastMonotonicNs = now;
      return lastMonotonicNs;
    }
    return undefined;
  }

  function clockErrno(id: number): number {
    return id === CLOCK_PROCESS_CPUTIME || id === CLOCK_THREAD_CPUTIME ? WASI_ENOTSUP : WASI_EINVAL;
  }

  /**
   * The iovecs `(u32 buf, u32 len)` at `iovsPtr`, checked against memory; undefined when one
   * lies outside it. Stops adding lengths at {@link OUTPUT_BYTES_MAX} (a short write).
   */
  function gather(mem: Uint8Array, iovsPtr: number, iovsLen: number): Uint8Array | undefined {
    const data = views.data();
    const parts: Uint8Array[] = [];
    let total = 0;
    for (let i = 0; i < iovsLen && total < OUTPUT_BYTES_MAX; i++) {
      const buf = data.getUint32(iovsPtr + 8 * i, true);
      const len = Math.min(data.getUint32(iovsPtr + 8 * i + 4, true), OUTPUT_BYTES_MAX - total);
      if (!fits(buf, len, mem)) return undefined;
      parts.push(mem.subarray(buf, buf + len));
      total += len;
    }
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const part of parts) {
      bytes.set(part, at);
      at += part.length;
    }
    return bytes;
  }

  /** For fds 0-2 (when open): `stdio`; for a closed or unknown fd: EBADF. */
  function onStdio(errnoForStdio: number) {
    return (fd: number): number => (isOpenStdio(fd) ? errnoForStdio : WASI_EBADF);
  }

  const noPreopen = (): number => WASI_EBADF;
  const pathOn = (fd: number): number => (isOpenStdio(fd) ? WASI_ENOTDIR : WASI_EBADF);
  const socketOn = (fd: number): number => (isOpenStdio(fd) ? WASI_ENOTSOCK : WASI_EBADF);

  /** The function `name` of WASI preview 1, made only when the guest imports it. */
  // biome-ignore lint/complexity/noBannedTypes: as above
  function make(name: string): Function | undefined {
    switch (name) {
      case "args_sizes_get":
        return guard("args_sizes_get", sizesGet(args()));
      case "args_get":
        return guard("args_get", listGet(args()));
      case "environ_sizes_get":
        return guard("environ_sizes_get", sizesGet(environ()));
      case "environ_get":
        return guard("environ_get", listGet(environ()));

      case "clock_res_get":
        return guard("clock_res_get", (id: number, resPtr: number): number => {
          const mem = views.bytes();
          resPtr >>>= 0;
          if (id !== CLOCK_REALTIME && id !== CLOCK_MONOTONIC) return clockErrno(id);
          if (!fits(resPtr, 8, mem)) return WASI_EFAULT;
          views.data().setBigUint64(resPtr, CLOCK_RESOLUTION_NS, true);
          return WASI_ESUCCESS;
        });
      case "clock_time_get":
        return guard("clock_time_get", (id: number, _precision: bigint, timePtr: number): number => {
          const mem = views.bytes();
          timePtr >>>= 0;
          const ns = clockNs(id);
          if (ns === undefined) return clockErrno(id);
          if (!fits(timePtr, 8, mem)) return WASI_EFAULT;
          if (env.policy?.allowsSwitch("clock_time_get", "time") === false) return WASI_ENOTCAPABLE;
          views.data().setBigUint64(timePtr, ns, true);
          return WASI_ESUCCESS;
        });
      case "random_get":
        return guard("random_get", (bufPtr: number, bufLen: number): number => {
          const mem = views.bytes();
          bufPtr >>>= 0;
          bufLen >>>= 0;
          if (!fits(bufPtr, bufLen, mem)) return WASI_EFAULT;
          if (env.policy?.allowsSwitch("random_get", "random") === false) return WASI_ENOTCAPABLE;
          env.randomFill(mem.subarray(bufPtr, bufPtr + bufLen));
          return WASI_ESUCCESS;
        });

      case "fd_write":
        return guard(
          "fd_write",
          (fd: number, iovsPtr: number, iovsLen: number, nwrittenPtr: number): number => {
            const mem = views.bytes();
            if (!isOpenStdio(fd) || fd === STDIN) return WASI_EBADF;
            iovsPtr >>>= 0;
            iovsLen >>>= 0;
            nwrittenPtr >>>= 0;
            if (iovsLen > IOVECS_MAX) return WASI_EINVAL;
            if (!fits(iovsPtr, 8 * iovsLen, mem) || !fits(nwrittenPtr, 4, mem)) return WASI_EFAULT;
            const bytes = gather(mem, iovsPtr, iovsLen);
            if (bytes === undefined) return WASI_EFAULT;
            // Called as methods: a pooled instance's output functions find its process through `this`.
            if (bytes.length > 0 && fd === STDOUT) env.stdout(bytes);
            else if (bytes.length > 0) env.stderr(bytes);
            views.data().setUint32(nwrittenPtr, bytes.length, true);
            return WASI_ESUCCESS;
          },
        );
      case "fd_read":
        return guard("fd_read", (fd: number, iovsPtr: number, iovsLen: number, nreadPtr: number): number => {
          const mem = views.bytes();
          if (!isOpenStdio(fd) || fd !== STDIN) return WASI_EBADF;
          iovsPtr >>>= 0;
          iovsLen >>>= 0;
          nreadPtr >>>= 0;
          if (iovsLen > IOVECS_MAX) return WASI_EINVAL;
          if (!fits(iovsPtr, 8 * iovsLen, mem) || !fits(nreadPtr, 4, mem)) return WASI_EFAULT;
          // stdin is always at its end: guests run unattended.
          views.data().setUint32(nreadPtr, 0, true);
          return WASI_ESUCCESS;
        });
      case "fd_close":
        return guard("fd_close", (fd: number): number => {
          if (!isOpenStdio(fd)) return WASI_EBADF;
          closed[fd] = true;
          return WASI_ESUCCESS;
        });
      case "fd_fdstat_get":
        return guard("fd_fdstat_get", (fd: number, statPtr: number): number => {
          const mem = views.bytes();
          if (!isOpenStdio(fd)) return WASI_EBADF;
          statPtr >>>= 0;
          if (!fits(statPtr, FDSTAT_BYTES, mem)) return WASI_EFAULT;
          // A character device without seek/tell rights: wasi-libc's isatty() says yes, so C stdio
          // line-buffers and the guest's lines reach the host as they are written.
          const rights =
            (fd === STDIN ? RIGHT_FD_READ : RIGHT_FD_WRITE) | RIGHT_FD_FILESTAT_GET | RIGHT_POLL_FD_READWRITE;
          mem.fill(0, statPtr, statPtr + FDSTAT_BYTES);
          const data = views.data();
          data.setUint8(statPtr, FILETYPE_CHARACTER_DEVICE);
          data.setBigUint64(statPtr + 8, rights, true);
          return WASI_ESUCCESS;
        });
      case "fd_filestat_get":
        return guard("fd_filestat_get", (fd: number, statPtr: number): number => {
          const mem = views.bytes();
          if (!isOpenStdio(fd)) return WASI_EBADF;
          statPtr >>>= 0;
          if (!fits(statPtr, FILESTAT_BYTES, mem)) return WASI_EFAULT;
          mem.fill(0, statPtr, statPtr + FILESTAT_BYTES);
          views.data().setUint8(statPtr + 16, FILETYPE_CHARACTER_DEVICE);
          return WASI_ESUCCESS;
        });
      case "fd_fdstat_set_flags":
        return guard("fd_fdstat_set_flags", (fd: number, flags: number): number => {
          if (!isOpenStdio(fd)) return WASI_EBADF;
          return flags === 0 ? WASI_ESUCCESS : WASI_ENOTSUP;
        });
      case "fd_prestat_get":
        return guard("fd_prestat_get", noPreopen);
      case "fd_prestat_dir_name":
        return guard("fd_prestat_dir_name", noPreopen);
      case "fd_seek":
        return guard("fd_seek", onStdio(WASI_ESPIPE));
      case "fd_tell":
        return guard("fd_tell", onStdio(WASI_ESPIPE));
      case "fd_pread":
        return guard("fd_pread", onStdio(WASI_ESPIPE));
      case "fd_pwrite":
        return guard("fd_pwrite", onStdio(WASI_ESPIPE));
      case "fd_advise":
        return guard("fd_advise", onStdio(WASI_ESPIPE));
      case "fd_allocate":
        return guard("fd_allocate", onStdio(WASI_ENOTSUP));
      case "fd_datasync":
        return guard("fd_datasync", onStdio(WASI_EINVAL));
      case "fd_sync":
        return guard("fd_sync", onStdio(WASI_EINVAL));
      case "fd_fdstat_set_rights":
        return guard("fd_fdstat_set_rights", onStdio(WASI_ENOTSUP));
      case "fd_filestat_set_size":
        return guard("fd_filestat_set_size", onStdio(WASI_EINVAL));
      case "fd_filestat_set_times":
        return guard("fd_filestat_set_times", onStdio(WASI_ENOTSUP));
      case "fd_readdir":
        return guard("fd_readdir", onStdio(WASI_ENOTDIR));
      case "fd_renumber":
        return guard("fd_renumber", (fd: number, to: number): number =>
          isOpenStdio(fd) && isOpenStdio(to) ? WASI_ENOTSUP : WASI_EBADF,
        );

      case "path_create_directory":
        return guard("path_create_directory", pathOn);
      case "path_filestat_get":
        return guard("path_filestat_get", pathOn);
      case "path_filestat_set_times":
        return guard("path_filestat_set_times", pathOn);
      case "path_link":
        return guard("path_link", pathOn);
      case "path_open":
        return guard("path_open", pathOn);
      case "path_readlink":
        return guard("path_readlink", pathOn);
      case "path_remove_directory":
        return guard("path_remove_directory", pathOn);
      case "path_rename":
        return guard("path_rename", pathOn);
      case "path_symlink":
        return guard("path_symlink", (_oldPath: number, _oldPathLen: number, fd: number): number =>
          pathOn(fd),
        );
      case "path_unlink_file":
        return guard("path_unlink_file", pathOn);

      case "sock_accept":
        return guard("sock_accept", socketOn);
      case "sock_recv":
        return guard("sock_recv", socketOn);
      case "sock_send":
        return guard("sock_send", socketOn);
      case "sock_shutdown":
        return guard("sock_shutdown", socketOn);

      // Replaced by the suspending version of wasi-poll.ts in guests (a sleep must not block the
      // event loop); this synchronous one only answers where nothing can suspend.
      case "poll_oneoff":
        return guard("poll_oneoff", (): number => WASI_ENOSYS);
      case "proc_raise":
        return guard("proc_raise", (): number => WASI_ENOSYS);
      case "sched_yield":
        return guard("sched_yield", (): number => WASI_ESUCCESS);
      case "proc_exit":
        return (code: number): never => {
          throw new GuestExitError(code >>> 0);
        };
      default:
        return undefined;
    }
  }

  // biome-ignore lint/complexity/noBannedTypes: as above
  const imports: Record<string, Function> = {};
  for (const name of imported ?? WASI_FUNCTION_SIGNATURES.keys()) {
    const fn = make(name);
    if (fn !== undefined) imports[name] = fn;
  }
  return imports;
}
