/**
 * Every example and SDK test guest compiles, exports exactly `run` and `memory` (a reactive
 * example: `memory` and callbacks of the event model, which the runtime's loader accepts), and
 * imports only functions the runtime provides, each with a type the runtime declares.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { isNxSignature, NX_MODULE } from "../../src/wasm/abi/nx-signatures.ts";
import { WASI_FUNCTION_SIGNATURES, WASI_MODULE } from "../../src/wasm/abi/wasi-signatures.ts";
import { validateAndInstrument } from "../../src/wasm/compile-guest-module.ts";
import { isCallbackExport } from "../../src/wasm/guest-exports.ts";
import { type FunctionImport, readImports } from "../../src/wasm/module-imports.ts";
import {
  buildGuests,
  clangCanTargetWasm,
  type ExampleGuest,
  exampleGuests,
  readBytes,
  SDK_PROBE_WASM,
  wasm,
} from "./guest-files.ts";

/** The examples the issues ask for; the directory listing must contain at least these. */
const REQUIRED_EXAMPLES = [
  "hello",
  "hello_wasi",
  "kv_counter",
  "kv_get_set_delete",
  "kv_roundtrip",
  "crypto_hashing",
  "time_clock",
  "distributed_counter",
  "distributed_inventory",
  "distributed_status",
  "distributed_settings",
  "distributed_tags",
  "distributed_comments",
  "vote_tally_tls",
  "reactive_dashboard",
  "chat",
  "http_hello",
  "ws_chat",
  "collaborative_todo",
];

/** Guests that serve HTTP: besides memory, a `routes` export and their handlers (no `run`: they only serve). */
const HTTP_EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  http_hello: ["boom", "echo", "hello", "publish", "spin", "ticks", "topic", "wsEcho", "wsTopic"],
  ws_chat: ["page", "room"],
  collaborative_todo: ["create", "list", "page", "remove", "stream", "update"],
};

/** The host calls each HTTP example must import (it uses each of them). */
const HTTP_EXAMPLE_IMPORTS: Readonly<Record<string, readonly string[]>> = {
  http_hello: [
    "route_add",
    "req_param",
    "req_body",
    "resp_header",
    "resp_write",
    "sse_start",
    "sse_send",
    "sse_forward",
    "ws_send",
    "ws_forward",
  ],
  ws_chat: ["route_add", "req_param", "resp_header", "resp_write", "ws_forward", "msg_publish"],
  collaborative_todo: [
    "route_add",
    "req_param",
    "req_body",
    "resp_status",
    "resp_header",
    "resp_write",
    "sse_start",
    "sse_send",
    "sse_forward",
    "msg_publish",
    "msg_subscribe",
    "event_subject",
    "net_node_id",
    "net_peers",
    "crdt_orset_add",
    "crdt_orset_remove",
    "crdt_lww_map_set",
  ],
};

/** Memory cap the loader checks the guests against (the default `memory_max_mb`). */
const GUEST_MEMORY_MAX_BYTES = 256 * 1024 * 1024;

/** Reactive examples: they print to stdout through WASI's fd_write. */
const REACTIVE_EXAMPLES = ["reactive_dashboard", "chat"];

function functionImports(bytes: Uint8Array): FunctionImport[] {
  const imports = readImports(bytes);
  for (const entry of imports)
    assert.equal(entry.kind, "function", `${entry.module}.${entry.name} is a ${entry.kind}`);
  return imports as FunctionImport[];
}

function sameTypes(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((type, i) => type === b[i]);
}

/** Asserts the module's shape and returns its imports as "module.name". */
function checkModule(path: string, handlers: readonly string[] = []): string[] {
  const bytes = readBytes(path);
  const module = new wasm.Module(bytes); // throws on an invalid module
  const served = handlers.length === 0 ? [] : ["routes", ...handlers].map((name) => `${name}:function`);
  const exports = wasm.Module.exports(module)
    .map(({ name, kind }) => `${name}:${kind}`)
    .filter((entry) => !served.includes(entry));
  const callbacks = exports.filter(
    (entry) => entry.endsWith(":function") && isCallbackExport(entry.replace(/:function$/, "")),
  );
  if (handlers.length > 0) {
    // A module that serves may also be reactive (collaborative_todo): its callbacks beside memory.
    assert.deepEqual(exports.filter((entry) => !callbacks.includes(entry)).sort(), ["memory:memory"]);
    // The loader takes a module that only serves: `routes` stands for `run`.
    assert.doesNotThrow(() => validateAndInstrument(bytes, path, GUEST_MEMORY_MAX_BYTES));
  } else if (callbacks.length === 0) {
    assert.deepEqual(exports.sort(), ["memory:memory", "run:function"]);
  } else {
    const rest = exports.filter((entry) => !callbacks.includes(entry) && entry !== "run:function");
    assert.deepEqual(
      rest,
      ["memory:memory"],
      `a reactive module exports memory and callbacks: ${exports.join(", ")}`,
    );
    // The loader refuses a callback whose signature is not the event model's (CALLBACK_EXPORTS).
    assert.doesNotThrow(() => validateAndInstrument(bytes, path, GUEST_MEMORY_MAX_BYTES));
  }
  return functionImports(bytes).map((entry) => {
    const where = `${entry.module}.${entry.name}`;
    if (entry.module === NX_MODULE) {
      assert.ok(isNxSignature(entry.name, entry.type), `${where} is not an nx function with that type`);
    } else if (entry.module === WASI_MODULE) {
      const want = WASI_FUNCTION_SIGNATURES.get(entry.name)?.[0];
      assert.ok(want !== undefined, `${where} is not a WASI preview 1 function`);
      assert.ok(
        sameTypes(want.params, entry.type.params) && sameTypes(want.results, entry.type.results),
        `${where} has the wrong type`,
      );
    } else {
      assert.fail(`${where}: guests import only from "${NX_MODULE}" and "${WASI_MODULE}"`);
    }
    return where;
  });
}

describe("compiled guests", () => {
  before(() => buildGuests());

  test("every required example exists with a guest and a README naming its module", () => {
    const names = exampleGuests().map((guest) => guest.name);
    for (const name of REQUIRED_EXAMPLES) assert.ok(names.includes(name), `examples/${name} is missing`);
    for (const guest of exampleGuests()) {
      const readme = join(guest.dir, "README.md");
      assert.ok(existsSync(readme), `${guest.name} has no README.md`);
      assert.match(
        readFileSync(readme, "utf8"),
        new RegExp(`examples/${guest.name}/build/${guest.name}\\.wasm`),
      );
    }
  });

  for (const guest of exampleGuests()) {
    test(`${guest.name}: valid module, exports run + memory, imports only runtime functions`, () => {
      if (guest.language === "c" && !clangCanTargetWasm()) {
        // Without a wasm32 clang the build skips C guests and says how to get one.
        assert.match(
          buildGuests(guest.name),
          new RegExp(`skipped C guest ${guest.name} .*apt-get install -y clang lld`),
        );
        return;
      }
      const imports = checkModule(guest.wasmPath, HTTP_EXAMPLES[guest.name]);
      assert.ok(imports.length > 0);
      expectImports(guest, imports);
    });
  }

  test("the SDK probe guest links against the whole local and CRDT ABI it exercises", () => {
    const imports = checkModule(SDK_PROBE_WASM);
    for (const name of [
      "db_scan",
      "db_scan_after",
      "db_keys",
      "db_keys_after",
      "crdt_rga_insert",
      "net_peers",
    ]) {
      assert.ok(imports.includes(`nx.${name}`), `probe imports nx.${name}`);
    }
  });
});

function expectImports(guest: ExampleGuest, imports: string[]): void {
  const modules = new Set(imports.map((where) => where.split(".")[0]));
  if (guest.name === "hello_wasi") {
    // Plain WASI: runs on any WASI runtime, so nothing from nx.
    assert.deepEqual([...modules], [WASI_MODULE]);
    assert.ok(imports.includes(`${WASI_MODULE}.fd_write`));
    return;
  }
  if (HTTP_EXAMPLES[guest.name] !== undefined) {
    assert.deepEqual([...modules], [NX_MODULE], `${guest.name} imports ${imports.join(", ")}`);
    for (const name of HTTP_EXAMPLE_IMPORTS[guest.name]!)
      assert.ok(imports.includes(`${NX_MODULE}.${name}`), `${guest.name} imports nx.${name}`);
    return;
  }
  if (REACTIVE_EXAMPLES.includes(guest.name)) {
    // Their interface is stdout lines; everything else comes from nx.
    assert.deepEqual(
      imports.filter((where) => !where.startsWith(`${NX_MODULE}.`)),
      [`${WASI_MODULE}.fd_write`],
    );
    const uses =
      guest.name === "chat"
        ? ["msg_subscribe", "msg_publish", "crdt_rga_insert"]
        : ["tick_every", "msg_publish", "crdt_gcounter_inc"];
    for (const name of uses)
      assert.ok(imports.includes(`${NX_MODULE}.${name}`), `${guest.name} imports nx.${name}`);
    return;
  }
  assert.deepEqual([...modules], [NX_MODULE], `${guest.name} imports ${imports.join(", ")}`);
  if (guest.name === "kv_roundtrip") {
    // Declares the raw ABI itself, without the SDK.
    assert.deepEqual(imports.sort(), [
      "nx.abort",
      "nx.db_delete",
      "nx.db_get",
      "nx.db_set",
      "nx.host_log_v2",
    ]);
  }
  if (guest.name.startsWith("distributed_") || guest.name === "vote_tally_tls") {
    assert.ok(
      imports.some((where) => where.startsWith("nx.crdt_")),
      `${guest.name} uses a replicated CRDT`,
    );
  }
}
