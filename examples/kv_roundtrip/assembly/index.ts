// Writes a value and reads it back through the raw `nx` ABI, without the SDK: this is what any
// toolchain's guest does. It declares the host functions itself, passes (ptr, len) pairs into
// its own memory and handles ERR_BUFFER_TOO_SMALL (-2) by retrying with a larger buffer.

// @ts-ignore: decorator
@external("nx", "db_set")
declare function db_set(keyPtr: usize, keyLen: usize, valPtr: usize, valLen: usize): i32;
// @ts-ignore: decorator
@external("nx", "db_get")
declare function db_get(keyPtr: usize, keyLen: usize, outPtr: usize, outCap: usize): i32;
// @ts-ignore: decorator
@external("nx", "db_delete")
declare function db_delete(keyPtr: usize, keyLen: usize): i32;
// @ts-ignore: decorator
@external("nx", "host_log_v2")
declare function host_log_v2(level: u32, msgPtr: usize, msgLen: usize): void;
// @ts-ignore: decorator
@external("nx", "abort")
declare function nx_abort(msgPtr: usize, msgLen: usize): void;

const ERR_BUFFER_TOO_SMALL: i32 = -2;
const LEVEL_INFO: u32 = 2;

function info(message: string): void {
  const bytes = String.UTF8.encode(message);
  host_log_v2(LEVEL_INFO, changetype<usize>(bytes), bytes.byteLength);
}

function fail(message: string): void {
  const bytes = String.UTF8.encode(message);
  nx_abort(changetype<usize>(bytes), bytes.byteLength);
}

// The compiler routes AssemblyScript's own aborts (bounds checks, out of memory) here
// (asconfig.json: --use abort=examples/kv_roundtrip/assembly/index/abortToHost).
function abortToHost(message: string | null, fileName: string | null, line: u32, column: u32): void {
  fail(`${message === null ? "abort" : message} at ${fileName === null ? "?" : fileName}:${line}:${column}`);
}

export function run(): void {
  const key = String.UTF8.encode("kv_roundtrip/sample");
  // 300 bytes with every byte value 0..255 in it, to show values are bytes, not text.
  const value = new Uint8Array(300);
  for (let i = 0; i < value.length; i++) value[i] = <u8>((i * 7) & 0xff);

  const written = db_set(changetype<usize>(key), key.byteLength, value.dataStart, value.byteLength);
  if (written != 0) fail(`db_set answered ${written}`);
  info(`db_set ${value.byteLength} bytes -> ${written}`);

  // Start too small on purpose: the host answers -2 and we double the buffer until it fits.
  let capacity = 64;
  let out = new Uint8Array(capacity);
  let length = db_get(changetype<usize>(key), key.byteLength, out.dataStart, capacity);
  while (length == ERR_BUFFER_TOO_SMALL) {
    info(`db_get with a ${capacity}-byte buffer -> -2 (buffer too small), retrying`);
    capacity *= 2;
    out = new Uint8Array(capacity);
    length = db_get(changetype<usize>(key), key.byteLength, out.dataStart, capacity);
  }
  if (length < 0) fail(`db_get answered ${length}`);
  info(`db_get with a ${capacity}-byte buffer -> ${length}`);

  let same = length == value.byteLength;
  for (let i = 0; same && i < length; i++) same = out[i] == value[i];
  if (!same) fail("kv_roundtrip: the value read back differs from the value written");

  db_delete(changetype<usize>(key), key.byteLength);
  info(`roundtrip ok: ${length} bytes read back equal the bytes written`);
}
