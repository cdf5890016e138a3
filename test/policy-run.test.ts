/**
 * Policies as users meet them (docs/design/policies.md), with real `nx` child processes: a module
 * without a policy does not start, `--policy-default trusted` says loudly that it runs one, a
 * denied host call of a real guest answers its code, writes nothing and logs its audit line, a
 * minimal policy keeps a module out of every key outside its namespace, a route to a module whose
 * policy lacks network.serve is refused, a node that requires signed policies refuses unsigned
 * and tampered ones, and `nx policy init|validate|diff|sign` do what they say.
 */
import assert from "node:assert/strict";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE } from "../src/cli/exit-codes.ts";
import { runNx } from "./fixtures/wasm/nx-process.ts";
import { watToWasm, writeFixture } from "./fixtures/wasm/wat-fixtures.ts";
import { examplePath, nxCert, startNx, stopNx } from "./helpers/nx-process.ts";

let dir: string;
/** As a user's shell has it: no switch, so modules need policies. */
const DENY = { NX_POLICY_DEFAULT: "deny" };

before(() => {
  dir = mkdtempSync(join(tmpdir(), "nx-policy-run-"));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function nx(args: readonly string[], env: Record<string, string> = DENY) {
  return runNx(args, { cwd: dir, env, timeoutMs: 60_000 });
}

describe("nx run and policies", () => {
  test("a module without a policy does not start: one line saying how to write one", async () => {
    await writeFixture(dir, "db-write");
    const result = await nx(["run", "db-write.wasm", "--datastore-path", "data-none"]);
    assert.equal(result.code, EXIT_USAGE);
    assert.equal(
      result.stderr,
      "nx: error: module db-write (db-write.wasm) has no policy, so it may not run: write db-write.policy.toml (`nx policy init db-write.wasm` writes a minimal one from its imports), pass --policy FILE, or set [modules.db-write] policy in numax.toml; for development only, --policy-default trusted runs it with every capability\n",
    );
    assert.equal(existsSync(join(dir, "data-none", "data.mdb")), false, "the store was never opened");
  });

  test("--policy-default trusted runs it, with one loud warning naming the module", async () => {
    await writeFixture(dir, "db-write");
    const result = await nx([
      "run",
      "db-write.wasm",
      "--datastore-path",
      "data-trusted",
      "--policy-default",
      "trusted",
    ]);
    assert.equal(result.code, EXIT_OK, result.stderr);
    assert.match(
      result.stderr,
      /^\S+ WARN {2}policy: module db-write runs WITHOUT A POLICY with every capability \(--policy-default trusted, for development only; `nx policy init db-write\.wasm` writes a minimal policy\) module=db-write$/m,
    );
  });

  test("a denied db_set answers -3 (the guest traps on it), writes nothing, and logs the audit line", async () => {
    await writeFixture(dir, "db-write");
    await writeFixture(dir, "db-read");
    writeFileSync(join(dir, "db-write.policy.toml"), '[capabilities]\ndb.write = ["/other/*"]\n');
    const denied = await nx(["run", "db-write.wasm", "--datastore-path", "data-denied"]);
    assert.equal(denied.code, EXIT_RUN_FAILED, denied.stderr);
    assert.match(
      denied.stderr,
      /^\S+ WARN {2}policy: policy denied db_set: db\.write "db-write\/greeting" is not granted to module db-write module=db-write call=db_set capability=db\.write key=db-write\/greeting$/m,
    );
    // The reader shares the whole store ("/*"): it reads the store key greeting as it is.
    writeFileSync(join(dir, "db-read.policy.toml"), '[capabilities]\ndb.read = ["/*"]\n');
    const read = await nx(["run", "db-read.wasm", "--datastore-path", "data-denied"]);
    assert.equal(read.stdout, "missing\n", "nothing was written");
    // The opt-in audit log records the denial and the sampled call with its answer.
    const audited = await nx([
      "run",
      "db-write.wasm",
      "--datastore-path",
      "data-denied",
      "--policy-audit-log",
      "audit.jsonl",
      "--policy-audit-sample-every",
      "1",
    ]);
    assert.equal(audited.code, EXIT_RUN_FAILED);
    const lines = readFileSync(join(dir, "audit.jsonl"), "utf8")
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line));
    assert.deepEqual(
      lines.map(({ time: _time, ...line }) => line),
      [
        {
          kind: "denied",
          module: "db-write",
          call: "db_set",
          capability: "db.write",
          key: "db-write/greeting",
        },
        { kind: "call", module: "db-write", call: "nx.db_set", result: -3, calls: 1 },
      ],
    );
    // The same guest with the key granted, through --policy: written and read back.
    writeFileSync(join(dir, "grant.toml"), '[capabilities]\ndb.write = ["/greeting"]\n');
    const granted = await nx([
      "run",
      "db-write.wasm",
      "--datastore-path",
      "data-denied",
      "--policy",
      "grant.toml",
    ]);
    assert.equal(granted.code, EXIT_OK, granted.stderr);
    assert.equal(
      (await nx(["run", "db-read.wasm", "--datastore-path", "data-denied"])).stdout,
      "hello, store\n",
    );
  });

  test("a minimal policy runs a module in its namespace, where it names its keys as before", async () => {
    const module = join(dir, "kv_get_set_delete.wasm");
    copyFileSync(examplePath("kv_get_set_delete"), module);
    const init = await nx(["policy", "init", "kv_get_set_delete.wasm"]);
    assert.equal(init.code, EXIT_OK, init.stderr);
    const policy = readFileSync(join(dir, "kv_get_set_delete.policy.toml"), "utf8");
    assert.match(policy, /^db\.read = \["\*"\]$/m);
    assert.match(policy, /^db\.write = \["\*"\]$/m);
    const result = await nx(["run", "kv_get_set_delete.wasm", "--datastore-path", "data-minimal"]);
    // The example writes, lists and scans fruit/*: in its namespace, under the names it wrote.
    assert.equal(result.code, EXIT_OK, result.stderr);
    assert.match(result.stderr, /keys under fruit\/: fruit\/apple, fruit\/banana, fruit\/cherry/);
    assert.match(result.stderr, /scan fruit\/apple = /);
    assert.doesNotMatch(result.stderr, /policy denied/);
    // Init refuses to replace the policy it wrote.
    const again = await nx(["policy", "init", "kv_get_set_delete.wasm"]);
    assert.equal(again.code, EXIT_USAGE);
    assert.match(again.stderr, /^nx: error: kv_get_set_delete\.policy\.toml already exists; pass --force/);
  });

  test("a policy's memory_max_mb narrows the node's limits.memory_max_mb and never raises it", async () => {
    // Grows its memory until refused, then says whether it got past 16 MiB (256 pages).
    const grow = `(module
      (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 64) "above 16 MiB\\n")
      (data (i32.const 96) "at most 16 MiB\\n")
      (func $print (param $ptr i32) (param $len i32)
        (i32.store (i32.const 0) (local.get $ptr))
        (i32.store (i32.const 4) (local.get $len))
        (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
      (func (export "run")
        (block $refused (loop $more
          (br_if $refused (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
          (br $more)))
        (if (i32.gt_u (memory.size) (i32.const 256))
          (then (call $print (i32.const 64) (i32.const 13)))
          (else (call $print (i32.const 96) (i32.const 15))))))`;
    writeFileSync(join(dir, "grow.wasm"), await watToWasm(grow, "grow.wat"));
    writeFileSync(join(dir, "grow.policy.toml"), "[capabilities]\n\n[quotas]\nmemory_max_mb = 64\n");
    const run = (limit: string) =>
      nx(["run", "grow.wasm", "--datastore-path", "data-grow", "--memory-max-mb", limit]);
    const capped = await run("16");
    assert.equal(capped.code, EXIT_OK, capped.stderr);
    assert.equal(capped.stdout, "at most 16 MiB\n", "the policy's 64 MiB does not raise the node's 16");
    const narrowed = await run("128");
    assert.equal(narrowed.code, EXIT_OK, narrowed.stderr);
    assert.equal(narrowed.stdout, "above 16 MiB\n", "under a node limit of 128 MiB its own 64 MiB holds");
  });

  test("a route to a module whose policy lacks network.serve is refused at start", async () => {
    const module = join(dir, "http_hello.wasm");
    copyFileSync(examplePath("http_hello"), module);
    writeFileSync(join(dir, "no-serve.toml"), "[capabilities]\n");
    const result = await nx([
      "run",
      "http_hello.wasm",
      "--datastore-path",
      "data-serve",
      "--serve",
      "127.0.0.1:0",
      "--policy",
      "no-serve.toml",
    ]);
    assert.equal(result.code, EXIT_USAGE, result.stderr);
    assert.match(
      result.stderr,
      /^nx: error: --serve: route "GET \/hello\/:name" = "http_hello#hello": module "http_hello" may not serve: its policy no-serve\.toml does not grant network\.serve \(add network\.serve = true to its \[capabilities\]\)$/m,
    );
  });
});

describe("subscriptions of HTTP handlers", () => {
  test("sse_forward of a topic outside messages.subscribe is denied and audited; a granted one streams", async () => {
    copyFileSync(examplePath("http_hello"), join(dir, "http_hello.wasm"));
    writeFileSync(
      join(dir, "serve-only.toml"),
      '[capabilities]\nnetwork.serve = true\nmessages.subscribe = ["public/*"]\nmessages.publish = ["*"]\n',
    );
    const node = startNx(
      [
        "run",
        join(dir, "http_hello.wasm"),
        "--datastore-path",
        join(dir, "data-sse"),
        "--serve",
        "127.0.0.1:0",
        "--policy",
        join(dir, "serve-only.toml"),
      ],
      DENY,
    );
    try {
      const base = (await node.waitFor(/serving HTTP url=(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
      // Denied: the handler's sse_forward answers -3, so it returns and the stream ends at once.
      const denied = await fetch(`${base}/topics/secret/room`);
      assert.equal(denied.status, 200);
      assert.equal(await denied.text(), "");
      await node.waitFor(
        /policy denied sse_forward: messages\.subscribe "secret\/room" is not granted to module http_hello/,
      );
      // Granted: the stream stays open and carries a message published on the topic.
      const controller = new AbortController();
      const granted = await fetch(`${base}/topics/public/news`, { signal: controller.signal });
      const reader = granted.body!.getReader();
      let text = "";
      const published = await fetch(`${base}/publish/public/news`, { method: "POST", body: "hi" });
      assert.equal(published.status, 204);
      while (!text.includes("data: hi")) {
        const { value, done } = await reader.read();
        assert.equal(done, false, `stream ended early: ${text}`);
        text += new TextDecoder().decode(value);
      }
      controller.abort();
    } finally {
      assert.equal((await stopNx(node)).code, 0, node.stderr());
    }
  });
});

describe("nx policy validate and diff", () => {
  test("validate: ok per good file, one line naming file and key per bad one, exit 2", async () => {
    writeFileSync(join(dir, "good.toml"), '[capabilities]\ndb.read = ["a/*"]\n');
    writeFileSync(join(dir, "bad.toml"), '[capabilities]\ndb.raed = ["a/*"]\n');
    writeFileSync(join(dir, "broken.toml"), "[capabilities\n");
    const result = await nx(["policy", "validate", "good.toml", "bad.toml", "broken.toml"]);
    assert.equal(result.code, EXIT_USAGE);
    const lines = result.stdout.split("\n");
    assert.equal(lines[0], "good.toml: ok");
    assert.equal(lines[1], "bad.toml: capabilities.db.raed: unknown capability; did you mean db.read?");
    assert.match(lines[2]!, /^broken\.toml:1:\d+: not valid TOML: /);
    assert.equal((await nx(["policy", "validate", "good.toml"])).code, EXIT_OK);
  });

  test("diff: the grants the new policy adds and removes; exit 1 when they differ", async () => {
    writeFileSync(
      join(dir, "old.toml"),
      '[capabilities]\ndb.read = ["a/*"]\ntime = true\n[quotas]\nops_per_sec = 100\n',
    );
    writeFileSync(
      join(dir, "new.toml"),
      '[capabilities]\ndb.read = ["a/*", "b/*"]\nnet.peers = true\n[quotas]\nops_per_sec = 50\n',
    );
    const result = await nx(["policy", "diff", "old.toml", "new.toml"]);
    assert.equal(result.code, EXIT_RUN_FAILED);
    assert.equal(
      result.stdout,
      '+ db.read "b/*"\n+ net.peers true\n- quotas.ops_per_sec 100\n+ quotas.ops_per_sec 50\n- time true\n',
    );
    const same = await nx(["policy", "diff", "old.toml", "old.toml"]);
    assert.equal(same.code, EXIT_OK);
    assert.equal(same.stdout, "the policies grant the same\n");
  });
});

describe("signed policies", () => {
  test("a node that requires signatures refuses unsigned and tampered policies and runs signed ones", async () => {
    const ca = join(dir, "pki-ca");
    const node = join(dir, "pki-node");
    nxCert(["ca", "--out", ca]);
    nxCert(["node", "--ca-dir", ca, "--name", "operator", "--out", node]);
    await writeFixture(dir, "db-write");
    const policy = join(dir, "db-write.policy.toml");
    writeFileSync(policy, '[capabilities]\ndb.write = ["greeting"]\n');
    const tls = [
      "--tls-cert",
      join(node, "node.crt"),
      "--tls-key",
      join(node, "node.key"),
      "--tls-ca",
      join(ca, "ca.crt"),
    ];
    const run = () =>
      nx(["run", "db-write.wasm", "--datastore-path", "data-signed", "--policy-require-signatures", ...tls]);

    const unsigned = await run();
    assert.equal(unsigned.code, EXIT_USAGE);
    assert.equal(
      unsigned.stderr,
      `nx: error: policy db-write.policy.toml is not signed (no db-write.policy.toml.sig; nx policy sign db-write.policy.toml writes it); the node requires signed policies\n`,
    );

    const sign = await nx([
      "policy",
      "sign",
      "db-write.policy.toml",
      "--key",
      join(node, "node.key"),
      "--cert",
      join(node, "node.crt"),
    ]);
    assert.equal(sign.code, EXIT_OK, sign.stderr);
    const signed = await run();
    assert.equal(signed.code, EXIT_OK, signed.stderr);

    writeFileSync(policy, '[capabilities]\ndb.write = ["*"]\n');
    const tampered = await run();
    assert.equal(tampered.code, EXIT_USAGE);
    assert.match(
      tampered.stderr,
      /^nx: error: policy db-write\.policy\.toml: the signature does not match the file: it changed after it was signed/,
    );

    // Inline policies cannot carry a signature.
    writeFileSync(
      join(dir, "inline.toml"),
      '[modules.db-write.policy.capabilities]\ndb.write = ["greeting"]\n',
    );
    rmSync(policy);
    const inline = await nx([
      "run",
      "db-write.wasm",
      "--datastore-path",
      "data-signed",
      "--config",
      "inline.toml",
      "--policy-require-signatures",
      ...tls,
    ]);
    assert.equal(inline.code, EXIT_USAGE);
    assert.match(inline.stderr, /an inline policy cannot be signed/);
  });
});

describe("many modules per node: [[modules]] in numax.toml", () => {
  test("nx run --config starts the listed modules, each in its own namespace; one failing stops neither the node nor the others", async () => {
    const code = join(dir, "listed");
    mkdirSync(code);
    copyFileSync(examplePath("kv_get_set_delete"), join(code, "kv_get_set_delete.wasm"));
    await writeFixture(code, "db-write");
    // The same code twice under two ids: with one shared keyspace each would delete and list
    // the other's fruit/* keys; in their namespaces both print exactly what they wrote.
    writeFileSync(
      join(code, "numax.toml"),
      [
        "[[modules]]",
        'path = "kv_get_set_delete.wasm"',
        'id = "fruit_a"',
        'policy = { capabilities = { db = { read = ["*"], write = ["*"] } } }',
        "",
        "[[modules]]",
        'path = "kv_get_set_delete.wasm"',
        'id = "fruit_b"',
        'policy = { capabilities = { db = { read = ["*"], write = ["*"] } } }',
        "",
        "[[modules]]",
        'path = "db-write.wasm"',
        'policy = { capabilities = { db = { write = ["/other/*"] } } }',
        "",
      ].join("\n"),
    );
    const result = await nx(["run", "--config", join(code, "numax.toml"), "--datastore-path", "data-listed"]);
    // db-write's denied db_set traps it: the run reports it, and the other two ran to the end.
    assert.equal(result.code, EXIT_RUN_FAILED, result.stderr);
    assert.match(
      result.stderr,
      /policy denied db_set: db\.write "db-write\/greeting" is not granted to module db-write/,
    );
    for (const id of ["fruit_a", "fruit_b"]) {
      assert.match(
        result.stderr,
        new RegExp(`guest\\.${id}: keys under fruit/: fruit/apple, fruit/banana, fruit/cherry`),
      );
      assert.match(result.stderr, new RegExp(`guest\\.${id}: cleaned up; keys under fruit/: 0`));
    }
  });

  test("[[modules]] entries are checked like [modules.<id>] tables, and a module id given twice is refused", async () => {
    const code = join(dir, "listed-bad");
    mkdirSync(code);
    await writeFixture(code, "db-write");
    writeFileSync(
      join(code, "numax.toml"),
      '[[modules]]\npath = "db-write.wasm"\ntick = "fast"\n\n[[modules]]\nid = "x"\n',
    );
    const bad = await nx(["run", "--config", join(code, "numax.toml")]);
    assert.equal(bad.code, EXIT_USAGE);
    assert.match(bad.stderr, /modules\[0\]\.tick/);
    assert.match(
      bad.stderr,
      /modules\[1\]\.path \(.*numax\.toml\): every \[\[modules\]\] entry needs path = "<module>\.wasm"/,
    );
    writeFileSync(join(code, "numax.toml"), '[[modules]]\npath = "db-write.wasm"\n');
    const twice = await nx(["run", join(code, "db-write.wasm"), "--config", join(code, "numax.toml")], {
      NX_POLICY_DEFAULT: "trusted",
    });
    assert.equal(twice.code, EXIT_USAGE, twice.stderr);
    assert.match(twice.stderr, /module id db-write is given twice/);
    const nothing = await nx(["run"]);
    assert.equal(nothing.code, EXIT_USAGE);
    assert.match(nothing.stderr, /nothing to run: name a module \(nx run app\.wasm\) or list modules in/);
  });
});
