import type { Command } from "commander";
import { describeError } from "../../errors/numax-error.ts";
import { EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE } from "../exit-codes.ts";

/** Runs a policy action: a PolicyError (bad file, existing output) is one line and exit 2. */
async function policyAction(action: () => Promise<number> | number): Promise<void> {
  const { PolicyError } = await import("../../policy/policy-error.ts");
  try {
    process.exitCode = await action();
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    process.stderr.write(`nx: error: ${describeError(error)}\n`);
    process.exitCode = EXIT_USAGE;
  }
}

// `nx policy init|validate|diff` (docs/design/policies.md). Declarations only: each action
// imports its implementation lazily.
export function definePolicyCommand(program: Command): void {
  const policy = program
    .command("policy")
    .description("write, check and compare module policies (docs/design/policies.md)");

  policy
    .command("init")
    .description(
      "write a minimal policy for a module from its imports (to NAME.policy.toml beside NAME.wasm)",
    )
    .argument("<module>", "the module's .wasm file")
    .option("-o, --output <file>", "write to this file instead (`-` for stdout)")
    .option("--force", "overwrite the output file if it exists")
    .action(async (module: string, options: { output?: string; force?: boolean }) => {
      await policyAction(async () => {
        const { runPolicyInit } = await import("../../policy/policy-commands.ts");
        await runPolicyInit(module, options, process.stdout);
        return EXIT_OK;
      });
    });

  policy
    .command("validate")
    .description(
      "check policy files without running anything; one line per file (exit code 2 when one is invalid)",
    )
    .argument("<files...>", "policy files")
    .action(async (files: string[]) => {
      await policyAction(async () => {
        const { runPolicyValidate } = await import("../../policy/policy-commands.ts");
        return runPolicyValidate(files, process.stdout) ? EXIT_OK : EXIT_USAGE;
      });
    });

  policy
    .command("sign")
    .description("sign a policy file with a key and certificate from nx cert: writes FILE.sig beside it")
    .argument("<file>", "the policy file")
    .requiredOption("--key <file>", "the signer's private key (node.key, or ca.key for an operator)")
    .requiredOption("--cert <file>", "its certificate (node.crt, or ca.crt)")
    .action(async (file: string, options: { key: string; cert: string }) => {
      await policyAction(async () => {
        const { runPolicySign } = await import("../../policy/policy-commands.ts");
        await runPolicySign(file, options, process.stdout);
        return EXIT_OK;
      });
    });

  policy
    .command("diff")
    .description(
      "print the grants NEW adds (+) and removes (-) compared with OLD (exit code 1 when they differ)",
    )
    .argument("<old>", "policy file")
    .argument("<new>", "policy file")
    .action(async (oldFile: string, newFile: string) => {
      await policyAction(async () => {
        const { runPolicyDiff } = await import("../../policy/policy-commands.ts");
        return runPolicyDiff(oldFile, newFile, process.stdout) ? EXIT_OK : EXIT_RUN_FAILED;
      });
    });
}
