import { NumaxError } from "../../src/errors/numax-error.ts";
import type { Logger } from "../../src/observe/logger.ts";
import { createGuestStore } from "../../src/store/guest-store.ts";
import { createMemoryBackend } from "../../src/store/memory-backend.ts";
import type { GuestEnvironment } from "../../src/wasm/abi/guest-environment.ts";
import { buildStandardImports, STANDARD_IMPORT_SIGNATURES } from "../../src/wasm/guest-imports.ts";
import type { FunctionType } from "../../src/wasm/module-imports.ts";
import type { FuzzTarget } from "../fuzz-target.ts";

/** Every host function a guest can import, with the first signature the ABI accepts for it. */
const HOST_FUNCTIONS: readonly { module: string; name: string; type: FunctionType }[] = [
  ...STANDARD_IMPORT_SIGNATURES,
].flatMap(([module, names]) => [...names].map(([name, types]) => ({ module, name, type: types[0]! })));

/** Pointers and lengths near the edges of a one-page memory, picked by the input's low bits. */
const EDGE_VALUES = [0, 1, 65_535, 65_536, 65_537, 65_532, -1, 0x7fff_ffff, -0x8000_0000, 1 << 20];
const PAGE_BYTES = 65_536;
const CALLS_MAX = 8;

/**
 * A host warning "host function X failed" is an unexpected error the host swallowed: a finding.
 * One is documented: `host_log_v2` without a result reports a range outside memory that way.
 */
class HostFailure extends Error {}
const DOCUMENTED_WARNING =
  /^host function host_log_v2 failed: RangeError: message range \d+\+\d+ is outside guest memory$/;

const findingLogger: Logger = {
  trace() {},
  debug() {},
  info() {},
  // The guest's own log lines come through here too, at any level: only the host's line about
  // a failed host function is a finding.
  warn(message) {
    if (/^host function \S+ failed: /.test(message) && !DOCUMENTED_WARNING.test(message)) {
      throw new HostFailure(message);
    }
  },
  error() {},
  isLevelEnabled: () => true,
  child: () => findingLogger,
};

/** Reads the input as a stream of call descriptions; past its end every read is 0. */
class InputReader {
  readonly bytes: Uint8Array;
  #offset = 0;
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }
  u8(): number {
    return this.bytes[this.#offset++] ?? 0;
  }
  i32(): number {
    const selector = this.u8();
    if (selector < 0x40) return EDGE_VALUES[selector % EDGE_VALUES.length]!;
    if (selector < 0x80) return this.u8() | (this.u8() << 8);
    return this.u8() | (this.u8() << 8) | (this.u8() << 16) | (this.u8() << 24) | 0;
  }
  i64(): bigint {
    return BigInt.asIntN(64, (BigInt(this.i32() >>> 0) << 32n) | BigInt(this.i32() >>> 0));
  }
  get rest(): Uint8Array {
    return this.bytes.subarray(this.#offset);
  }
}

/**
 * The guest ABI: random pointers, lengths and values given to every host function (nx, WASI,
 * env.abort) over a one-page memory holding the input. A host function may answer an error code
 * or throw its documented guest errors (abort, exit: NumaxErrors); any other throw, or a host
 * warning that it failed unexpectedly, is a finding.
 */
export const abiTarget: FuzzTarget = {
  name: "abi",
  description:
    "guest ABI: random pointer and length arguments to every host call; only error codes or the ABI's own traps",
  inputBytesMax: 2048,
  dictionary: [],
  run(input) {
    const reader = new InputReader(input);
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 2 });
    const env: GuestEnvironment = {
      moduleId: "fuzz",
      store: createGuestStore(createMemoryBackend()),
      logger: findingLogger,
      env: { NX_FUZZ: "1" },
      args: ["fuzz.wasm"],
      clock: { nowMs: () => 1_765_000_000_000, monotonicMs: () => 1_000 },
      randomFill: (target) => target.fill(7),
      emitEvent: () => {},
      stdout: () => {},
      stderr: () => {},
      capabilities: [],
    };
    // Every host function imported: the import object then holds them all.
    const everyImport = HOST_FUNCTIONS.map((fn, typeIndex) => ({
      kind: "function" as const,
      typeIndex,
      ...fn,
    }));
    const imports = buildStandardImports(env, { memory }, everyImport) as Record<
      string,
      Record<string, (...args: unknown[]) => unknown>
    >;
    const calls = 1 + (reader.u8() % CALLS_MAX);
    const plan = Array.from({ length: calls }, () => {
      const fn = HOST_FUNCTIONS[(reader.u8() | (reader.u8() << 8)) % HOST_FUNCTIONS.length]!;
      return { fn, args: fn.type.params.map((type) => (type === "i64" ? reader.i64() : reader.i32())) };
    });
    new Uint8Array(memory.buffer).set(reader.rest.subarray(0, PAGE_BYTES));
    for (const { fn, args } of plan) {
      try {
        imports[fn.module]![fn.name]!(...args);
      } catch (error) {
        if (error instanceof NumaxError) continue;
        throw new Error(`${fn.module}.${fn.name}(${args.join(", ")}): ${String(error)}`, { cause: error });
      }
    }
  },
};
