/**
 * The pieces of `npm run release` (scripts/release.ts), each as the release runs it: the
 * provenance record and `numax version --json` of a package carrying it, the SBOM, the checksums
 * with `sha256sum -c`, their signature and `numax verify`. The whole release (about 30 s, most of
 * it the executable) runs in .ci/run.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { appendFileSync, cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { checksumsOf, describeBuild, SBOM_FILE, writeSbom } from "../../scripts/release.ts";
import { signDetached } from "../../src/net/pki/detached-signature.ts";
import { CHECKSUMS_FILE, CHECKSUMS_SIGNATURE_FILE } from "../../src/release/checksums.ts";
import { PROVENANCE_PATH, type VersionReport } from "../../src/release/provenance.ts";
import { NX_BIN, nxCert, REPO_ROOT, tempDir } from "../helpers/nx-process.ts";

const root = tempDir("nx-release-");
after(() => root.remove());

const manifest = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

function nx(args: readonly string[], cwd = root.path) {
  return spawnSync(process.execPath, [NX_BIN, ...args], { cwd, encoding: "utf8", timeout: 60_000 });
}

describe("npm run release, piece by piece", { timeout: 120_000 }, () => {
  test("numax version --json of a package carrying the provenance record reports that record", () => {
    const provenance = describeBuild(new Date("2026-12-06T10:00:00Z"));
    assert.equal(
      provenance.commit,
      execFileSync("git", ["rev-parse", "HEAD"], { cwd: REPO_ROOT, encoding: "utf8" }).trim(),
    );
    assert.equal(provenance.version, manifest.version);
    assert.equal(provenance.toolchain.node, process.version);
    assert.match(provenance.toolchain["@cyclonedx/cyclonedx-npm"] ?? "", /^\d+\.\d+\.\d+/);
    // The package as npm installs it: the bin, the bundle, package.json and the record; no sources.
    const installed = join(root.path, "installed");
    mkdirSync(join(installed, "bin"), { recursive: true });
    cpSync(join(REPO_ROOT, "bin/nx.js"), join(installed, "bin/nx.js"));
    cpSync(join(REPO_ROOT, "build/cli"), join(installed, "build/cli"), { recursive: true });
    cpSync(join(REPO_ROOT, "package.json"), join(installed, "package.json"));
    symlinkSync(join(REPO_ROOT, "node_modules"), join(installed, "node_modules"));
    writeFileSync(join(installed, PROVENANCE_PATH), JSON.stringify(provenance));
    const run = spawnSync(process.execPath, [join(installed, "bin/nx.js"), "version", "--json"], {
      encoding: "utf8",
    });
    assert.equal(run.status, 0, run.stderr);
    const report = JSON.parse(run.stdout) as VersionReport;
    assert.deepEqual(report.provenance, provenance);
    assert.equal(report.version, manifest.version);
    assert.equal(report.executable, false);
    // A checkout is no release: it says so rather than inventing a record.
    const checkout = nx(["version", "--json"]);
    assert.equal((JSON.parse(checkout.stdout) as VersionReport).provenance, null);
    assert.match(
      nx(["version"]).stdout,
      /^numax \d+\.\d+\.\d+ \(not a release build: no provenance record; node v26/,
    );
  });

  test("the SBOM is CycloneDX naming the package and every runtime dependency, no development tool", () => {
    const sbomPath = join(root.path, SBOM_FILE);
    writeSbom(sbomPath);
    const sbom = JSON.parse(readFileSync(sbomPath, "utf8")) as {
      bomFormat: string;
      specVersion: string;
      metadata: { component: { name: string; version: string } };
      components: { name: string; group?: string; version: string; purl: string }[];
    };
    assert.equal(sbom.bomFormat, "CycloneDX");
    assert.equal(sbom.specVersion, "1.6");
    assert.deepEqual(
      [sbom.metadata.component.name, sbom.metadata.component.version],
      ["numax", manifest.version],
    );
    const names = new Set(sbom.components.map((c) => (c.group ? `${c.group}/${c.name}` : c.name)));
    for (const dependency of Object.keys(manifest.dependencies)) assert.ok(names.has(dependency), dependency);
    for (const tool of ["typescript", "esbuild", "@biomejs/biome", "@cyclonedx/cyclonedx-npm"]) {
      assert.equal(names.has(tool), false, tool);
    }
    for (const component of sbom.components) assert.match(component.purl, /^pkg:npm\//);
  });

  test("signed checksums pass sha256sum -c and numax verify; a changed file fails in one line", () => {
    const dist = join(root.path, "dist");
    mkdirSync(dist);
    writeFileSync(join(dist, "numax-0.1.0.tgz"), "package bytes");
    writeFileSync(join(dist, "numax-linux-x64"), Buffer.alloc(2 * 1024 * 1024, 7));
    const checksums = checksumsOf(dist, ["numax-0.1.0.tgz", "numax-linux-x64"]);
    writeFileSync(join(dist, CHECKSUMS_FILE), checksums);
    // The signer as the release docs make it: a release CA, and a signing certificate it issued.
    const ca = join(root.path, "release-ca");
    const signer = join(root.path, "signer");
    nxCert(["ca", "--out", ca, "--name", "Numax release CA"]);
    nxCert(["node", "--ca-dir", ca, "--name", "release signer", "--out", signer]);
    const signature = signDetached(
      Buffer.from(checksums),
      readFileSync(join(signer, "node.key"), "utf8"),
      readFileSync(join(signer, "node.crt"), "utf8"),
      (why) => assert.fail(why),
    );
    writeFileSync(join(dist, CHECKSUMS_SIGNATURE_FILE), signature);
    const check = spawnSync("sha256sum", ["-c", CHECKSUMS_FILE], { cwd: dist, encoding: "utf8" });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    const verify = nx(["verify", dist, "--ca", join(ca, "ca.crt")]);
    assert.equal(verify.status, 0, verify.stderr);
    assert.equal(
      verify.stdout,
      "numax-0.1.0.tgz: OK\nnumax-linux-x64: OK\nverified 2 files of SHA256SUMS, signed by CN=release signer\n",
    );
    const missingCa = nx(["verify", dist, "--ca", join(root.path, "nope.crt")]);
    assert.equal(missingCa.status, 2);
    assert.match(
      missingCa.stderr,
      /^nx: error: .*nope\.crt: no such file; --ca names the release CA's certificate\n$/,
    );
    appendFileSync(join(dist, "numax-linux-x64"), "x");
    const tampered = nx(["verify", dist, "--ca", join(ca, "ca.crt")]);
    assert.equal(tampered.status, 1);
    assert.match(
      tampered.stderr,
      /^nx: error: .*numax-linux-x64: its SHA-256 is [0-9a-f]{64}, SHA256SUMS says [0-9a-f]{64}; the file changed or is incomplete: download it again\n$/,
    );
  });
});
