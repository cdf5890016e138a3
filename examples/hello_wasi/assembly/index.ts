// A plain WASI preview 1 guest: no `nx` import at all, so any WASI runtime can run it too.
// It prints to stdout with fd_write and shows its arguments and the environment it can see
// (on Numax: only NX_* and NUMAX_* variables).

// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "fd_write")
declare function fd_write(fd: u32, iovs: usize, iovsLen: usize, nwritten: usize): u16;
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "args_sizes_get")
declare function args_sizes_get(argcPtr: usize, bufSizePtr: usize): u16;
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "args_get")
declare function args_get(argvPtr: usize, bufPtr: usize): u16;
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "environ_sizes_get")
declare function environ_sizes_get(countPtr: usize, bufSizePtr: usize): u16;
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "environ_get")
declare function environ_get(environPtr: usize, bufPtr: usize): u16;
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "proc_exit")
declare function proc_exit(code: u32): void;

const STDOUT: u32 = 1;
const STDERR: u32 = 2;

function write(fd: u32, text: string): void {
  const bytes = String.UTF8.encode(text);
  // One iovec {buf, buf_len}, then a u32 for the byte count written.
  const iov = memory.data(12);
  store<u32>(iov, changetype<usize>(bytes));
  store<u32>(iov, <u32>bytes.byteLength, 4);
  fd_write(fd, iov, 1, iov + 8);
}

// Reads a WASI list of NUL-terminated strings (args or environ) with its two calls.
function readList(isArgs: bool): string[] {
  const sizes = memory.data(8);
  if (isArgs) args_sizes_get(sizes, sizes + 4);
  else environ_sizes_get(sizes, sizes + 4);
  const count = load<u32>(sizes);
  const pointers = new ArrayBuffer(<i32>(count * 4));
  const buffer = new ArrayBuffer(<i32>load<u32>(sizes, 4));
  if (isArgs) args_get(changetype<usize>(pointers), changetype<usize>(buffer));
  else environ_get(changetype<usize>(pointers), changetype<usize>(buffer));
  const items = new Array<string>(0);
  for (let i: u32 = 0; i < count; i++) {
    const start = load<u32>(changetype<usize>(pointers) + i * 4);
    let end = start;
    while (load<u8>(end) != 0) end++;
    items.push(String.UTF8.decodeUnsafe(start, end - start));
  }
  return items;
}

// AssemblyScript's own aborts print to stderr and exit 134, like a C abort()
// (asconfig.json: --use abort=examples/hello_wasi/assembly/index/abortToStderr).
function abortToStderr(message: string | null, fileName: string | null, line: u32, column: u32): void {
  write(STDERR, `abort: ${message === null ? "" : message} at ${fileName === null ? "?" : fileName}:${line}:${column}\n`);
  proc_exit(134);
}

export function run(): void {
  write(STDOUT, "Hello from a plain WASI guest!\n");
  const args = readList(true);
  write(STDOUT, `args (${args.length}): ${args.join(" ")}\n`);
  const environ = readList(false);
  write(STDOUT, `environment variables visible: ${environ.length}\n`);
  for (let i = 0; i < environ.length; i++) write(STDOUT, `  ${environ[i]}\n`);
}
