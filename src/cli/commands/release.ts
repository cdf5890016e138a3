import type { Command } from "commander";
import { EXIT_RUN_FAILED, EXIT_USAGE } from "../exit-codes.ts";
import { numaxVersion } from "../version.ts";

/**
 * `nx version` (the build's provenance record) and `nx verify` (a signed release directory,
 * docs/releases.md). Each action imports its implementation lazily.
 */
export function defineReleaseCommands(program: Command): void {
  program
    .command("version")
    .description("print the version and how this build was made (commit, build command, toolchain)")
    .option("--json", "print the version and the provenance record as JSON")
    .action(async (options: { json?: boolean }) => {
      const { formatVersion, readProvenance, versionReport } = await import("../../release/provenance.ts");
      const { isSea } = process.getBuiltinModule("node:sea");
      const report = versionReport(numaxVersion(), readProvenance(), isSea());
      process.stdout.write(
        options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatVersion(report)}\n`,
      );
    });

  program
    .command("verify")
    .description(
      "verify a release directory: SHA256SUMS signed by the release CA (SHA256SUMS.sig) and every file it lists",
    )
    .argument("[dir]", "the release directory (what npm run release wrote)", ".")
    .requiredOption("--ca <file>", "the release CA's certificate (ca.crt of nx cert ca)")
    .option("--json", "print the signer and the verified files as JSON")
    .action(async (dir: string, options: { ca: string; json?: boolean }) => {
      const { verifyRelease } = await import("../../release/release-verify.ts");
      const { RELEASE_INPUT_CODES, ReleaseError } = await import("../../release/release-error.ts");
      let verified: ReturnType<typeof verifyRelease>;
      try {
        verified = verifyRelease(dir, options.ca, new Date());
      } catch (error) {
        if (!(error instanceof ReleaseError)) throw error;
        process.stderr.write(`nx: error: ${error.message}\n`);
        process.exitCode = RELEASE_INPUT_CODES.has(error.code) ? EXIT_USAGE : EXIT_RUN_FAILED;
        return;
      }
      const lines = [
        ...verified.files.map(({ name }) => `${name}: OK`),
        `verified ${verified.files.length} files of SHA256SUMS, signed by ${verified.signer}`,
      ];
      process.stdout.write(options.json ? `${JSON.stringify(verified)}\n` : `${lines.join("\n")}\n`);
    });
}
