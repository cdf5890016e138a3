// Randomness from the host's CSPRNG and SHA-256 / BLAKE3 digests computed by the host.
//
//   const digest = crypto.sha256("hello");        // 32 bytes
//   log.info(toHex(digest));

import { hash_blake3, hash_sha256, random_bytes } from "./abi";
import { keyArg } from "./arg-span";
import { succeeded } from "./error";
import { RANDOM_BYTES_MAX } from "./limits";

/** Length of a SHA-256 or BLAKE3 digest, in bytes. */
export const DIGEST_BYTES: i32 = 32;

/** Fills `into` with cryptographically secure random bytes (in 1 MiB requests: the host's limit). */
export function fillRandom(into: Uint8Array): bool {
  let offset: usize = 0;
  const total = <usize>into.byteLength;
  while (offset < total) {
    const chunk = min(total - offset, <usize>RANDOM_BYTES_MAX);
    if (!succeeded(random_bytes(into.dataStart + offset, chunk), "crypto.fillRandom", into)) return false;
    offset += chunk;
  }
  return true;
}

/** `length` cryptographically secure random bytes. */
export function randomBytes(length: i32): Uint8Array {
  const bytes = new Uint8Array(length);
  fillRandom(bytes);
  return bytes;
}

/** A uniformly random u64 from the CSPRNG. */
export function randomU64(): u64 {
  const slot = memory.data(8);
  succeeded(random_bytes(slot, 8), "crypto.randomU64", 0);
  return load<u64>(slot);
}

/** SHA-256 of `data` (string as UTF-8, Uint8Array or ArrayBuffer). */
export function sha256<T>(data: T): Uint8Array {
  keyArg.of(data);
  const digest = new Uint8Array(DIGEST_BYTES);
  const result = hash_sha256(keyArg.ptr, keyArg.len, digest.dataStart, <usize>DIGEST_BYTES);
  succeeded(result, "crypto.sha256", data);
  return digest;
}

/** BLAKE3 (32-byte output) of `data`. */
export function blake3<T>(data: T): Uint8Array {
  keyArg.of(data);
  const digest = new Uint8Array(DIGEST_BYTES);
  const result = hash_blake3(keyArg.ptr, keyArg.len, digest.dataStart, <usize>DIGEST_BYTES);
  succeeded(result, "crypto.blake3", data);
  return digest;
}
