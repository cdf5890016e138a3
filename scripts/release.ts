/**
 * `npm run release [-- --key signer.key --cert signer.crt]`: builds a release into dist/, which
 * then holds exactly
 *   numax-<version>.tgz   the runtime package (npm pack), carrying build/provenance.json
 *   numax-<platform>-<arch>  the standalone executable, built from that package
 *   sbom.cdx.json         CycloneDX SBOM of the package's dependencies (@cyclonedx/cyclonedx-npm)
 *   SHA256SUMS            their SHA-256 (`sha256sum -c SHA256SUMS` inside dist/)
 * and, with --key and --cert (a key and certificate from `nx cert`), SHA256SUMS.sig, which
 * `numax verify dist --ca ca.crt` checks. docs/releases.md describes the release and its workflow.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { signDetached } from "../src/net/pki/detached-signature.ts";
import {
  CHECKSUMS_FILE,
  CHECKSUMS_SIGNATURE_FILE,
  formatChecksums,
  sha256OfFile,
} from "../src/release/checksums.ts";
import { PROVENANCE_FORMAT, PROVENANCE_PATH, type Provenance } from "../src/release/provenance.ts";
import { ReleaseError } from "../src/release/release-error.ts";
import { buildExecutable } from "./build-executable.ts";
import { NPM_TIMEOUT_MS, packRuntime } from "./packed-runtime.ts";

const REPO_ROOT = new URL("../", import.meta.url).pathname;
export const SBOM_FILE = "sbom.cdx.json";
/** The tools whose versions the provenance record names (beside node and npm). */
const TOOLCHAIN_PACKAGES = ["esbuild", "typescript", "assemblyscript", "@cyclonedx/cyclonedx-npm"];
/**
 * Executables a release names beyond this platform's: each is built by `npm run build:executable`
 * on that platform (LMDB's native addon is the platform's own); macOS's also needs `codesign`.
 */
export const OTHER_EXECUTABLE_TARGETS = ["linux-arm64", "darwin-x64", "darwin-arm64", "win32-x64"];

function run(command: string, args: readonly string[]): string {
  try {
    return execFileSync(command, args, { cwd: REPO_ROOT, encoding: "utf8", timeout: NPM_TIMEOUT_MS }).trim();
  } catch (error) {
    throw new ReleaseError(
      "RELEASE_BUILD_FAILED",
      `${command} ${args.join(" ")} failed: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

function packageVersion(name: string): string {
  return (
    JSON.parse(readFileSync(join(REPO_ROOT, "node_modules", name, "package.json"), "utf8")) as {
      version: string;
    }
  ).version;
}

/** The provenance record of a build of the checkout now (src/release/provenance.ts). */
export function describeBuild(now: Date): Provenance {
  const { name, version } = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
    name: string;
    version: string;
  };
  return {
    format: PROVENANCE_FORMAT,
    name,
    version,
    commit: run("git", ["rev-parse", "HEAD"]),
    commitDate: run("git", ["show", "-s", "--format=%cI", "HEAD"]),
    treeClean: run("git", ["status", "--porcelain", "--untracked-files=no"]) === "",
    buildCommand: "npm run release",
    builtAt: now.toISOString(),
    platform: `${process.platform}-${process.arch}`,
    toolchain: {
      node: process.version,
      npm: run("npm", ["--version"]),
      ...Object.fromEntries(TOOLCHAIN_PACKAGES.map((name) => [name, packageVersion(name)])),
    },
  };
}

/** Writes the SBOM of the runtime's production dependencies (dev tools are not shipped). */
export function writeSbom(output: string): void {
  const cli = join(REPO_ROOT, "node_modules/@cyclonedx/cyclonedx-npm/bin/cyclonedx-npm-cli.js");
  run(process.execPath, [
    cli,
    "--omit",
    "dev",
    "--output-reproducible",
    "--output-format",
    "JSON",
    "--output-file",
    output,
  ]);
}

/** The checksum file's text for `files` (names inside `dir`). */
export function checksumsOf(dir: string, files: readonly string[]): string {
  return formatChecksums(files.map((name) => ({ name, sha256: sha256OfFile(join(dir, name)) })));
}

export interface ReleaseOptions {
  readonly dist: string;
  /** The signer's key and certificate (from `nx cert`); without them the checksums are unsigned. */
  readonly signer?: { readonly keyPem: string; readonly certPem: string };
  readonly now: Date;
}

/** Builds the release into `dist` (emptied first); returns the files written. */
export function buildRelease({ dist, signer, now }: ReleaseOptions): string[] {
  const provenance = describeBuild(now);
  run(process.execPath, ["scripts/build-cli.ts"]);
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(dist, { recursive: true });
  // The record goes into the package only: a checkout's own build/ keeps none, so `nx version`
  // in a checkout never reports a release it is not.
  const provenancePath = join(REPO_ROOT, PROVENANCE_PATH);
  writeFileSync(provenancePath, `${JSON.stringify(provenance, null, 2)}\n`);
  let tarball: string;
  try {
    tarball = packRuntime(dist);
  } finally {
    rmSync(provenancePath, { force: true });
  }
  const executable = `numax-${provenance.platform}`;
  buildExecutable(join(dist, executable), tarball);
  writeSbom(join(dist, SBOM_FILE));
  const files = [basename(tarball), executable, SBOM_FILE];
  const checksums = checksumsOf(dist, files);
  writeFileSync(join(dist, CHECKSUMS_FILE), checksums);
  if (signer === undefined) return [...files, CHECKSUMS_FILE];
  const signature = signDetached(Buffer.from(checksums), signer.keyPem, signer.certPem, (why) => {
    throw new ReleaseError("RELEASE_BUILD_FAILED", `cannot sign ${CHECKSUMS_FILE}: ${why}`);
  });
  writeFileSync(join(dist, CHECKSUMS_SIGNATURE_FILE), signature);
  return [...files, CHECKSUMS_FILE, CHECKSUMS_SIGNATURE_FILE];
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      out: { type: "string", default: "dist" },
      key: { type: "string" },
      cert: { type: "string" },
    },
  });
  if ((values.key === undefined) !== (values.cert === undefined)) {
    process.stderr.write("release: error: --key and --cert go together (the signer's pair from nx cert)\n");
    process.exit(2);
  }
  const started = performance.now();
  const dist = resolve(values.out);
  const signer =
    values.key === undefined || values.cert === undefined
      ? undefined
      : { keyPem: readFileSync(values.key, "utf8"), certPem: readFileSync(values.cert, "utf8") };
  try {
    const files = buildRelease({ dist, signer, now: new Date() });
    for (const name of files) {
      process.stdout.write(`${name} (${statSync(join(dist, name)).size} bytes)\n`);
    }
    process.stdout.write(
      `release: ${dist} in ${Math.round(performance.now() - started)} ms${signer === undefined ? " (unsigned: pass --key and --cert to sign SHA256SUMS)" : ""}\n` +
        `other executables: ${OTHER_EXECUTABLE_TARGETS.map((t) => `numax-${t}`).join(", ")}: npm run build:executable on that platform (docs/install.md)\n`,
    );
  } catch (error) {
    if (!(error instanceof ReleaseError)) throw error;
    process.stderr.write(`release: error: ${error.message}\n`);
    process.exit(1);
  }
}
