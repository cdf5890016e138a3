import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
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
}

export interface NodeLaunch {
  readonly name: string;
  readonly modulePath: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/** Grace period of a node's stop at cleanup before SIGKILL. */
const CLEANUP_STOP_GRACE_MS = 5_000;

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
  const child = await NxProcess.start(
    { ...launch, nodeFlags },
    { onGuestLine: (line, atMs) => context.recorder.record(incarnation, line, atMs) },
  );
  context.cleanup.defer(`stop ${launch.name} (pid ${child.pid})`, () => child.stop(CLEANUP_STOP_GRACE_MS));
  context.sampler.track(launch.name, child.pid);
  return { process: child, incarnation };
}

/** Summaries of the CPU profiles the nodes wrote (by node; several when a node was restarted). */
export function collectProfiles(workDir: string, nodes: readonly string[]): Record<string, ProfileSummary[]> {
  const profiles: Record<string, ProfileSummary[]> = {};
  for (const node of nodes) {
    const directory = profileDirectory(workDir, node);
    let files: string[];
    try {
      files = readdirSync(directory).filter((file) => file.endsWith(".cpuprofile"));
    } catch {
      continue;
    }
    profiles[node] = files
      .sort()
      .map((file) =>
        summarizeCpuProfile(JSON.parse(readFileSync(join(directory, file), "utf8")) as CpuProfile),
      );
  }
  return profiles;
}
