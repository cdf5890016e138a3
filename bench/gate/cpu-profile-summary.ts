/**
 * Where a node's CPU time went, from the .cpuprofile V8 writes with `node --cpu-prof`: self time
 * per function (name and source location), largest first. Pure: takes the parsed profile.
 */

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

export interface ProfileEntry {
  readonly function: string;
  readonly self_ms: number;
  readonly self_pct: number;
}

export interface ProfileSummary {
  readonly total_ms: number;
  /** Self time not idle (V8's "(idle)" node): what the process spent working. */
  readonly busy_ms: number;
  readonly top: readonly ProfileEntry[];
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName === "" ? "(anonymous)" : functionName;
  if (url === "") return name;
  const file = url.replace(/^file:\/\//, "").replace(/^.*\/(src|bench|node_modules)\//, "$1/");
  return `${name} ${file}:${lineNumber + 1}`;
}

export function summarizeCpuProfile(profile: CpuProfile, topCount = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<string, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!);
    if (node === undefined) continue;
    const key = label(node);
    selfUs.set(key, (selfUs.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const totalUs = [...selfUs.values()].reduce((sum, us) => sum + us, 0);
  const idleUs = selfUs.get("(idle)") ?? 0;
  const top = [...selfUs.entries()]
    .filter(([name]) => name !== "(idle)")
    .sort((a, b) => b[1] - a[1])
    .slice(0, topCount)
    .map(([name, us]) => ({
      function: name,
      self_ms: Math.round(us / 100) / 10,
      self_pct: totalUs === 0 ? 0 : Math.round((us / totalUs) * 1000) / 10,
    }));
  return {
    total_ms: Math.round(totalUs / 1000),
    busy_ms: Math.round((totalUs - idleUs) / 1000),
    top,
  };
}
