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
  /** Self time by where the code lives, in % of total_ms (see CATEGORIES). */
  readonly categories: Readonly<Record<string, number>>;
  readonly top: readonly ProfileEntry[];
}

/**
 * Where a sample's code lives, first match wins: the guest's WebAssembly, the store (lmdb-js),
 * the codec (msgpackr), other packages, Numax itself (any other file of the tree: its sources or
 * their bundle), Node's internals, V8's pseudo-frames and natives.
 */
const CATEGORIES: readonly (readonly [string, (node: ProfileNode) => boolean])[] = [
  ["idle", (node) => node.callFrame.functionName === "(idle)"],
  ["gc", (node) => node.callFrame.functionName === "(garbage collector)"],
  [
    "wasm_guest",
    (node) =>
      node.callFrame.url.startsWith("wasm://") || node.callFrame.functionName.startsWith("wasm-function"),
  ],
  ["lmdb", (node) => node.callFrame.url.includes("/node_modules/lmdb/")],
  ["msgpackr", (node) => node.callFrame.url.includes("/node_modules/msgpackr/")],
  ["other_packages", (node) => node.callFrame.url.includes("/node_modules/")],
  ["numax", (node) => node.callFrame.url.startsWith("file://") || node.callFrame.url.startsWith("/")],
  ["node_internals", (node) => node.callFrame.url.startsWith("node:")],
  ["v8_and_native", () => true],
];

function categoryOf(node: ProfileNode): string {
  return CATEGORIES.find(([, matches]) => matches(node))![0];
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName === "" ? "(anonymous)" : functionName;
  if (url === "") return name;
  const file = url.replace(/^file:\/\//, "").replace(/^.*\/(src|bench|build|node_modules)\//, "$1/");
  return `${name} ${file}:${lineNumber + 1}`;
}

export function summarizeCpuProfile(profile: CpuProfile, topCount = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<string, number>();
  const categoryUs = new Map<string, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!);
    if (node === undefined) continue;
    const key = label(node);
    const us = profile.timeDeltas[i] ?? 0;
    selfUs.set(key, (selfUs.get(key) ?? 0) + us);
    const category = categoryOf(node);
    categoryUs.set(category, (categoryUs.get(category) ?? 0) + us);
  }
  const totalUs = [...selfUs.values()].reduce((sum, us) => sum + us, 0);
  const idleUs = selfUs.get("(idle)") ?? 0;
  const share = (us: number): number => (totalUs === 0 ? 0 : Math.round((us / totalUs) * 1000) / 10);
  const top = [...selfUs.entries()]
    .filter(([name]) => name !== "(idle)")
    .sort((a, b) => b[1] - a[1])
    .slice(0, topCount)
    .map(([name, us]) => ({
      function: name,
      self_ms: Math.round(us / 100) / 10,
      self_pct: share(us),
    }));
  return {
    total_ms: Math.round(totalUs / 1000),
    busy_ms: Math.round((totalUs - idleUs) / 1000),
    categories: Object.fromEntries(
      [...categoryUs.entries()].sort((a, b) => b[1] - a[1]).map(([name, us]) => [name, share(us)]),
    ),
    top,
  };
}
