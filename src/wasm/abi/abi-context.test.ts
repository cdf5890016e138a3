import assert from "node:assert/strict";
import { test } from "node:test";
import { recordingLogger } from "../../../test/net/helpers/recording-logger.ts";
import { AbiContext } from "./abi-context.ts";
import type { GuestEnvironment } from "./guest-environment.ts";

test("refusals are logged on a budget of their own: a guest that keeps asking does not silence its real failures", () => {
  const logger = recordingLogger();
  // Logging reads only the logger and the module id.
  const env = { logger, moduleId: "guest" } as unknown as GuestEnvironment;
  const ctx = new AbiContext(env, { memory: undefined });
  for (let i = 0; i < 500; i++) ctx.logRefusal("crdt_map_set", new Error("op too large"));
  ctx.logFailure("crdt_map_get", new Error("disk on fire"));
  const messages = logger.lines.map((line) => line.message);
  assert.equal(messages.filter((m) => m.includes("op too large")).length, 100);
  assert.ok(messages.includes("further host function refusals of this guest are not logged"));
  assert.ok(messages.some((m) => m.includes("crdt_map_get failed") && m.includes("disk on fire")));
});
