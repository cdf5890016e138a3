import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { createCertificateAuthority } from "../net/pki/certificate-authority.ts";
import { signDetached } from "../net/pki/detached-signature.ts";
import { issueNodeCertificate } from "../net/pki/node-certificate.ts";
import { CHECKSUMS_FILE, CHECKSUMS_SIGNATURE_FILE, formatChecksums, sha256OfFile } from "./checksums.ts";
import { ReleaseError, type ReleaseErrorCode } from "./release-error.ts";
import { verifyRelease } from "./release-verify.ts";

const NOW = new Date("2026-12-06T08:00:00Z");
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A release directory of two files whose SHA256SUMS `signer` signed, and the CA's certificate. */
async function release() {
  const dir = mkdtempSync(join(tmpdir(), "nx-release-verify-"));
  dirs.push(dir);
  const ca = await createCertificateAuthority({ name: "release CA", days: 30, now: NOW });
  const signer = await issueNodeCertificate({
    ca,
    name: "release signer",
    subjectAltNames: [],
    days: 30,
    now: NOW,
  });
  const stranger = await createCertificateAuthority({ name: "stranger", days: 30, now: NOW });
  writeFileSync(join(dir, "numax-0.1.0.tgz"), "package");
  writeFileSync(join(dir, "sbom.cdx.json"), "{}");
  const checksums = formatChecksums(
    ["numax-0.1.0.tgz", "sbom.cdx.json"].map((name) => ({ name, sha256: sha256OfFile(join(dir, name)) })),
  );
  writeFileSync(join(dir, CHECKSUMS_FILE), checksums);
  const sign = (key: { keyPem: string; certPem: string }) =>
    writeFileSync(
      join(dir, CHECKSUMS_SIGNATURE_FILE),
      signDetached(Buffer.from(checksums), key.keyPem, key.certPem, (why) => assert.fail(why)),
    );
  sign(signer);
  const caPath = join(dir, "..", `${dir.split("/").pop()}-ca.crt`);
  writeFileSync(caPath, ca.certPem);
  dirs.push(caPath);
  return { dir, caPath, sign: () => sign(stranger) };
}

function refusal(run: () => void, code: ReleaseErrorCode): string {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ReleaseError, String(error));
    assert.equal(error.code, code, error.message);
    assert.ok(!error.message.includes("\n"));
    return error.message;
  }
  assert.fail("verified");
}

describe("verifyRelease", () => {
  test("checksums signed by a certificate of the release CA, and files that match, verify", async () => {
    const { dir, caPath } = await release();
    const verified = verifyRelease(dir, caPath, NOW);
    assert.equal(verified.signer, "CN=release signer");
    assert.deepEqual(
      verified.files.map((file) => file.name),
      ["numax-0.1.0.tgz", "sbom.cdx.json"],
    );
  });

  test("a changed file, a changed SHA256SUMS, a stranger's signature and a missing signature are refused", async () => {
    const changedFile = await release();
    appendFileSync(join(changedFile.dir, "sbom.cdx.json"), " ");
    assert.match(
      refusal(() => verifyRelease(changedFile.dir, changedFile.caPath, NOW), "RELEASE_CHECKSUM_MISMATCH"),
      /sbom\.cdx\.json: its SHA-256 is [0-9a-f]{64}, SHA256SUMS says/,
    );
    const changedSums = await release();
    appendFileSync(join(changedSums.dir, CHECKSUMS_FILE), `${"0".repeat(64)}  evil\n`);
    assert.match(
      refusal(() => verifyRelease(changedSums.dir, changedSums.caPath, NOW), "RELEASE_SIGNATURE_INVALID"),
      /the signature does not match the file/,
    );
    const foreign = await release();
    foreign.sign();
    assert.match(
      refusal(() => verifyRelease(foreign.dir, foreign.caPath, NOW), "RELEASE_SIGNATURE_INVALID"),
      /signed by CN=stranger, whose certificate the CA of .* did not issue/,
    );
    const unsigned = await release();
    rmSync(join(unsigned.dir, CHECKSUMS_SIGNATURE_FILE));
    assert.match(
      refusal(() => verifyRelease(unsigned.dir, unsigned.caPath, NOW), "RELEASE_UNREADABLE"),
      /SHA256SUMS\.sig: no such file; an unsigned release can be checked with sha256sum -c/,
    );
    const later = new Date(NOW.getTime() + 60 * 86_400_000);
    const expired = await release();
    assert.match(
      refusal(() => verifyRelease(expired.dir, expired.caPath, later), "RELEASE_SIGNATURE_INVALID"),
      /not valid now/,
    );
  });
});
