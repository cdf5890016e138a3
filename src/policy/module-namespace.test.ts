import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { NodeEventBus } from "../events/node-event-bus.ts";
import type { NodeId } from "../identity/node-id.ts";
import { moduleNamespace } from "./module-namespace.ts";
import { parsePolicy } from "./module-policy.ts";

const utf8 = new TextEncoder();
const text = new TextDecoder();
const PEER = "0123456789abcdef0123456789abcdef" as NodeId;

const namespaceOf = (capabilities: Record<string, unknown>) =>
  moduleNamespace("app", parsePolicy({ capabilities }, "app.policy.toml"));

describe("moduleNamespace", () => {
  test("keys are relative to <id>/ unless a shared glob of their kind matches them", () => {
    const namespace = namespaceOf({
      db: { read: ["*", "/config/*"] },
      crdt: { gcounter: ["*"], orset: ["/tags"] },
      messages: { publish: ["/literal"] },
    });
    assert.equal(namespace.prefix, "app/");
    const crdtKey = (key: string) => text.decode(namespace.crdtKey(utf8.encode(key)));
    const storeKey = (key: string) => {
      const bytes = utf8.encode(key);
      return namespace.storeKey(bytes, 0, bytes.length)!;
    };
    assert.equal(text.decode(storeKey("count")), "app/count");
    assert.equal(text.decode(storeKey("config/theme")), "config/theme");
    // A CRDT shared glob of any family shares the key for every family: one key, one store key.
    assert.equal(crdtKey("tags"), "tags");
    assert.equal(crdtKey("visits"), "app/visits");
    // Shared store globs do not share CRDT keys, and topic globs share nothing.
    assert.equal(crdtKey("config/theme"), "app/config/theme");
    assert.equal(text.decode(storeKey("literal")), "app/literal");
    // The policy's key globs become store-key globs; topic globs stay as written.
    const sources = (capability: "db.read" | "crdt.orset" | "messages.publish") =>
      namespace.policy.globs.get(capability)?.map((glob) => glob.source);
    assert.deepEqual(sources("db.read"), ["app/*", "config/*"]);
    assert.deepEqual(sources("crdt.orset"), ["tags"]);
    assert.deepEqual(sources("messages.publish"), ["/literal"]);
  });

  test("a db key in the runtime's namespace has no store key (-4), nor has any key of a module whose id is __nx", () => {
    const namespace = namespaceOf({ db: { read: ["*", "/__nx/*"] } });
    const reserved = utf8.encode("__nx/seq");
    assert.equal(namespace.storeKey(reserved, 0, reserved.length), undefined);
    // Read from where it lies in guest memory: at an offset, and up to 64 bytes or longer.
    const memory = utf8.encode(`....${"k".repeat(100)}`);
    assert.equal(text.decode(namespace.storeKey(memory, 4, 3)), "app/kkk");
    assert.equal(text.decode(namespace.storeKey(memory, 4, 100)), `app/${"k".repeat(100)}`);
    const nx = moduleNamespace("__nx", parsePolicy({ capabilities: { db: { read: ["*"] } } }, "p.toml"));
    assert.equal(nx.storeKey(memory, 4, 3), undefined);
  });

  test("a listing is shared when a shared glob covers its prefix, else in the namespace with the prefix hidden", () => {
    const namespace = namespaceOf({ db: { read: ["*", "/config/*"] } });
    const listing = (prefix: string) => {
      const { prefix: stored, hidden } = namespace.storeListing(utf8.encode(prefix));
      return [text.decode(stored), hidden];
    };
    assert.deepEqual(listing("config/"), ["config/", 0]);
    assert.deepEqual(listing("conf"), ["app/conf", 4]);
    assert.deepEqual(listing(""), ["app/", 4]);
    assert.deepEqual(listing("__nx/"), ["__nx/", 0], "the reserved prefix stays refused");
  });

  test("a remote op shows the module only keys its policy grants for the family, as it names them", () => {
    const namespace = namespaceOf({ crdt: { gcounter: ["*", "/total"], "lww-register": ["status"] } });
    assert.equal(namespace.visibleCrdtKey("gcounter", "app/visits"), "visits");
    assert.equal(namespace.visibleCrdtKey("gcounter", "total"), "total");
    assert.equal(namespace.visibleCrdtKey("gcounter", "other/visits"), undefined);
    assert.equal(namespace.visibleCrdtKey("gcounter", "visits"), undefined);
    assert.equal(namespace.visibleCrdtKey("lww_register", "app/status"), "status");
    assert.equal(namespace.visibleCrdtKey("lww_register", "app/other"), undefined);
    assert.equal(namespace.visibleCrdtKey("orset", "app/visits"), undefined, "a family it was not granted");
  });

  test("the node's event bus gives on_remote_op only for visible keys, named as the module names them", () => {
    const bus = new NodeEventBus();
    const namespace = namespaceOf({ crdt: { gcounter: ["*"] } });
    const events = bus.addModule({
      moduleId: "app",
      callbacks: new Set(["on_remote_op"]),
      remoteKey: (family, key) => namespace.visibleCrdtKey(family, key),
    });
    const trusted = bus.addModule({ moduleId: "root", callbacks: new Set(["on_remote_op"]) });
    bus.remoteChanges([
      { key: "app/visits", family: "gcounter", origin: PEER },
      { key: "other/secret", family: "gcounter", origin: PEER },
    ]);
    assert.equal(events.queued, 1);
    const delivered = events.next(new AbortController().signal);
    assert.deepEqual(delivered, { kind: "remote_op", key: "visits", family: "gcounter", origin: PEER });
    assert.equal(trusted.queued, 2, "a module without a policy sees every key, as stored");
    bus.closeAll();
  });
});
