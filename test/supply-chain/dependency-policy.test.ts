import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  auditOutcome,
  licenseAllowed,
  lockViolations,
  repositoryDependencies,
} from "../../scripts/dependency-policy.ts";

describe("the dependency policy", () => {
  test("the repository's lock file keeps it: every license allowed, every install script listed", () => {
    const { lock, allowScripts } = repositoryDependencies();
    assert.deepEqual(lockViolations(lock, allowScripts), []);
  });

  test("SPDX expressions: OR needs one allowed side, AND both, WITH follows its license", () => {
    assert.equal(licenseAllowed("MIT"), true);
    assert.equal(licenseAllowed("(MIT OR WTFPL)"), true);
    assert.equal(licenseAllowed("GPL-3.0-only OR MIT"), true);
    assert.equal(licenseAllowed("(MIT AND Zlib)"), true);
    assert.equal(licenseAllowed("MIT AND GPL-3.0-only"), false);
    assert.equal(licenseAllowed("GPL-2.0-only WITH Classpath-exception-2.0"), false);
    assert.equal(licenseAllowed("Apache-2.0 WITH LLVM-exception"), true);
    assert.equal(licenseAllowed("(BSD-2-Clause OR MIT OR Apache-2.0)"), true);
    assert.equal(licenseAllowed("AGPL-3.0-or-later"), false);
    assert.equal(licenseAllowed("SEE LICENSE IN LICENSE.txt"), false);
    assert.equal(licenseAllowed("(MIT"), false);
    assert.equal(licenseAllowed(""), false);
  });

  test("a forbidden license, an undeclared one and an unlisted install script are each one line", () => {
    const lock = {
      packages: {
        "": { version: "0.1.0" },
        "node_modules/copyleft": { version: "1.0.0", license: "GPL-3.0-only" },
        "node_modules/a/node_modules/@s/mystery": { version: "2.0.0" },
        "node_modules/builder": { version: "3.0.0", license: "MIT", hasInstallScript: true },
        "node_modules/reviewed": { version: "1.0.0", license: "MIT", hasInstallScript: true },
        "node_modules/@biomejs/cli-win32-x64": { version: "2.6.8" },
        "node_modules/self": { link: true },
      },
    };
    const violations = lockViolations(lock, { reviewed: false });
    assert.equal(violations.length, 3, violations.join("\n"));
    assert.match(
      violations[0]!,
      /^copyleft@1\.0\.0 is licensed GPL-3\.0-only, which ALLOWED_LICENSES does not allow/,
    );
    assert.match(
      violations[1]!,
      /^@s\/mystery@2\.0\.0 declares no license: read it and add it to UNDECLARED_LICENSES/,
    );
    assert.match(
      violations[2]!,
      /^builder@3\.0\.0 has an install script that package\.json's allowScripts does not list/,
    );
  });

  test("npm audit: high and critical fail, lower ones are reported, an unreachable registry is one skip", () => {
    const found = auditOutcome(
      JSON.stringify({
        vulnerabilities: {
          a: { severity: "critical" },
          b: { severity: "moderate" },
          c: { severity: "high" },
        },
      }),
      "",
    );
    assert.deepEqual(found, {
      kind: "audited",
      failing: ["a: critical", "c: high"],
      reported: ["b: moderate"],
      total: 3,
    });
    assert.deepEqual(auditOutcome(JSON.stringify({ vulnerabilities: {} }), ""), {
      kind: "audited",
      failing: [],
      reported: [],
      total: 0,
    });
    assert.deepEqual(
      auditOutcome(JSON.stringify({ message: "405 Method Not Allowed - POST x", statusCode: 405 }), ""),
      {
        kind: "skipped",
        reason: "405 Method Not Allowed - POST x",
      },
    );
    assert.deepEqual(auditOutcome("", "npm error code ENOTFOUND\nnpm error more"), {
      kind: "skipped",
      reason: "npm error code ENOTFOUND",
    });
  });
});
