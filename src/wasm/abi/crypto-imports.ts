import { createRequire } from "node:module";
import { ERR_INTERNAL } from "./abi-codes.ts";
import type { AbiContext } from "./abi-context.ts";
import { RANDOM_BYTES_MAX } from "./abi-limits.ts";
import { outputPointer } from "./guest-input.ts";
import { bufferTooSmall, writeBytes } from "./guest-output.ts";

const DIGEST_BYTES = 32;

/**
 * `random_bytes` fills the guest's range from the environment's CSPRNG (at most 1 MiB a call);
 * `hash_sha256` / `hash_blake3` write a 32-byte digest of any in-memory input (-2 when
 * `out_cap < 32`).
 */
export function createCryptoImports(ctx: AbiContext): Record<string, (...args: never[]) => number> {
  const { env, views } = ctx;

  function hashWith(name: string, digest: (input: Uint8Array) => Uint8Array) {
    return ctx.guard(name, (inPtr: number, inLen: number, outPtr: number, outCap: number): number => {
      const memory = views.bytes();
      inPtr >>>= 0;
      inLen >>>= 0;
      if (inPtr + inLen > memory.length) return ERR_INTERNAL;
      const out = outputPointer(memory, outPtr, outCap);
      if (outCap >>> 0 < DIGEST_BYTES) return bufferTooSmall(views.data(), out, outCap >>> 0, DIGEST_BYTES);
      return writeBytes(
        memory,
        views.data(),
        out,
        outCap >>> 0,
        digest(memory.subarray(inPtr, inPtr + inLen)),
      );
    });
  }

  return {
    random_bytes: ctx.guard("random_bytes", (outPtr: number, outLen: number): number => {
      const memory = views.bytes();
      outPtr >>>= 0;
      outLen >>>= 0;
      if (outLen > RANDOM_BYTES_MAX || outPtr + outLen > memory.length) return ERR_INTERNAL;
      if (env.policy?.allowsSwitch("random_bytes", "random") === false) return ERR_INTERNAL;
      env.randomFill(memory.subarray(outPtr, outPtr + outLen));
      return outLen;
    }),
    hash_sha256: hashWith("hash_sha256", (input) => hashers().sha256(input)),
    hash_blake3: hashWith("hash_blake3", (input) => hashers().blake3(input)),
  };
}

interface Hashers {
  sha256(input: Uint8Array): Uint8Array;
  blake3(input: Uint8Array): Uint8Array;
}

let loadedHashers: Hashers | undefined;

/**
 * node:crypto and BLAKE3 cost ~14 ms to load, more than a tiny guest's whole run: they load on the
 * first hash call (synchronously, as host functions must be), not at start-up.
 */
function hashers(): Hashers {
  if (loadedHashers !== undefined) return loadedHashers;
  const require = createRequire(import.meta.url);
  const { createHash } = require("node:crypto") as typeof import("node:crypto");
  const { blake3 } = require("@noble/hashes/blake3.js") as typeof import("@noble/hashes/blake3.js");
  loadedHashers = { sha256: (input) => createHash("sha256").update(input).digest(), blake3 };
  return loadedHashers;
}
