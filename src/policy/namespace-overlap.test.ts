import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parsePolicy } from "./module-policy.ts";
import { assertNamespacesApart } from "./namespace-overlap.ts";

const module = (id: string, capabilities?: Record<string, unknown>) => ({
  id,
  policy: capabilities === undefined ? undefined : parsePolicy({ capabilities }, `${id}.policy.toml`),
});

const refused = (modules: ReturnType<typeof module>[]) =>
  assert.throws(() => assertNamespacesApart(modules), { code: "POLICY_NAMESPACE_OVERLAP" });
const apart = (modules: ReturnType<typeof module>[]) =>
  assert.doesNotThrow(() => assertNamespacesApart(modules));

describe("assertNamespacesApart", () => {
  const todo = module("todo", { db: { read: ["*"], write: ["*"] }, crdt: { gcounter: ["*"] } });

  test("a shared glob that can match a key under another module's id/ is refused", () => {
    for (const glob of ["/todo/*", "/todo/items", "/*", "/t*", "/*/private", "/todo/*/x"]) {
      refused([todo, module("spy", { db: { read: [glob] } })]);
    }
    refused([module("spy", { crdt: { orset: ["/todo/list"] } }), todo]);
  });

  test("globs that cannot match under it, and relative globs, pass", () => {
    for (const glob of ["/todo", "/todos/*", "/to", "/other/*", "/x*"]) {
      apart([todo, module("spy", { db: { read: [glob] } })]);
    }
    apart([todo, module("spy", { db: { read: ["todo/*"] } })]);
  });

  test("the owner consents with a shared glob of the same kind covering what the other reaches", () => {
    const owner = module("todo", { db: { write: ["*", "/todo/shared/*"] }, crdt: { orset: ["/todo/*"] } });
    apart([owner, module("a", { db: { read: ["/todo/shared/x", "/todo/shared/*", "/todo/shared/a*"] } })]);
    apart([owner, module("b", { crdt: { gcounter: ["/todo/*", "/t*"] } })]);
    refused([owner, module("c", { db: { read: ["/todo/*"] } })]);
    refused([owner, module("d", { db: { read: ["/todo/private"] } })]);
    // Sharing store keys does not share CRDT keys of the same names (one mapping per kind).
    const storeShared = module("todo", { db: { write: ["*", "/todo/*"] } });
    refused([module("counter", { crdt: { gcounter: ["/todo/visits"] } }), storeShared]);
  });

  test("its own namespace, and modules run trusted, are not another module's namespace", () => {
    apart([module("todo", { db: { read: ["*", "/todo/*"] } })]);
    apart([module("todo"), module("spy", { db: { read: ["/todo/*"] } })]);
    apart([module("todo", { db: { read: ["/*"] } }), module("trusted")]);
  });

  test("a module with a policy whose namespace would be the runtime's own is refused", () => {
    assert.throws(() => assertNamespacesApart([module("__nx", { db: { read: ["*"] } })]), {
      code: "POLICY_NAMESPACE_RESERVED",
      message: /module __nx would keep its keys under __nx\/, the runtime's own namespace/,
    });
    // Run trusted, it has no namespace; ids merely starting with __nx are not the runtime's.
    apart([module("__nx"), module("__nx2", { db: { read: ["*"] } }), module("_nx", { db: { read: ["*"] } })]);
  });
});
