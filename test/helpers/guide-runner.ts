/**
 * Runs a guide under docs/guides/ as a reader runs it: every ```sh block, in order, in one bash
 * (nodes in its background), with the guide's 127.0.0.1 ports swapped for free ports and its
 * /tmp directory for a temporary one, in the commands and in what they must print. A command
 * followed by `# ` lines must print exactly those lines, where each placeholder (`<node>`, ...)
 * stands for what its pattern matches.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, REPO_ROOT, tempDir } from "./nx-process.ts";

const MARK = "@@guide-command@@";

export interface GuideRun {
  /** The guide, relative to the repository. */
  readonly guide: string;
  /** The guide's own directory (e.g. /tmp/nx-todo-guide), every path under it swapped for a temporary one. */
  readonly tmpPrefix: string;
  /** Placeholder in an expected line -> the regular expression source it stands for. */
  readonly placeholders: Readonly<Record<string, string>>;
  /** The whole guide, nodes started and stopped included. */
  readonly timeoutMs: number;
  /** At least this many commands show their output (a guide that lost its checks fails). */
  readonly checkedAtLeast: number;
}

/** The fenced blocks of `language` in a guide's text. */
export function guideBlocks(text: string, language: string): string[] {
  const fence = "```";
  return [...text.matchAll(new RegExp(`^${fence}${language}\\n([\\s\\S]*?)^${fence}$`, "gm"))].map(
    (m) => m[1]!,
  );
}

interface Command {
  readonly text: string;
  /** What it must print, line by line; undefined when the guide shows nothing. */
  readonly expected?: readonly string[];
}

/** The commands of the sh blocks: continuation lines joined, `# ` lines after one its output. */
function commands(text: string): Command[] {
  const found: { text: string; expected?: string[] }[] = [];
  for (const block of guideBlocks(text, "sh")) {
    let continued = "";
    for (const line of block.split("\n")) {
      if (line === "") continue;
      if (continued === "" && (line === "#" || line.startsWith("# "))) {
        const last = found.at(-1)!;
        last.expected = [...(last.expected ?? []), line.slice(2)];
      } else if (line.endsWith("\\")) continued += `${line}\n`;
      else {
        found.push({ text: continued + line });
        continued = "";
      }
    }
  }
  return found;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function outputPattern(lines: readonly string[], placeholders: GuideRun["placeholders"]): RegExp {
  const body = lines
    .map((line) =>
      Object.entries(placeholders).reduce(
        (pattern, [name, source]) => pattern.replaceAll(escapeRegExp(name), source),
        escapeRegExp(line),
      ),
    )
    .join("\n");
  return new RegExp(`^${body}$`);
}

export async function runGuide(run: GuideRun): Promise<void> {
  const guide = readFileSync(join(REPO_ROOT, run.guide), "utf8");
  const dir = tempDir("nx-guide-");
  const ports = new Map<string, string>();
  for (const port of new Set(guide.match(/(?<=127\.0\.0\.1:)\d{4}\b/g)))
    ports.set(port, String(await freePort()));
  const local = (text: string) =>
    text
      .replaceAll(run.tmpPrefix, join(dir.path, run.tmpPrefix.split("/").at(-1)!))
      .replace(/(?<=127\.0\.0\.1:)\d{4}\b/g, (port) => ports.get(port)!);
  const all = commands(guide);
  assert.ok(all.filter((c) => c.expected !== undefined).length >= run.checkedAtLeast);
  const script = all.map((command, i) => `${local(command.text)}\nprintf '\\n${MARK}%d\\n' ${i}\n`).join("");
  const bash = spawn("bash", ["-c", script], {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  bash.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  bash.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => bash.on("exit", resolve));
  const timer = setTimeout(() => process.kill(-bash.pid!, "SIGTERM"), run.timeoutMs);
  try {
    const code = await exited;
    const outputs = new Map<number, string>();
    let from = 0;
    for (const mark of stdout.matchAll(new RegExp(`\\n${MARK}(\\d+)\\n`, "g"))) {
      // The mark starts with a newline of its own: a command's last newline is its output's end.
      outputs.set(Number(mark[1]), stdout.slice(from, mark.index).replace(/\n$/, ""));
      from = mark.index + mark[0].length;
    }
    all.forEach((command, i) => {
      const output = outputs.get(i);
      assert.ok(output !== undefined, `the guide stopped before: ${command.text}\n${stderr}`);
      if (command.expected !== undefined) {
        const pattern = outputPattern(command.expected.map(local), run.placeholders);
        assert.match(output, pattern, `${command.text}\nprinted:\n${output}`);
      }
    });
    assert.equal(code, 0, stderr);
  } finally {
    clearTimeout(timer);
    // Whatever the guide left running (it stops its nodes itself when it gets to the end).
    try {
      process.kill(-bash.pid!, "SIGTERM");
    } catch {
      // the group is gone
    }
    dir.remove();
  }
}
