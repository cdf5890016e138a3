import { type Command, Option } from "commander";
import { EXIT_USAGE } from "../exit-codes.ts";

/** `nx new NAME [--lang assemblyscript|c]`: scaffolds a guest project that builds and runs with two commands. */
export function defineNewCommand(program: Command): void {
  program
    .command("new")
    .description("create a guest project NAME/ (AssemblyScript, or C) that builds and runs with two commands")
    .argument("<name>", "the project's directory and module id (lowercase letters, digits, - and _)")
    .addOption(
      new Option("--lang <language>", "the guest's language")
        .choices(["assemblyscript", "c"])
        .default("assemblyscript"),
    )
    .action(async (name: string, options: { lang: "assemblyscript" | "c" }) => {
      const { scaffoldGuestProject } = await import("../../dev/scaffold-guest-project.ts");
      const { describeError, NumaxError } = await import("../../errors/numax-error.ts");
      try {
        const project = scaffoldGuestProject(name, options.lang, process.cwd());
        process.stdout.write(
          [
            `created ${project.dir} (${options.lang}): ${project.files.join(", ")}`,
            "build and run it:",
            `  cd ${name}`,
            ...project.commands.map((command) => `  ${command}`),
            "",
          ].join("\n"),
        );
      } catch (error) {
        if (!(error instanceof NumaxError)) throw error;
        process.stderr.write(`nx: error: ${describeError(error)}\n`);
        process.exitCode = EXIT_USAGE;
      }
    });
}
