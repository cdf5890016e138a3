import assert from "node:assert/strict";
import { test } from "node:test";
import type { NodeId } from "../identity/node-id.ts";
import { knownMembers } from "./known-members.ts";

const id = (c: string): NodeId => c.repeat(32) as NodeId;

test("knownMembers: configured (once reached), connected, discovered peers and members that did not leave, without this node", () => {
  const members = knownMembers(
    {
      configured: [
        { nodeId: id("b"), self: false },
        { nodeId: undefined, self: false },
        { nodeId: id("a"), self: true },
      ],
      connected: [{ nodeId: id("c") }, { nodeId: id("b") }],
      discovered: [{ nodeId: id("d") }, {}, { nodeId: id("a") }],
      members: [
        { nodeId: id("e"), state: "dead" },
        { nodeId: id("f"), state: "left" },
        { nodeId: id("g"), state: "suspect" },
        { nodeId: id("a"), state: "alive" },
      ],
    },
    id("a"),
  );
  assert.deepEqual(members, [id("b"), id("c"), id("d"), id("e"), id("g")]);
});
