/**
 * Capability profiles per spawn: what a process may reach (store, replicated state) follows its
 * profile, `host_capabilities` says exactly that, and a guest can never spawn a process holding
 * more than it does. The store is a real LMDB store on disk.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import type { Pid } from "../../src/kernel/index.ts";
import { createGuestStore, type GuestStore } from "../../src/store/guest-store.ts";
import { type LmdbBackend, openLmdbBackend } from "../../src/store/lmdb-backend.ts";
import type { GuestModule } from "../../src/wasm/load-guest-module.ts";
import {
  exceedsGrants,
  GRANT_CRDT,
  GRANT_DB,
  GRANT_LINK,
  GRANT_SERVE,
  grantNames,
  parseProfile,
  WasmProcessError,
} from "../../src/wasm/process/index.ts";
import { RecordingCrdtHost } from "../abi/recording-crdt-host.ts";
import { ask, loadTestGuest, type TestHost, tell, testHost } from "./harness.ts";

const ALWAYS = "log,time,random,crypto,env,event";

let dir: string;
let backend: LmdbBackend;
let store: GuestStore;
let actor: GuestModule;
let t: TestHost;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "nx-capabilities-"));
  backend = await openLmdbBackend({ path: dir });
  store = createGuestStore(backend);
  actor = await loadTestGuest("proc_actor");
  t = testHost([actor], { crdt: new RecordingCrdtHost() }, store);
});
after(async () => {
  await t.kernel.shutdown({ timeoutMs: 1_000 });
  await backend.close();
  rmSync(dir, { recursive: true, force: true });
});

const KEY = new TextEncoder().encode("proc-actor");

function spawnWith(profile: string): Pid {
  return t.kernel.spawn(t.host.spawnable(actor, { profile }));
}

describe("profiles", () => {
  test("sandboxed (the default): no store, no sync; db_* answer -3 and nothing is written", async () => {
    const pid = t.kernel.spawn(t.host.spawnable(actor));
    assert.equal(await ask(t.kernel, pid, "caps"), ALWAYS);
    assert.equal(await ask(t.kernel, pid, "db"), "db:-3");
    assert.equal(store.get(KEY), undefined);
    tell(t.kernel, pid, "stop");
  });

  test("storage: the store, no sync", async () => {
    const pid = spawnWith("storage");
    assert.equal(await ask(t.kernel, pid, "caps"), `db,${ALWAYS}`);
    assert.equal(await ask(t.kernel, pid, "db"), "db:ok");
    assert.equal(new TextDecoder().decode(store.get(KEY)), "written");
    store.delete(KEY);
    tell(t.kernel, pid, "stop");
  });

  test("trusted: store, sync (crdt_* and net_*) and links to any process", async () => {
    const pid = spawnWith("trusted");
    assert.equal(await ask(t.kernel, pid, "caps"), `db,crdt,net,${ALWAYS},link`);
    tell(t.kernel, pid, "stop");
  });

  test("per-spawn overrides add or remove capabilities", async () => {
    const cases: [string, string][] = [
      ["trusted-crdt", `db,${ALWAYS},link`],
      ["trusted-db-link", `crdt,net,${ALWAYS}`],
      ["sandboxed+crdt", `crdt,net,${ALWAYS}`],
      ["sandboxed+link", `${ALWAYS},link`],
      ["storage-db+db", `db,${ALWAYS}`],
    ];
    for (const [profile, caps] of cases) {
      const pid = spawnWith(profile);
      assert.equal(await ask(t.kernel, pid, "caps"), caps, profile);
      tell(t.kernel, pid, "stop");
    }
  });

  test("the same module under two profiles keeps separate instances (no capability leaks via the pool)", async () => {
    for (let round = 0; round < 3; round++) {
      for (const [profile, expected] of [
        ["storage", "db:ok"],
        ["sandboxed", "db:-3"],
      ]) {
        const pid = spawnWith(profile!);
        assert.equal(await ask(t.kernel, pid, "db"), expected, `${profile} round ${round}`);
        const exited = t.kernel.whenExited(pid);
        tell(t.kernel, pid, "stop");
        await exited;
      }
    }
    store.delete(KEY);
  });
});

describe("a guest that spawns can never grant more than it has", () => {
  async function childCaps(parent: Pid, profile: string): Promise<string> {
    const reply = await ask(t.kernel, parent, `spawn:${profile}`);
    if (reply.startsWith("code:")) return reply;
    const caps = await ask(t.kernel, Number(reply) as Pid, "caps");
    tell(t.kernel, Number(reply) as Pid, "stop");
    return caps;
  }

  test("a sandboxed guest: only sandboxed children", async () => {
    const parent = spawnWith("sandboxed");
    assert.equal(await childCaps(parent, ""), ALWAYS);
    assert.equal(await childCaps(parent, "sandboxed"), ALWAYS);
    for (const profile of ["storage", "trusted", "sandboxed+db", "sandboxed+crdt", "sandboxed+link"]) {
      assert.equal(await childCaps(parent, profile), "code:-3", profile);
    }
    assert.equal(await childCaps(parent, "no_such_profile"), "code:-3");
    tell(t.kernel, parent, "stop");
  });

  test("a storage guest: storage or less, never sync", async () => {
    const parent = spawnWith("storage");
    assert.equal(await childCaps(parent, "storage"), `db,${ALWAYS}`);
    assert.equal(await childCaps(parent, "storage-db"), ALWAYS);
    assert.equal(await childCaps(parent, "trusted"), "code:-3");
    assert.equal(await childCaps(parent, "sandboxed+crdt"), "code:-3");
    tell(t.kernel, parent, "stop");
  });

  test("a trusted guest may hand on everything it holds", async () => {
    const parent = spawnWith("trusted");
    assert.equal(await childCaps(parent, "trusted"), `db,crdt,net,${ALWAYS},link`);
    tell(t.kernel, parent, "stop");
  });

  test("a child spawned by a trusted parent but restricted cannot escalate back", async () => {
    const parent = spawnWith("trusted");
    const child = Number(await ask(t.kernel, parent, "spawn:sandboxed")) as Pid;
    assert.equal(await ask(t.kernel, child, "spawn:storage"), "code:-3");
    tell(t.kernel, child, "stop");
    tell(t.kernel, parent, "stop");
  });
});

describe("links: without the link grant, only to children a process spawned itself", () => {
  test("a sandboxed guest cannot link to a process it did not spawn, so its crash cannot take that one down", async () => {
    const victim = t.kernel.spawn(async (ctx) => {
      await ctx.receive((m) => m === "never");
    });
    const guest = spawnWith("sandboxed");
    assert.equal(await ask(t.kernel, guest, `link:${victim}`), "no:-3");
    const gone = t.kernel.whenExited(guest);
    tell(t.kernel, guest, "crash");
    assert.notEqual(await gone, "normal");
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(t.kernel.isAlive(victim), true, "the process it tried to link to still runs");
    t.kernel.exit(victim, "kill");
  });

  test("it may link to its own children; with +link (or trusted) to any process", async () => {
    const parent = spawnWith("sandboxed");
    const child = Number(await ask(t.kernel, parent, "spawn:sandboxed")) as Pid;
    assert.equal(await ask(t.kernel, parent, `link:${child}`), "ok");
    assert.equal(
      await ask(t.kernel, child, `link:${parent}`),
      "no:-3",
      "a child may not link back to its parent",
    );
    const stranger = t.kernel.spawn(async (ctx) => {
      await ctx.receive((m) => m === "stop");
    });
    for (const profile of ["sandboxed+link", "trusted"]) {
      const linker = spawnWith(profile);
      assert.equal(await ask(t.kernel, linker, `link:${stranger}`), "ok", profile);
      assert.equal(await ask(t.kernel, linker, `unlink:${stranger}`), "ok", profile);
      tell(t.kernel, linker, "stop");
    }
    t.kernel.send(stranger, "stop");
    tell(t.kernel, child, "stop");
    tell(t.kernel, parent, "stop");
  });

  test("a refusal does not reveal whether the pid exists", async () => {
    const gone = t.kernel.spawn(() => {});
    await t.kernel.whenExited(gone);
    const alive = t.kernel.spawn(async (ctx) => {
      await ctx.receive((m) => m === "stop");
    });
    const guest = spawnWith("sandboxed");
    assert.equal(await ask(t.kernel, guest, `link:${gone}`), "no:-3");
    assert.equal(await ask(t.kernel, guest, `link:${alive}`), "no:-3", "the same answer for a live pid");
    t.kernel.send(alive, "stop");
    tell(t.kernel, guest, "stop");
  });
});

describe("profile text (pure)", () => {
  const CAPS = { db: GRANT_DB, crdt: GRANT_CRDT, link: GRANT_LINK, "network.serve": GRANT_SERVE } as const;
  const BASES = {
    sandboxed: 0,
    storage: GRANT_DB,
    trusted: GRANT_DB | GRANT_CRDT | GRANT_LINK | GRANT_SERVE,
  } as const;

  test("a profile name and +/- overrides, applied left to right (property against a model)", () => {
    const override = fc.tuple(
      fc.constantFrom("+", "-"),
      fc.constantFrom("db", "crdt", "link", "network.serve"),
    );
    fc.assert(
      fc.property(
        fc.constantFrom("sandboxed", "storage", "trusted"),
        fc.array(override, { maxLength: 6 }),
        (base, overrides) => {
          const text = base + overrides.map(([sign, cap]) => sign + cap).join("");
          let model: number = BASES[base as keyof typeof BASES];
          for (const [sign, cap] of overrides) {
            model =
              sign === "+" ? model | CAPS[cap as keyof typeof CAPS] : model & ~CAPS[cap as keyof typeof CAPS];
          }
          assert.equal(parseProfile(text), model, text);
        },
      ),
      { seed: 20_260_707, numRuns: 200 },
    );
  });

  test("escalation is any capability requested and not held", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 15 }), (requested, held) => {
        const names = grantNames(requested);
        const expected = names.some((name) => !grantNames(held).includes(name));
        assert.equal(exceedsGrants(requested, held), expected);
      }),
      { seed: 20_260_708, numRuns: 100 },
    );
  });

  test("bad profile text is one clear error", () => {
    for (const [text, pattern] of [
      ["admin", /unknown capability profile "admin"/],
      [
        "storage+net",
        /unknown capability "net" in profile "storage\+net" \(known: db, crdt, link, network\.serve\)/,
      ],
      ["storage+", /unknown capability ""/],
      ["+db", /unknown capability profile "\+db"/],
      ["x".repeat(300), /longer than 256/],
    ] as const) {
      assert.throws(
        () => parseProfile(text),
        (error: unknown) =>
          error instanceof WasmProcessError &&
          error.code === "WASM_PROCESS_INVALID_PROFILE" &&
          pattern.test(error.message),
        text,
      );
    }
    assert.equal(parseProfile(""), 0, "empty text is sandboxed");
  });
});
