import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import { blake3 } from "@noble/hashes/blake3.js";
import { LOG_MESSAGE_BYTES_MAX, RANDOM_BYTES_MAX } from "../../src/wasm/abi/abi-limits.ts";
import { GuestAbortError } from "../../src/wasm/abi/guest-errors.ts";
import {
  allTrampolineFunctions,
  compileWat,
  type EnvironmentOptions,
  instantiate,
  recordingEnvironment,
  text,
  trampolineGuest,
  trampolineWat,
  utf8,
} from "./harness.ts";
import { memoryGuestStore } from "./memory-guest-store.ts";
import { RecordingCrdtHost } from "./recording-crdt-host.ts";

const IN = 1024;
const OUT = 65536;

async function setup(options: EnvironmentOptions = {}) {
  const { env, recorded } = recordingEnvironment(options);
  return { guest: await trampolineGuest(env), recorded, env };
}

describe("time", () => {
  test("time_now is whole Unix ms (u64); time_monotonic never decreases", async () => {
    let monotonic = 100.9;
    const { guest } = await setup({ nowMs: () => 1_700_000_000_123.75, monotonicMs: () => monotonic });
    assert.equal(guest.call("time_now"), 1_700_000_000_123n);
    assert.equal(guest.call("time_monotonic"), 100n);
    monotonic = 50; // an injected clock stepping back
    assert.equal(guest.call("time_monotonic"), 100n);
    monotonic = 250.2;
    assert.equal(guest.call("time_monotonic"), 250n);
  });

  test("a failing clock answers 0 and logs, never throws", async () => {
    const { guest, recorded } = await setup({
      nowMs: () => {
        throw new Error("no clock");
      },
    });
    assert.equal(guest.call("time_now"), 0n);
    assert.match(recorded.logs.at(-1)!.message, /time_now failed/);
  });
});

describe("random_bytes", () => {
  test("fills exactly the range and returns out_len; 1 MiB limit", async () => {
    const { guest } = await setup();
    guest.write(OUT - 1, new Uint8Array(34));
    assert.equal(guest.call("random_bytes", OUT, 32), 32);
    const filled = guest.read(OUT - 1, 34);
    assert.equal(filled[0], 0);
    assert.equal(filled[33], 0);
    assert.deepEqual(
      [...filled.subarray(1, 33)],
      Array.from({ length: 32 }, (_, i) => (i * 31 + 7) & 0xff),
    );
    assert.equal(guest.call("random_bytes", OUT, 0), 0);
    guest.grow(16);
    assert.equal(guest.call("random_bytes", 0, RANDOM_BYTES_MAX), RANDOM_BYTES_MAX);
    assert.equal(guest.call("random_bytes", 0, RANDOM_BYTES_MAX + 1), -3);
    assert.equal(guest.call("random_bytes", -1, 1), -3);
    assert.equal(guest.call("random_bytes", guest.memory().length - 3, 4), -3);
  });
});

describe("hashes", () => {
  test("hash_sha256 and hash_blake3 write 32 bytes; -2 below 32; -3 for bad ranges", async () => {
    const { guest } = await setup();
    const input = utf8("the quick brown fox");
    guest.write(IN, input);
    assert.equal(guest.call("hash_sha256", IN, input.length, OUT, 32), 32);
    assert.deepEqual(guest.read(OUT, 32), new Uint8Array(createHash("sha256").update(input).digest()));
    assert.equal(guest.call("hash_blake3", IN, input.length, OUT, 64), 32);
    assert.deepEqual(guest.read(OUT, 32), blake3(input));
    assert.equal(guest.call("hash_blake3", IN, 0, OUT, 32), 32);
    assert.deepEqual(guest.read(OUT, 32), blake3(new Uint8Array(0)));
    assert.equal(guest.call("hash_sha256", IN, input.length, OUT, 31), -2);
    assert.equal(guest.u32(OUT), 32);
    assert.equal(guest.call("hash_sha256", -1, 4, OUT, 32), -3);
    assert.equal(guest.call("hash_blake3", IN, 4, guest.memory().length - 31, 32), -3);
  });
});

describe("env_get, module_id, host_capabilities", () => {
  test("env_get sees only NX_* and NUMAX_* names", async () => {
    const { guest } = await setup({ env: { NX_MODE: "demo", NUMAX_REGION: "eu", HOME: "/root", NX: "x" } });
    const read = (name: string, cap = 64): number => {
      guest.write(IN, name);
      return guest.call("env_get", IN, utf8(name).length, OUT, cap) as number;
    };
    assert.equal(read("NX_MODE"), 4);
    assert.equal(text(guest.read(OUT, 4)), "demo");
    assert.equal(read("NUMAX_REGION"), 2);
    assert.equal(read("HOME"), -1);
    assert.equal(read("NX"), -1);
    assert.equal(read("NX_ABSENT"), -1);
    assert.equal(read("NX_MODE", 3), -2);
    guest.write(IN, new Uint8Array([0xff, 0xfe]));
    assert.equal(guest.call("env_get", IN, 2, OUT, 64), -1);
    assert.equal(guest.call("env_get", IN, 1025, OUT, 64), -3);
    assert.equal(guest.call("env_get", -1, 2, OUT, 64), -3);
  });

  test("module_id writes the id; -2 with the size when too small", async () => {
    const { guest } = await setup();
    assert.equal(guest.call("module_id", OUT, 64), "conformance-guest".length);
    assert.equal(text(guest.read(OUT, 17)), "conformance-guest");
    assert.equal(guest.call("module_id", OUT, 4), -2);
    assert.equal(guest.u32(OUT), 17);
    assert.equal(guest.call("module_id", -1, 64), -3);
  });

  test("host_capabilities follow the environment, joined by \\n", async () => {
    const read = async (options: EnvironmentOptions): Promise<string[]> => {
      const { guest } = await setup(options);
      const n = guest.call("host_capabilities", OUT, 256) as number;
      return text(guest.read(OUT, n)).split("\n");
    };
    assert.deepEqual(await read({}), ["log", "time", "random", "crypto", "env", "event"]);
    assert.deepEqual(
      await read({ store: memoryGuestStore().store, capabilities: ["wasi", "log", "bad name"] }),
      ["db", "log", "time", "random", "crypto", "env", "event", "wasi"],
    );
    assert.deepEqual((await read({ crdt: new RecordingCrdtHost(), capabilities: ["db"] })).slice(0, 3), [
      "crdt",
      "net",
      "log",
    ]);
  });
});

describe("event_emit", () => {
  test("valid names emit a copy of the payload; invalid names answer -3", async () => {
    const { guest, recorded } = await setup();
    const emit = (name: string | Uint8Array, payload: string): number => {
      const nameBytes = typeof name === "string" ? utf8(name) : name;
      guest.write(IN, nameBytes);
      guest.write(OUT, payload);
      return guest.call("event_emit", IN, nameBytes.length, OUT, utf8(payload).length) as number;
    };
    assert.equal(emit("order.created:v1_x-y", "{}"), 0);
    guest.write(OUT, "XX");
    assert.deepEqual(recorded.events, [{ name: "order.created:v1_x-y", payload: utf8("{}") }]);
    assert.equal(emit("", "p"), -3);
    assert.equal(emit("has space", "p"), -3);
    assert.equal(emit("slash/name", "p"), -3);
    assert.equal(emit("ünï", "p"), -3);
    assert.equal(emit(new Uint8Array([0x61, 0]), "p"), -3);
    assert.equal(emit("a".repeat(1024), ""), 0);
    assert.equal(emit("a".repeat(1025), ""), -3);
    assert.equal(guest.call("event_emit", IN, 1, -1, 4), -3);
    assert.equal(recorded.events.length, 2);
  });
});

describe("abort", () => {
  test("throws GuestAbortError with the guest's message through the guest", async () => {
    const { guest } = await setup();
    guest.write(IN, "invariant broken: x < 0");
    assert.throws(
      () => guest.call("abort", IN, 23),
      (error: unknown) =>
        error instanceof GuestAbortError &&
        error.guestMessage === "invariant broken: x < 0" &&
        error.code === "GUEST_ABORT" &&
        error.message === "guest aborted: invariant broken: x < 0",
    );
  });

  test("a bad message range still aborts, saying so", async () => {
    const { guest } = await setup();
    assert.throws(
      () => guest.call("abort", -1, 10),
      (e: unknown) => e instanceof GuestAbortError && /outside guest memory/.test(e.guestMessage),
    );
    guest.write(IN, new Uint8Array([0x68, 0x69, 0xff]));
    assert.throws(
      () => guest.call("abort", IN, 3),
      (e: unknown) => e instanceof GuestAbortError && e.guestMessage === "hi\ufffd",
    );
  });
});

describe("host_log_v2", () => {
  test("(level, ptr, len) -> (): levels 0..4, above 4 is error; long messages truncated", async () => {
    const { guest, recorded } = await setup();
    guest.write(IN, "hello from the guest");
    for (let level = 0; level <= 5; level++) assert.equal(guest.call("host_log_v2", level, IN, 5), undefined);
    assert.deepEqual(
      recorded.logs.map((l) => [l.level, l.message]),
      [
        ["trace", "hello"],
        ["debug", "hello"],
        ["info", "hello"],
        ["warn", "hello"],
        ["error", "hello"],
        ["error", "hello"],
      ],
    );
    guest.write(OUT, new Uint8Array(LOG_MESSAGE_BYTES_MAX + 1).fill(0x61));
    guest.call("host_log_v2", 2, OUT, LOG_MESSAGE_BYTES_MAX);
    assert.equal(recorded.logs.at(-1)!.message.length, LOG_MESSAGE_BYTES_MAX);
    guest.call("host_log_v2", 2, OUT, LOG_MESSAGE_BYTES_MAX + 1);
    assert.match(recorded.logs.at(-1)!.message, /^a{8192}\.\.\. \(truncated, 8193 bytes\)$/);
    guest.call("host_log_v2", 2, -1, 5);
    assert.equal(recorded.logs.at(-1)!.level, "warn");
    assert.match(recorded.logs.at(-1)!.message, /outside guest memory/);
  });

  test("disabled levels are skipped", async () => {
    const { guest, recorded } = await setup({ logLevels: ["warn", "error"] });
    guest.write(IN, "x");
    guest.call("host_log_v2", 2, IN, 1);
    guest.call("host_log_v2", 3, IN, 1);
    assert.deepEqual(
      recorded.logs.map((l) => l.level),
      ["warn"],
    );
  });

  test("(ptr, len) -> i32: info; 0, or -3 beyond 8 KiB or memory", async () => {
    const bytes = await compileWat(trampolineWat(allTrampolineFunctions(1), 2));
    const { env, recorded } = recordingEnvironment();
    const guest = instantiate(bytes, env);
    guest.write(IN, "héllo");
    assert.equal(guest.call("host_log_v2", IN, utf8("héllo").length), 0);
    assert.deepEqual(recorded.logs, [{ level: "info", message: "héllo" }]);
    guest.write(OUT, new Uint8Array(LOG_MESSAGE_BYTES_MAX + 1).fill(0x62));
    assert.equal(guest.call("host_log_v2", OUT, LOG_MESSAGE_BYTES_MAX), 0);
    assert.equal(guest.call("host_log_v2", OUT, LOG_MESSAGE_BYTES_MAX + 1), -3);
    assert.equal(guest.call("host_log_v2", -1, 2), -3);
    assert.equal(guest.call("host_log_v2", guest.memory().length - 1, 2), -3);
    assert.equal(recorded.logs.length, 2);
  });
});

describe("before the runtime sets the memory", () => {
  test("host functions answer -3 and log instead of throwing", async () => {
    const { guest, recorded } = await setup();
    guest.memoryRef.memory = undefined;
    assert.equal(guest.call("module_id", 0, 8), -3);
    assert.match(recorded.logs.at(-1)!.message, /memory is not set/);
  });
});
