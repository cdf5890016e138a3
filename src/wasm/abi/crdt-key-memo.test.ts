import assert from "node:assert/strict";
import { test } from "node:test";
import { CRDT_KEY_MEMO_BYTES_MAX, CrdtKeyMemo } from "./crdt-key-memo.ts";
import type { HostCallPolicy } from "./host-call-policy.ts";
import type { KeyNamespace } from "./key-namespace.ts";

const utf8 = new TextEncoder();
const namespace = { prefix: "app/" } as KeyNamespace;
const policy = {} as HostCallPolicy;

test("the memo answers only the same bytes under the same namespace and policy", () => {
  const memory = new Uint8Array(256);
  memory.set(utf8.encode("visits"), 10);
  const memo = new CrdtKeyMemo();
  assert.equal(memo.recall(memory, 10, 6, namespace, policy), undefined, "nothing remembered yet");
  memo.remember(memory, 10, 6, "app/visits", namespace, policy);
  assert.equal(memo.recall(memory, 10, 6, namespace, policy), "app/visits");
  // The same bytes elsewhere in memory are the same key.
  memory.set(utf8.encode("visits"), 100);
  assert.equal(memo.recall(memory, 100, 6, namespace, policy), "app/visits");
  assert.equal(memo.recall(memory, 10, 5, namespace, policy), undefined, "another length");
  assert.equal(memo.recall(memory, 10, 6, undefined, policy), undefined, "another namespace");
  assert.equal(memo.recall(memory, 10, 6, namespace, undefined), undefined, "another policy");
  assert.equal(memo.recall(memory, 252, 6, namespace, policy), undefined, "outside memory");
  memory[12] = 0x53; // "viSits": the guest changed the bytes in place
  assert.equal(memo.recall(memory, 10, 6, namespace, policy), undefined);
});

test("a key longer than the bound is not remembered, and forgets the one before", () => {
  const memory = new Uint8Array(256);
  const memo = new CrdtKeyMemo();
  memo.remember(memory, 0, 4, "a", undefined, undefined);
  memo.remember(memory, 0, CRDT_KEY_MEMO_BYTES_MAX + 1, "long", undefined, undefined);
  assert.equal(memo.recall(memory, 0, CRDT_KEY_MEMO_BYTES_MAX + 1, undefined, undefined), undefined);
  assert.equal(memo.recall(memory, 0, 4, undefined, undefined), undefined);
});
