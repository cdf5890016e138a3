#!/usr/bin/env node
// Writes test/fixtures/releases/<version>/, the previous release the rolling-upgrade test
// (test/rolling-upgrade.test.ts) runs next to this build, from that release's commit:
//
//   node scripts/build-release-fixture.ts            Numax 0.1.0 (RELEASES below)
//   node scripts/build-release-fixture.ts --check    build it again and compare with the committed files
//
// It checks the commit out into a throwaway git worktree, runs `npm ci` there (which installs
// that commit's toolchain and runs its own build: guests and the CLI bundle), and copies only
// what runs the release: the CLI bundle's JavaScript (no source maps; `build/` is git-ignored,
// so it goes to `bundle/`), the load guest the test runs, a package.json with the release's
// version and runtime dependencies, and an entry `nx.js`. The bundle imports its runtime packages
// by name, so they resolve from this repository's node_modules: the release's dependency ranges
// must have the majors installed here (checked here and by the test).
import { execFileSync } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Releases the repository has tests against. It has no release tags: 0.1.0 is the last commit
 * before the first issue's work landed (the next commit, 8ad2627 on 2026-12-06, starts the
 * commit thread), when package.json said 0.1.0 and the CHANGELOG had only that line's entries.
 */
const RELEASES = { "0.1.0": "ef439092eb05c18f152e3ddd06e3e4db79b6a037" } as const;
type Release = keyof typeof RELEASES;

/** Guests of the release the test runs: [path in its tree, name in the fixture]. */
const GUESTS = [["bench/guests/counter_load/build/counter_load.wasm", "counter_load.wasm"]] as const;

const ENTRY = `#!/usr/bin/env node
// Numax RELEASE's \`nx\`, from its CLI bundle (bundle/cli/ is that release's build/cli/). Its
// runtime packages resolve from the node_modules above this directory. Written by
// scripts/build-release-fixture.ts.
process.getBuiltinModule("node:module").enableCompileCache();
const { main } = await import("./bundle/cli/main.js");
process.exitCode = await main(process.argv);
`;

function run(command: string, args: readonly string[], cwd: string): string {
  return execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
}

/** Builds `release` into `out` (created; must not exist). */
function buildReleaseFixture(release: Release, out: string): void {
  const scratch = mkdtempSync(join(tmpdir(), "nx-release-fixture-"));
  const tree = join(scratch, "tree");
  run("git", ["worktree", "add", "--detach", tree, RELEASES[release]], REPO);
  try {
    // That commit's npm ci: its lockfile, its Node, its `prepare` (guests and the CLI bundle).
    run("npm", ["ci", "--no-audit", "--no-fund"], tree);
    const manifest = JSON.parse(readFileSync(join(tree, "package.json"), "utf8")) as {
      version: string;
      dependencies: Record<string, string>;
    };
    if (manifest.version !== release) throw new Error(`commit ${RELEASES[release]} is ${manifest.version}`);
    mkdirSync(join(out, "bundle/cli"), { recursive: true });
    for (const name of readdirSync(join(tree, "build/cli"))
      .filter((n) => n.endsWith(".js"))
      .sort()) {
      copyFileSync(join(tree, "build/cli", name), join(out, "bundle/cli", name));
    }
    mkdirSync(join(out, "guests"));
    for (const [from, to] of GUESTS) copyFileSync(join(tree, from), join(out, "guests", to));
    const imported = importedPackages(join(out, "bundle/cli"));
    const undeclared = imported.filter((name) => manifest.dependencies[name] === undefined);
    if (undeclared.length > 0) throw new Error(`the bundle imports undeclared ${undeclared.join(", ")}`);
    const fixtureManifest = {
      name: "numax-release-fixture",
      version: manifest.version,
      private: true,
      type: "module",
      commit: RELEASES[release],
      // The packages the bundle imports, with the ranges the release declared for them.
      dependencies: Object.fromEntries(imported.map((name) => [name, manifest.dependencies[name]])),
    };
    writeFileSync(join(out, "package.json"), `${JSON.stringify(fixtureManifest, null, 2)}\n`);
    writeFileSync(join(out, "nx.js"), ENTRY.replace("RELEASE", release), { mode: 0o755 });
  } finally {
    run("git", ["worktree", "remove", "--force", tree], REPO);
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Packages the bundle in `dir` imports by name (static, dynamic, side-effect or required). */
function importedPackages(dir: string): string[] {
  const names = new Set<string>();
  for (const file of readdirSync(dir)) {
    const source = readFileSync(join(dir, file), "utf8");
    for (const [, specifier] of source.matchAll(
      /(?:from |import |import\(|require\d*\(|\)\()"([^".][^"]*)"/g,
    )) {
      if (specifier!.startsWith("node:")) continue;
      const parts = specifier!.split("/");
      names.add(specifier!.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!);
    }
  }
  return [...names].sort();
}

/** The release's dependencies whose major is not the one installed in this repository. */
export function mismatchedMajors(fixture: string): string[] {
  const { dependencies } = JSON.parse(readFileSync(join(fixture, "package.json"), "utf8")) as {
    dependencies: Record<string, string>;
  };
  const major = (version: string) => version.replace(/^[\^~]/, "").split(".")[0];
  return Object.entries(dependencies).flatMap(([name, range]) => {
    let installed: string;
    try {
      installed = (
        JSON.parse(readFileSync(join(REPO, "node_modules", name, "package.json"), "utf8")) as {
          version: string;
        }
      ).version;
    } catch {
      return [`${name} ${range}: not installed`];
    }
    return major(range) === major(installed) ? [] : [`${name} ${range}: ${installed} installed`];
  });
}

/** Every file under `dir`, relative, sorted. */
function listFiles(dir: string, prefix = ""): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true })
    .flatMap((entry) =>
      entry.isDirectory() ? listFiles(dir, join(prefix, entry.name)) : [join(prefix, entry.name)],
    )
    .sort();
}

if (import.meta.main) {
  const check = process.argv.includes("--check");
  for (const release of Object.keys(RELEASES) as Release[]) {
    const committed = join(REPO, "test/fixtures/releases", release);
    const out = check ? join(mkdtempSync(join(tmpdir(), "nx-release-check-")), release) : committed;
    if (!check) {
      // Only the generated files: the README beside them is written by hand.
      for (const generated of ["bundle", "guests", "package.json", "nx.js"]) {
        rmSync(join(committed, generated), { recursive: true, force: true });
      }
    }
    buildReleaseFixture(release, out);
    const mismatched = mismatchedMajors(out);
    if (mismatched.length > 0) {
      process.stderr.write(
        `release ${release}: runtime packages of another major: ${mismatched.join("; ")}\n`,
      );
      process.exitCode = 1;
    }
    if (check) {
      const built = listFiles(out);
      const differing = listFiles(committed)
        .filter((f) => f !== "README.md")
        .filter(
          (f) => !built.includes(f) || !readFileSync(join(out, f)).equals(readFileSync(join(committed, f))),
        );
      const missing = built.filter((f) => !listFiles(committed).includes(f));
      if (differing.length + missing.length > 0) {
        process.stderr.write(
          `release ${release}: differs from the committed fixture: ${[...differing, ...missing].join(", ")}\n`,
        );
        process.exitCode = 1;
      } else {
        process.stdout.write(`release ${release}: the committed fixture is reproduced byte for byte\n`);
      }
      rmSync(dirname(out), { recursive: true, force: true });
    } else {
      process.stdout.write(`release ${release}: wrote ${committed}\n`);
    }
  }
}
