/**
 * scripts/build-guests.ts on a scratch tree (--root): builds what changed, skips what did not,
 * and fails with the compiler's message on a broken guest.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { clangCanTargetWasm, REPO, readBytes, wasm } from "./guest-files.ts";

const GOOD = `import { log } from "../../../sdk/assemblyscript/assembly";
export function run(): void {
  log.info("good");
}
`;

const BROKEN = `export function run(): void {
  const count: i32 = "not a number";
}
`;

let root: string;

function build(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(
    process.execPath,
    [join(REPO, "scripts/build-guests.ts"), "--root", root, ...args],
    {
      encoding: "utf8",
      timeout: 120_000,
    },
  );
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function writeGuest(name: string, source: string): void {
  mkdirSync(join(root, "examples", name, "assembly"), { recursive: true });
  writeFileSync(join(root, "examples", name, "assembly/index.ts"), source);
}

describe("scripts/build-guests.ts", () => {
  before(() => {
    root = mkdtempSync(join(tmpdir(), "nx-build-guests-"));
    for (const path of ["asconfig.json", "asconfig.base.json", "assembly"]) {
      cpSync(join(REPO, "sdk/assemblyscript", path), join(root, "sdk/assemblyscript", path), {
        recursive: true,
      });
    }
    cpSync(join(REPO, "sdk/c"), join(root, "sdk/c"), { recursive: true });
    writeGuest("good", GOOD);
    writeGuest("broken", BROKEN);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test("a compile error fails the build with the compiler's message; the other guests still build", () => {
    const result = build();
    assert.equal(result.status, 1);
    assert.match(result.stderr, /broken\s+FAILED to compile examples\/broken\/assembly\/index\.ts:/);
    assert.match(result.stderr, /ERROR TS2322: Type '~lib\/string\/String' is not assignable to type 'i32'/);
    assert.match(result.stderr, /1 guest\(s\) failed to compile: broken/);
    assert.ok(!existsSync(join(root, "examples/broken/build/broken.wasm")));
    assert.match(
      result.stdout,
      /good\s+built examples\/good\/build\/good\.wasm \(\d+(\.\d)? (B|KiB)\) in \d+ ms/,
    );
    assert.ok(existsSync(join(root, "examples/good/build/good.wasm")));
  });

  test("nothing changed: nothing is built", () => {
    rmSync(join(root, "examples/broken"), { recursive: true });
    const result = build();
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^guests: 0 built, 1 up to date in \d+\.\d\d s\n$/);
  });

  test("a changed SDK file or a deleted output rebuilds", () => {
    appendFileSync(join(root, "sdk/assemblyscript/assembly/log.ts"), "\n// changed\n");
    assert.match(build().stdout, /guests: 1 built, 0 up to date/);
    assert.match(build().stdout, /guests: 0 built, 1 up to date/);

    rmSync(join(root, "examples/good/build/good.wasm"));
    assert.match(build().stdout, /guests: 1 built, 0 up to date/);
  });

  test("a C test guest without run (a reactive module) builds from test/guests", {
    skip: !clangCanTargetWasm(),
  }, () => {
    mkdirSync(join(root, "test/guests"), { recursive: true });
    writeFileSync(
      join(root, "test/guests/c_reactive.c"),
      '#include "nx.h"\nNX_EXPORT(on_tick) void on_tick(void) { nx_log(NX_LOG_INFO, "tick"); }\n',
    );
    const result = build("c_reactive");
    assert.equal(result.status, 0, result.stderr);
    const module = new wasm.Module(readBytes(join(root, "test/guests/build/c_reactive.wasm")));
    assert.deepEqual(
      wasm.Module.exports(module)
        .map((entry) => entry.name)
        .sort(),
      ["memory", "on_tick"],
    );
  });

  test("unknown guest names and options are refused with one line", () => {
    const unknown = build("nope");
    assert.equal(unknown.status, 2);
    assert.equal(unknown.stderr, "build-guests: no guest named nope\n");
    const option = build("--fast");
    assert.equal(option.status, 2);
    assert.equal(option.stderr, "build-guests: unknown option --fast (known: --force, --root DIR)\n");
  });
});
