import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * How a released package was built, written by `npm run release` (scripts/release.ts) into the
 * package as `build/provenance.json` and reported by `numax version --json`: the executable
 * carries the same package, so it reports the same record.
 *
 * @example
 * { "format": 1, "name": "numax", "version": "0.1.0", "commit": "529a603…", "commitDate":
 *   "2026-12-06T10:20:00Z", "treeClean": true, "buildCommand": "npm run release", "builtAt": "…",
 *   "platform": "linux-x64", "toolchain": { "node": "v26.10.0", "npm": "11.19.1", … } }
 */
export interface Provenance {
  readonly format: number;
  readonly name: string;
  readonly version: string;
  /** The git commit the release was built from. */
  readonly commit: string;
  readonly commitDate: string;
  /** False when the work tree had changes the commit does not hold. */
  readonly treeClean: boolean;
  readonly buildCommand: string;
  readonly builtAt: string;
  /** `<platform>-<arch>` of the build, which is the executable's and the native addon's. */
  readonly platform: string;
  /** Versions of the tools that built it: node, npm, esbuild, typescript, assemblyscript, the SBOM tool. */
  readonly toolchain: Readonly<Record<string, string>>;
}

export const PROVENANCE_FORMAT = 1;
/** Where the record sits, relative to the package's root. */
export const PROVENANCE_PATH = "build/provenance.json";

/**
 * The root of the package this code runs from: the nearest directory above it holding a
 * package.json (the checkout from src/cli/, the installed package from build/cli/).
 */
function packageRoot(from: string = fileURLToPath(import.meta.url)): string {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir;
    if (dirname(dir) === dir) return dirname(from);
  }
}

/** The record of the running package, or null when it was not built by `npm run release`. */
export function readProvenance(root: string = packageRoot()): Provenance | null {
  try {
    return JSON.parse(readFileSync(join(root, PROVENANCE_PATH), "utf8")) as Provenance;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

/** What `numax version --json` prints. */
export interface VersionReport {
  readonly name: "numax";
  readonly version: string;
  /** The Node.js running it (the executable's own for the standalone executable). */
  readonly node: string;
  readonly platform: string;
  /** True in the standalone executable. */
  readonly executable: boolean;
  readonly provenance: Provenance | null;
}

export function versionReport(
  version: string,
  provenance: Provenance | null,
  executable: boolean,
): VersionReport {
  return {
    name: "numax",
    version,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    executable,
    provenance,
  };
}

/** `numax version`'s line. */
export function formatVersion(report: VersionReport): string {
  const build =
    report.provenance === null
      ? "not a release build: no provenance record"
      : `commit ${report.provenance.commit.slice(0, 12)}${report.provenance.treeClean ? "" : " with local changes"}, built ${report.provenance.builtAt} by ${report.provenance.buildCommand}`;
  const runtime = `${report.executable ? "standalone executable, " : ""}node ${report.node}, ${report.platform}`;
  return `numax ${report.version} (${build}; ${runtime})`;
}
