/**
 * Reloading a module that numax.toml's `[[modules]]` names by an id other than its file name
 * (docs/hot-reload.md, docs/design/policies.md#namespaces): the new code gets the policy and the
 * key namespace of that id, never the file name's policy, and never none.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { readStore } from "../../src/diagnose/stored-replica.ts";
import { managedNodeTracker } from "../helpers/management-node.ts";
import { tempDir } from "../helpers/nx-process.ts";
import { versionedGuest } from "./versioned-guest.ts";

const nodes = managedNodeTracker();
const dir = tempDir("nx-reload-listed-");
after(async () => {
  await nodes.stopAll();
  dir.remove();
});

describe("reloading a [[modules]] module listed under its own id", () => {
  test("the new code runs under the id's policy, in the id's namespace", async () => {
    const code = join(dir.path, "code");
    mkdirSync(code);
    writeFileSync(join(code, "app.wasm"), await versionedGuest({ version: "v1" }));
    // A policy beside the file names module "app" (the file name), not the listed id: it must
    // not apply to "tenant", and "tenant" must not lose its own policy to it.
    writeFileSync(join(code, "app.policy.toml"), '[capabilities]\ndb.write = ["/*"]\n');
    writeFileSync(
      join(code, "numax.toml"),
      [
        "[[modules]]",
        'path = "app.wasm"',
        'id = "tenant"',
        'policy = { capabilities = { db = { write = ["*"] } } }',
        "",
      ].join("\n"),
    );
    const datastore = join(dir.path, "data");
    const node = await nodes.node({
      datastore,
      modules: [],
      sync: false,
      args: ["--config", join(code, "numax.toml")],
    });
    const v2 = await versionedGuest({ version: "v2" });
    const reloaded = await node.api("POST", "/modules/tenant/reload", {
      body: v2,
      contentType: "application/wasm",
    });
    assert.equal(reloaded.status, 200, JSON.stringify(reloaded.body));
    await nodes.stopAll();

    const keys = await readStore(datastore, (db) =>
      [...db.getKeys()].map((key) => Buffer.from(key as Uint8Array).toString("utf8")),
    );
    const written = keys.filter((key) => !key.startsWith("__nx/"));
    // init-v1 and init-v2 (and shutdown of both) in tenant's namespace; nothing outside it.
    assert.ok(written.includes("tenant/init-v1"), written.join(", "));
    assert.ok(written.includes("tenant/init-v2"), written.join(", "));
    assert.deepEqual(
      written.filter((key) => !key.startsWith("tenant/")),
      [],
    );
  });
});
