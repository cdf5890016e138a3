import { relative } from "node:path";
import { buildGuestProject } from "../dev/build-guest-project.ts";
import { type GuestProject, readGuestProject } from "../dev/guest-project.ts";
import { watchSources } from "../dev/watch-sources.ts";
import { describeError, NumaxError } from "../errors/numax-error.ts";
import type { ModuleHostComponent } from "../node/module-host.ts";
import { runModules } from "../node/run-modules.ts";
import { EXIT_RUN_FAILED, EXIT_USAGE } from "./exit-codes.ts";
import { FORCED_EXIT_CODES, OUTCOME_EXIT_CODES, resolveRunSettings } from "./run-command.ts";
import type { RunInvocation } from "./run-flags.ts";
import { NUMAX_VERSION } from "./version.ts";

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
  let host: ModuleHostComponent | undefined;
  let firstBuild: (() => void) | undefined;
  let building = false;
  let again = false;
  /** Builds, then reloads what built; changes during a build make one more build after it. */
  const rebuild = async (): Promise<boolean> => {
    if (building) {
      again = true;
      return false;
    }
    building = true;
    let ok = false;
    try {
      do {
        again = false;
        ok = await buildAndReload(project, label, host);
      } while (again);
    } finally {
      building = false;
    }
    if (ok) firstBuild?.();
    return ok;
  };
  const watcher = watchSources(project.sourceDir, SOURCE_EXTENSIONS[project.language], () => void rebuild());
  try {
    if (!(await rebuild())) {
      say(`waiting for a change under ${relative(process.cwd(), project.sourceDir) || "."} to build again`);
      await new Promise<void>((resolve) => {
        firstBuild = resolve;
      });
    }
    say(`running ${label}; rebuilding on every change (Ctrl-C stops)`);
    const outcome = await runModules({
      modulePaths: [project.output],
      settings,
      version: NUMAX_VERSION,
      exitNow: (reason) => process.exit(FORCED_EXIT_CODES[reason]),
      keepRunning: true,
      onStarted: (node) => {
        host = node.modules;
      },
    });
    return OUTCOME_EXIT_CODES[outcome];
  } finally {
    watcher.close();
  }
}

/** One build; once it succeeded and the node runs, the hot reload. True when the build succeeded. */
async function buildAndReload(
  project: GuestProject,
  label: string,
  host: ModuleHostComponent | undefined,
): Promise<boolean> {
  const built = await buildGuestProject(project);
  if (!built.ok) {
    const running =
      host === undefined ? "the node starts once it builds" : "the node goes on with the code it runs";
    const block = built.output.split("\n").map((line) => `  ${line}`);
    say(`build failed (${running}):\n${block.join("\n")}`);
    return false;
  }
  if (host === undefined) {
    say(`built ${label} in ${built.buildMs} ms`);
    return true;
  }
  try {
    const { reloadMs } = await host.reload(project.name);
    say(`built ${label} in ${built.buildMs} ms, reloaded in ${Math.round(reloadMs)} ms`);
  } catch (error) {
    // The module host said why in its log line; the old code goes on.
    say(`built ${label}, but the node refused it: ${describeError(error)}`);
  }
  return true;
}

function say(line: string): void {
  process.stderr.write(`nx dev: ${line}\n`);
}
