/**
 * sdk/c/nx.h declares every process function with the type the runtime accepts: a C guest using
 * them compiles, passes the import check, and runs as a process.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { silentLogger } from "../../src/observe/logger.ts";
import { PROCESS_FUNCTION_SIGNATURES } from "../../src/wasm/abi/process-signatures.ts";
import { checkImports } from "../../src/wasm/guest-imports.ts";
import { loadGuestModuleFile } from "../../src/wasm/load-guest-module.ts";
import { ModuleCache } from "../../src/wasm/module-cache.ts";
import { clangCanTargetWasm } from "../sdk/guest-files.ts";
import { ask, MIB, REPO, testHost } from "./harness.ts";

const HEADER = join(REPO, "sdk/c/nx.h");

const GUEST_C = `#include "nx.h"

__attribute__((export_name("run"))) void run(void) {
  uint8_t buffer[256];
  int32_t n = nx_proc_receive(buffer, sizeof buffer, NX_WAIT_FOREVER);
  if (n < (int32_t)NX_MSG_HEADER_BYTES) nx_fail("receive failed");
  int32_t from = (int32_t)nx_u32le(buffer + 4);
  if (nx_proc_register("c_guest", 7) != NX_OK) nx_fail("register failed");
  if (nx_proc_whereis("c_guest", 7) != nx_proc_self()) nx_fail("whereis failed");
  nx_proc_unregister("c_guest", 7);
  nx_proc_trap_exit(0);
  if (nx_proc_link(from) != NX_OK || nx_proc_unlink(from) != NX_OK) nx_fail("link failed");
  nx_proc_monitor(from);
  nx_proc_demonitor(from);
  int32_t child = nx_proc_spawn(0, 0, "park", 4, "sandboxed", 9, "hi", 2, NX_SPAWN_MONITOR);
  if (child <= 0) nx_fail("spawn failed");
  n = nx_proc_receive_match(1u << NX_MSG_DATA, from, "x", 1, buffer, sizeof buffer, 0);
  nx_proc_send_str(from, n == NX_ERR_NOT_FOUND ? "hello from C" : "unexpected message");
  nx_proc_exit("done", 4);
}

__attribute__((export_name("park"))) void park(void) {
  uint8_t buffer[64];
  nx_proc_receive(buffer, sizeof buffer, 0);
}
`;

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "nx-c-procs-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("nx.h declares every process function", () => {
  const header = readFileSync(HEADER, "utf8");
  for (const name of PROCESS_FUNCTION_SIGNATURES.keys()) {
    assert.match(header, new RegExp(`NX_IMPORT\\(${name}\\)\\s+int32_t nx_${name}\\(`), name);
  }
});

test("a C guest using the process functions compiles, links and runs as a process", async (t) => {
  if (!clangCanTargetWasm()) {
    t.diagnostic("clang with the wasm32 target is not installed: only the declarations were checked");
    return;
  }
  writeFileSync(join(dir, "procs.c"), GUEST_C);
  const out = join(dir, "procs.wasm");
  const clang = spawnSync(
    "clang",
    [
      "--target=wasm32",
      "-O2",
      "-nostdlib",
      "-ffreestanding",
      "-Wall",
      "-Werror",
      `-I${join(REPO, "sdk/c")}`,
      "-Wl,--no-entry",
      "-Wl,--export=run",
      "-Wl,--export=park",
      "-o",
      out,
      join(dir, "procs.c"),
    ],
    { encoding: "utf8" },
  );
  assert.equal(clang.status, 0, clang.stderr);
  const module = await loadGuestModuleFile(out, {
    memoryMaxBytes: 4 * MIB,
    cache: new ModuleCache({ directory: undefined, logger: silentLogger }),
    logger: silentLogger,
  });
  checkImports(module.label, module.imports);
  const { kernel, host } = testHost([module]);
  // +link: the guest links to the process that messaged it, which it did not spawn.
  const pid = kernel.spawn(host.spawnable(module, { profile: "sandboxed+link" }));
  const exited = kernel.whenExited(pid);
  assert.equal(await ask(kernel, pid, "go"), "hello from C");
  assert.equal(await exited, "done");
  await kernel.shutdown({ timeoutMs: 1_000 });
});
