/**
 * The runtime as npm ships it: `npm pack` of this repository, and an install of that tarball into
 * an empty directory. Used by the executable's build (scripts/build-executable.ts) and by
 * test/install/installed-package.test.ts.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const REPO_ROOT = new URL("../", import.meta.url).pathname;
/** Packing and an install from the npm cache take a few seconds; a cold registry fetch longer. */
export const NPM_TIMEOUT_MS = 120_000;

/**
 * Packs the runtime into `destination` and returns the tarball's path. Skips the `prepare`
 * rebuild: the bundle in build/cli/ is packed as `npm ci`, `npm test` or `npm run build:cli` left
 * it, so that no bundle is replaced under tests running in parallel.
 */
export function packRuntime(destination: string): string {
  const packed = JSON.parse(
    execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", destination], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      timeout: NPM_TIMEOUT_MS,
    }),
  ) as { filename: string }[];
  return join(destination, packed[0]!.filename);
}

/**
 * `npm install <tarball>` into the new directory `project` (with `global`: `npm install --global`
 * with `project` as the global prefix, the command in `project/bin/`), from the local npm cache alone
 * (`--offline`) when it holds every package document; else `--prefer-offline`: tarballs from the
 * cache, package documents the cache lacks from the registry (after which `--offline` works).
 * Returns the mode that worked; throws with npm's output when neither did.
 */
export function installPackedRuntime(
  project: string,
  tarball: string,
  env: NodeJS.ProcessEnv = process.env,
  { global = false }: { global?: boolean } = {},
): "--offline" | "--prefer-offline" {
  mkdirSync(project, { recursive: true });
  const install = (mode: string) =>
    spawnSync(
      "npm",
      [
        "install",
        mode,
        ...(global ? ["--global", "--prefix", project] : []),
        "--no-audit",
        "--no-fund",
        tarball,
      ],
      {
        cwd: project,
        env,
        encoding: "utf8",
        timeout: NPM_TIMEOUT_MS,
      },
    );
  const offline = install("--offline");
  if (offline.status === 0) return "--offline";
  if (!offline.stderr.includes("ENOTCACHED"))
    throw new Error(`npm install --offline failed:\n${offline.stderr}`);
  const preferOffline = install("--prefer-offline");
  if (preferOffline.status !== 0)
    throw new Error(`npm install --prefer-offline failed:\n${preferOffline.stderr}`);
  return "--prefer-offline";
}
