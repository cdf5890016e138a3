/**
 * Receiving through the ABI: selective receive keeps skipped messages in order; a message too
 * large for the guest's buffer answers -2 with the size it needs and stays where it is (also when
 * it arrives while the guest waits); timeouts and polls; what JS values look like to a guest.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { isExitMessage, type Pid, type ProcessContext, TIMEOUT } from "../../src/kernel/index.ts";
import { silentLogger } from "../../src/observe/logger.ts";
import { type GuestModule, loadGuestModuleBytes } from "../../src/wasm/load-guest-module.ts";
import { ModuleCache } from "../../src/wasm/module-cache.ts";
import {
  type GuestMessage,
  guestMessage,
  guestMessageBytes,
  guestMessageText,
  isGuestMessage,
} from "../../src/wasm/process/index.ts";
import { compileWat } from "../abi/harness.ts";
import { ask, loadTestGuest, MIB, type TestHost, tell, testHost } from "./harness.ts";

let actor: GuestModule;
let t: TestHost;

before(async () => {
  actor = await loadTestGuest("proc_actor");
  t = testHost([actor]);
});
after(() => t.kernel.shutdown({ timeoutMs: 1_000 }));

/** Runs `body` in a JS process and resolves with what it returns. */
function inProcess<T>(body: (ctx: ProcessContext) => Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    t.kernel.spawn(async (ctx) => {
      try {
        resolve(await body(ctx));
      } catch (error) {
        reject(error);
      }
    });
  });
}

describe("selective receive through the SDK", () => {
  test("takes the first match; skipped messages keep their order", async () => {
    const pid = t.kernel.spawn(t.host.spawnable(actor));
    const reply = inProcess(async (ctx) => {
      ctx.send(pid, guestMessage(ctx.self, "gate:b:,b:,a:,c:"));
      for (const text of ["a:1", "b:1", "a:2", "b:2", "a:3", "go"])
        ctx.send(pid, guestMessage(ctx.self, text));
      const answer = await ctx.receive(isGuestMessage, 5_000);
      return answer === TIMEOUT ? "timeout" : guestMessageText(answer);
    });
    assert.equal(await reply, "b:1|b:2|a:1|-|/|a:2|a:3");
    tell(t.kernel, pid, "stop");
  });

  test("selects by sender", async () => {
    const pid = t.kernel.spawn(t.host.spawnable(actor));
    const other = t.kernel.spawn(async (ctx) => {
      await ctx.receive((m) => m === "send");
      ctx.send(pid, guestMessage(ctx.self, "from other"));
    });
    const reply = inProcess(async (ctx) => {
      ctx.send(pid, guestMessage(ctx.self, `gate:@${other},@${other}`));
      ctx.send(pid, guestMessage(ctx.self, "mine 1"));
      ctx.send(other, "send");
      await ctx.receive(undefined, 20);
      ctx.send(pid, guestMessage(ctx.self, "mine 2"));
      ctx.send(pid, guestMessage(ctx.self, "go"));
      const answer = await ctx.receive(isGuestMessage, 5_000);
      return answer === TIMEOUT ? "timeout" : guestMessageText(answer);
    });
    assert.equal(await reply, "from other|-|/|mine 1|mine 2");
    tell(t.kernel, pid, "stop");
  });
});

describe("what a guest receives from JavaScript", () => {
  test("strings as UTF-8, bytes as they are, other values as JSON, all from pid 0", async () => {
    const pid = t.kernel.spawn(t.host.spawnable(actor));
    const reply = inProcess(async (ctx) => {
      ctx.send(pid, guestMessage(ctx.self, "gate:zz"));
      t.kernel.send(pid, "héllo");
      t.kernel.send(pid, new Uint8Array([0x62, 0x79, 0x74, 0x65, 0x73]));
      t.kernel.send(pid, { n: 1, big: 2n, list: ["x"] });
      ctx.send(pid, guestMessage(ctx.self, "go"));
      const answer = await ctx.receive(isGuestMessage, 5_000);
      return answer === TIMEOUT ? "timeout" : guestMessageText(answer);
    });
    assert.equal(await reply, `-|/|héllo|bytes|{"n":1,"big":"2","list":["x"]}`);
    tell(t.kernel, pid, "stop");
  });

  test("what a guest sends arrives as a GuestMessage with its bytes and sender", async () => {
    const pid = t.kernel.spawn(t.host.spawnable(actor));
    const reply = await inProcess(async (ctx) => {
      ctx.send(pid, guestMessage(ctx.self, "ping"));
      return ctx.receive(isGuestMessage, 5_000);
    });
    assert.ok(reply !== TIMEOUT);
    const message = reply as GuestMessage;
    assert.equal(message.type, "nx.message");
    assert.equal(message.from, pid);
    assert.deepEqual([...guestMessageBytes(message)], [...new TextEncoder().encode("pong")]);
    tell(t.kernel, pid, "stop");
  });
});

/**
 * Drives proc_receive / proc_receive_match directly and reports every answer as i32s.
 * Memory: results at 1024, receive buffers at 0, 2048 and 3000, the prefix "B" at 4000.
 */
const BUFFER_GUEST = `(module
  (import "nx" "proc_receive" (func $recv (param i32 i32 i32) (result i32)))
  (import "nx" "proc_receive_match" (func $match (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "nx" "proc_send" (func $send (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 4000) "B")
  (func (export "run") (local $from i32)
    ;; a big message is first: a 16-byte buffer answers -2 and the size it needs
    (i32.store (i32.const 1024) (call $recv (i32.const 0) (i32.const 16) (i32.const -1)))
    (i32.store (i32.const 1028) (i32.load (i32.const 0)))
    ;; again: still -2, and the small message behind it was not taken instead
    (i32.store (i32.const 1032) (call $recv (i32.const 0) (i32.const 16) (i32.const 0)))
    ;; with the size it asked for: the big one
    (i32.store (i32.const 1036) (call $recv (i32.const 2048) (i32.load (i32.const 1028)) (i32.const 0)))
    (local.set $from (i32.load (i32.const 2052)))
    (i32.store (i32.const 1040) (i32.load (i32.const 2056)))
    ;; then the small one
    (i32.store (i32.const 1044) (call $recv (i32.const 2048) (i32.const 1000) (i32.const 0)))
    (i32.store (i32.const 1048) (i32.load8_u (i32.const 2060)))
    ;; nothing left: a poll answers -1
    (i32.store (i32.const 1052) (call $recv (i32.const 2048) (i32.const 1000) (i32.const 0)))
    ;; an output range outside memory: -3
    (i32.store (i32.const 1056) (call $recv (i32.const 65530) (i32.const 100) (i32.const 0)))
    ;; signal "waiting now", then wait for a message starting with B, with a 16-byte buffer
    (i32.store (i32.const 1060) (call $send (local.get $from) (i32.const 1024) (i32.const 0)))
    (i32.store (i32.const 1064)
      (call $match (i32.const 0) (i32.const 0) (i32.const 4000) (i32.const 1) (i32.const 0) (i32.const 16) (i32.const 5000)))
    (i32.store (i32.const 1068) (i32.load (i32.const 0)))
    ;; the B message stayed in place: selectively first, then the one sent before it
    (i32.store (i32.const 1072)
      (call $match (i32.const 0) (i32.const 0) (i32.const 4000) (i32.const 1) (i32.const 2048) (i32.const 1000) (i32.const 0)))
    (i32.store (i32.const 1076) (call $recv (i32.const 3000) (i32.const 1000) (i32.const 0)))
    (i32.store (i32.const 1080) (i32.load8_u (i32.const 3012)))
    ;; a timed wait with nothing coming: -1 after about 30 ms
    (i32.store (i32.const 1084) (call $recv (i32.const 2048) (i32.const 1000) (i32.const 30)))
    (drop (call $send (local.get $from) (i32.const 1024) (i32.const 64)))))`;

describe("buffers too small, polls and timeouts (raw ABI)", () => {
  test("-2 leaves the message first in line, whether it was queued or arrives during the wait", async () => {
    const module = await loadGuestModuleBytes(await compileWat(BUFFER_GUEST), "buffer_guest.wasm", {
      memoryMaxBytes: 1 * MIB,
      cache: new ModuleCache({ directory: undefined, logger: silentLogger }),
      logger: silentLogger,
    });
    const local = testHost([module]);
    const results = await new Promise<number[]>((resolve, reject) => {
      local.kernel.spawn(async (ctx) => {
        try {
          const guest = local.kernel.spawn(local.host.spawnable(module));
          ctx.send(guest, guestMessage(ctx.self, "X".repeat(100)));
          ctx.send(guest, guestMessage(ctx.self, "s"));
          const parked = await ctx.receive(isGuestMessage, 5_000);
          assert.ok(parked !== TIMEOUT && parked.data === "");
          ctx.send(guest, guestMessage(ctx.self, "a1"));
          ctx.send(guest, guestMessage(ctx.self, `B${"y".repeat(99)}`));
          const report = await ctx.receive(isGuestMessage, 5_000);
          assert.ok(report !== TIMEOUT);
          const bytes = guestMessageBytes(report);
          const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
          resolve(Array.from({ length: bytes.length / 4 }, (_, i) => view.getInt32(i * 4, true)));
        } catch (error) {
          reject(error);
        }
      });
    });
    assert.deepEqual(results, [
      -2, // too small
      112, // needs 12 header bytes + 100
      -2, // still first
      112, // taken with a large enough buffer
      100, // its payload length
      13, // then the small one
      0x73, // "s"
      -1, // empty: poll
      -3, // bad output range
      0, // send ok
      -2, // arrived while waiting, did not fit
      112, // size needed
      112, // taken selectively
      14, // "a1", which was queued before it
      0x61, // "a"
      -1, // timed out
    ]);
    await local.kernel.shutdown({ timeoutMs: 1_000 });
  });

  test("a wasm process trapping exits receives a kill of its link as an EXIT (kind 2) message", async () => {
    const pid = t.kernel.spawn(t.host.spawnable(actor));
    assert.equal(await ask(t.kernel, pid, "trap"), "trapping");
    const linked = t.kernel.spawn(async (ctx) => {
      ctx.link(pid);
      await ctx.receive(isExitMessage);
    });
    await new Promise((r) => setTimeout(r, 5));
    const waiting = ask(t.kernel, pid, "wait-exit");
    t.kernel.exit(linked as Pid, "kill");
    assert.equal(await waiting, `2:${linked}:killed`);
    tell(t.kernel, pid, "stop");
  });
});
