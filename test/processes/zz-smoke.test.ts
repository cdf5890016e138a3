import assert from "node:assert/strict";
import { test } from "node:test";
import { ask, loadTestGuest, tell, testHost } from "/work/main/test/processes/harness.ts";

test("smoke", async () => {
  const actor = await loadTestGuest("proc_actor");
  const { kernel, host } = testHost([actor]);
  const pid = kernel.spawn(host.spawnable(actor));
  assert.equal(await ask(kernel, pid, "ping"), "pong");
  assert.equal(await ask(kernel, pid, "count"), "2");
  assert.equal(await ask(kernel, pid, "self"), String(pid));
  assert.equal(await ask(kernel, pid, "caps"), "log,time,random,crypto,env,event");
  const exited = kernel.whenExited(pid);
  tell(kernel, pid, "crash");
  const reason = await exited;
  console.log(reason);
  const pid2 = kernel.spawn(host.spawnable(actor));
  assert.equal(await ask(kernel, pid2, "count"), "1");
  console.log(host.stats());
  tell(kernel, pid2, "stop");
  await kernel.whenExited(pid2);
  console.log(host.stats());
});
