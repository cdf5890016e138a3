import { relative } from "node:path";
import { buildGuestProject } from "../dev/build-guest-project.ts";
import { DevRebuilds } from "../dev/dev-rebuilds.ts";
import { type GuestProject, readGuestProject } from "../dev/guest-project.ts";
import { watchSources } from "../dev/watch-sources.ts";
import { describeError, NumaxError } from "../errors/numax-error.ts";
import { processStderr } from "../fs/stdio-writer.ts";
import { runModules } from "../node/run-modules.ts";
import { EXIT_RUN_FAILED, EXIT_USAGE } from "./exit-codes.ts";
import { FORCED_EXIT_CODES, OUTCOME_EXIT_CODES, resolveRunSettings } from "./run-command.ts";
import type { RunInvocation } from "./run-flags.ts";
import { numaxVersion } from "./version.ts";

/** Source files whose change rebuilds a project. */
const SOURCE_EXTENSIONS = {
  assemblyscript: [".ts"],
  c: [".c", ".h"],
} as const;

/**
 * `nx dev [PATH]` (docs/hot-reload.md): builds the guest project at PATH, runs it on a local
 * node in this process (the settings of `nx run`: flags > NX_* > config file), and on every
 * change of its sources rebuilds it and hot-reloads it through the module host. A failed build
 * is shown as one block and the node goes on with the code it runs; so does code the node
 * refuses to load (one line). The node runs until SIGINT/SIGTERM.
 */
export async function devCommand(path: string, invocation: Omit<RunInvocation, "modules">): Promise<number> {
  let project: GuestProject;
  let settings: Awaited<ReturnType<typeof resolveRunSettings>>;
  try {
    project = readGuestProject(path);
    // nx dev runs its project's module only, whatever [[modules]] the config file lists.
    settings = { ...(await resolveRunSettings({ ...invocation, modules: [] })), listedModules: [] };
    // The project's own policy file, unless --policy names another.
    if (settings.policyFlags.length === 0 && project.policy !== undefined)
      settings = { ...settings, policyFlags: [project.policy] };
  } catch (error) {
    say(`error: ${describeError(error)}`);
    return error instanceof NumaxError ? EXIT_USAGE : EXIT_RUN_FAILED;
  }
  const label = relative(process.cwd(), project.output) || project.output;
  const rebuilds = new DevRebuilds({
    label,
    build: () => buildGuestProject(project),
    say,
    describeError,
  });
  const watcher = watchSources(
    project.sourceDir,
    SOURCE_EXTENSIONS[project.language],
    () => void rebuilds.rebuild(),
  );
  try {
    if (!(await rebuilds.rebuild())) {
      say(`waiting for a change under ${relative(process.cwd(), project.sourceDir) || "."} to build again`);
      await rebuilds.nextGoodBuild();
    }
    say(`running ${label}; rebuilding on every change (Ctrl-C stops)`);
    rebuilds.launched();
    const outcome = await runModules({
      modulePaths: [project.output],
      settings,
      version: numaxVersion,
      exitNow: (reason) => process.exit(FORCED_EXIT_CODES[reason]),
      keepRunning: true,
      onStarted: (node) => {
        const host = node.modules;
        if (host !== undefined) rebuilds.started({ reload: () => host.reload(project.name) });
      },
    });
    return OUTCOME_EXIT_CODES[outcome];
  } finally {
    watcher.close();
  }
}

function say(line: string): void {
  processStderr.write(`nx dev: ${line}\n`);
}
