import assert from "node:assert/strict";
import { test } from "node:test";
import { recordingEnvironment } from "../../test/abi/harness.ts";
import { KernelCore } from "../kernel/kernel-core.ts";
import { createLogger } from "../observe/create-logger.ts";
import { loadGuestModuleFile } from "../wasm/load-guest-module.ts";
import { ModuleCache } from "../wasm/module-cache.ts";
import { GuestRequest, type GuestRequestInput } from "./guest-request.ts";
import { HandlerProcesses } from "./handler-processes.ts";
import type { SseStream } from "./sse-stream.ts";

const logger = createLogger({ level: "error", format: "text" });

async function helloProcesses(cpuMsPerRequest = 1_000) {
  const path = new URL("../../examples/http_hello/build/http_hello.wasm", import.meta.url).pathname;
  const module = await loadGuestModuleFile(path, {
    memoryMaxBytes: 64 * 1024 * 1024,
    cache: new ModuleCache({ directory: undefined, logger }),
    logger,
  });
  const { env } = recordingEnvironment();
  const processes = new HandlerProcesses({
    modules: [module],
    environment: () => ({ ...env, moduleId: module.moduleId }),
    cpuMsPerRequest,
    profile: "trusted",
    logger,
  });
  return { module, processes };
}

function helloInput(name: string): GuestRequestInput {
  return {
    method: "GET",
    rawPath: `/hello/${name}`,
    query: "",
    headers: {},
    params: { name },
    body: new Uint8Array(0),
  };
}

function helloRequest(name: string): GuestRequest {
  return new GuestRequest(helloInput(name));
}

test("a handler that makes no proc_* call runs without a kernel process, each request on a reset instance", async () => {
  const { module, processes } = await helloProcesses();
  try {
    for (const name of ["ada", "grace", "barbara"]) {
      const request = helloRequest(name);
      const outcome = await processes.run(module, "hello", { request }).outcome;
      assert.deepEqual(outcome, { ok: true });
      const response = request.close();
      assert.equal(
        Buffer.concat(response.body).toString(),
        `hello ${name}`,
        "nothing left from the last one",
      );
    }
    const stats = processes.stats();
    assert.equal(stats.processesSpawned, 0, "no request had a kernel process");
    assert.equal(stats.instancesCreated, 1, "one pooled instance served them all");
  } finally {
    await processes.close(1_000);
  }
});

test("a trap, the CPU budget and a stop end a request life without a process; the next request is served", async () => {
  const { module, processes } = await helloProcesses(50);
  try {
    const trapped = await processes.run(module, "boom", { request: helloRequest("x") }).outcome;
    assert.equal(trapped.ok, false);
    assert.equal(!trapped.ok && trapped.kind, "unreachable");
    const spun = await processes.run(module, "spin", { request: helloRequest("x") }).outcome;
    assert.equal(!spun.ok && spun.kind, "cpu_budget");
    const stopped = processes.run(module, "spin", { request: helloRequest("x") });
    stopped.stop("the client went away");
    assert.deepEqual(await stopped.outcome, {
      ok: false,
      kind: "stopped",
      failure: "the client went away",
      stopped: true,
    });
    const request = helloRequest("after");
    assert.deepEqual(await processes.run(module, "hello", { request }).outcome, { ok: true });
    assert.equal(Buffer.concat(request.close().body).toString(), "hello after");
    assert.equal(processes.stats().processesSpawned, 0);
  } finally {
    await processes.close(1_000);
  }
});

test("closing ends each handler process once, those with a kernel process and those without", async () => {
  const { module, processes } = await helloProcesses();
  // What the kernel is asked to end while closing: once per process.
  const exits: number[] = [];
  const exit = KernelCore.prototype.exit;
  try {
    // `ticks` streams events and waits between them (proc_receive): its life becomes a process.
    const stream = { send: () => 0, forward: () => 0 } as unknown as SseStream;
    const streaming = processes.run(module, "ticks", {
      request: new GuestRequest({ ...helloInput("x"), openStream: () => stream }),
    });
    const spinning = processes.run(module, "spin", { request: helloRequest("y") });
    while (processes.stats().processesSpawned === 0) await new Promise((resolve) => setImmediate(resolve));
    KernelCore.prototype.exit = function (this: KernelCore, pid, reason) {
      exits.push(pid);
      exit.call(this, pid, reason);
    };
    await processes.close(1_000);
    assert.equal((await streaming.outcome).ok, false);
    assert.equal((await spinning.outcome).ok, false);
    assert.equal(exits.length, new Set(exits).size, `a pid ended twice: ${exits.join(", ")}`);
    assert.equal(exits.length, 1, "the one life with a process is ended through the kernel");
  } finally {
    KernelCore.prototype.exit = exit;
  }
});
