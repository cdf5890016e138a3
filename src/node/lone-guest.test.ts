import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadFixtureModule } from "../../test/fixtures/wasm/guest-runtime.ts";
import { guestPath } from "../../test/helpers/nx-process.ts";
import { silentLogger } from "../observe/logger.ts";
import { loadGuestModuleFile } from "../wasm/load-guest-module.ts";
import { ModuleCache } from "../wasm/module-cache.ts";
import { canRunAlone } from "./lone-guest.ts";

describe("canRunAlone", () => {
  test("one module without proc_* imports runs alone; a process user or several modules do not", async () => {
    const plain = await loadFixtureModule("hello");
    const actor = await loadGuestModuleFile(guestPath("proc_noop"), {
      memoryMaxBytes: 16 * 1024 * 1024,
      cache: new ModuleCache({ directory: undefined, logger: silentLogger }),
      logger: silentLogger,
    });
    assert.ok(
      actor.imports.some((i) => i.name.startsWith("proc_")),
      "the fixture really uses processes",
    );
    assert.equal(canRunAlone([plain]), true);
    assert.equal(canRunAlone([actor]), false);
    assert.equal(canRunAlone([plain, plain]), false);
  });
});
