import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { CleanupStack } from "./cleanup-stack.ts";
import { type CpuProfile, type ProfileSummary, summarizeCpuProfile } from "./cpu-profile-summary.ts";
import type { Incarnation, LoadRecorder } from "./load-recorder.ts";
import { NxProcess } from "./nx-process.ts";
import type { ResourceSampler } from "./resource-sampler.ts";

/**
 * Starts `nx run` processes for a scenario with everything wired: their guest reports go to the
 * recorder, their /proc figures to the sampler, their stop to the cleanup, and with --cpu-prof
 * each writes a V8 CPU profile into <workDir>/profiles/<node>/ when it exits.
 */
export interface LaunchContext {
  readonly workDir: string;
  readonly cleanup: CleanupStack;
  readonly recorder: LoadRecorder;
  readonly sampler: ResourceSampler;
  readonly cpuProf: boolean;
  /** Preload loop-probe.ts into every node (--loop-stats): its figures go to <workDir>/loop-stats/. */
  readonly loopStats?: boolean;
}

export interface NodeLaunch {
  readonly name: string;
  readonly modulePath: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/** Grace period of a node's stop at cleanup before SIGKILL. */
const CLEANUP_STOP_GRACE_MS = 5_000;

const LOOP_PROBE = fileURLToPath(new URL("./loop-probe.ts", import.meta.url));

function loopStatsDirectory(workDir: string, node: string): string {
  return join(workDir, "loop-stats", node);
}

/**
 * The files ending in `suffix` in each node's directory (`directoryOf`), parsed as JSON in name
 * order (by node; a node that wrote none is left out).
 */
function readNodeFiles(
  nodes: readonly string[],
  directoryOf: (node: string) => string,
  suffix: string,
): Record<string, unknown[]> {
  const files: Record<string, unknown[]> = {};
  for (const node of nodes) {
    const directory = directoryOf(node);
    let names: string[];
    try {
      names = readdirSync(directory).filter((name) => name.endsWith(suffix));
    } catch {
      continue;
    }
    files[node] = names
      .sort()
      .map((name) => JSON.parse(readFileSync(join(directory, name), "utf8")) as unknown);
  }
  return files;
}

/** What loop-probe.ts wrote for each node (by node; one per process). */
export function collectLoopStats(workDir: string, nodes: readonly string[]): Record<string, unknown[]> {
  return readNodeFiles(nodes, (node) => loopStatsDirectory(workDir, node), ".json");
}

export function profileDirectory(workDir: string, node: string): string {
  return join(workDir, "profiles", node);
}

export async function launchNode(
  context: LaunchContext,
  launch: NodeLaunch,
): Promise<{ process: NxProcess; incarnation: Incarnation }> {
  const incarnation = context.recorder.begin(launch.name);
  let nodeFlags: string[] = [];
  if (context.cpuProf) {
    const directory = profileDirectory(context.workDir, launch.name);
    mkdirSync(directory, { recursive: true });
    nodeFlags = ["--cpu-prof", "--cpu-prof-dir", directory];
  }
  let env = launch.env;
  if (context.loopStats === true) {
    const directory = loopStatsDirectory(context.workDir, launch.name);
    mkdirSync(directory, { recursive: true });
    nodeFlags = [...nodeFlags, "--import", LOOP_PROBE];
    env = { ...env, NX_GATE_LOOP_STATS_DIR: directory };
  }
  const child = await NxProcess.start(
    { ...launch, env, nodeFlags },
    { onGuestLine: (line, atMs) => context.recorder.record(incarnation, line, atMs) },
  );
  context.cleanup.defer(`stop ${launch.name} (pid ${child.pid})`, () => child.stop(CLEANUP_STOP_GRACE_MS));
  context.sampler.track(launch.name, child.pid);
  return { process: child, incarnation };
}

/** Summaries of the CPU profiles the nodes wrote (by node; several when a node was restarted). */
export function collectProfiles(workDir: string, nodes: readonly string[]): Record<string, ProfileSummary[]> {
  const profiles = readNodeFiles(nodes, (node) => profileDirectory(workDir, node), ".cpuprofile");
  return Object.fromEntries(
    Object.entries(profiles).map(([node, files]) => [
      node,
      files.map((profile) => summarizeCpuProfile(profile as CpuProfile)),
    ]),
  );
}
