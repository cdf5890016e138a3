/**
 * docs/guides/collaborative-todo.md as a reader runs it: every ```sh block, in order, in one bash
 * (the nodes in its background), with the guide's ports and /tmp paths swapped for free ports and
 * a temporary directory. A command followed by `# ` lines must print exactly those lines (`<id>`
 * stands for a todo id, `<node>` for a NodeId). Every ```ts block must be in the example's source,
 * verbatim.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { freePort, REPO_ROOT, tempDir } from "../helpers/nx-process.ts";

const GUIDE = "docs/guides/collaborative-todo.md";
const SOURCES = "examples/collaborative_todo/assembly";
/** The whole guide, nodes started and stopped included, on a busy 2-core machine. */
const GUIDE_TIMEOUT_MS = 120_000;
const MARK = "@@guide-command@@";

const guide = readFileSync(join(REPO_ROOT, GUIDE), "utf8");

function blocks(language: string): string[] {
  const fence = "```";
  return [...guide.matchAll(new RegExp(`^${fence}${language}\\n([\\s\\S]*?)^${fence}$`, "gm"))].map(
    (m) => m[1]!,
  );
}

interface Command {
  readonly text: string;
  /** What it must print, line by line; undefined when the guide shows nothing. */
  readonly expected?: readonly string[];
}

/** The commands of the sh blocks: continuation lines joined, `# ` lines after one its output. */
function commands(): Command[] {
  const found: { text: string; expected?: string[] }[] = [];
  for (const block of blocks("sh")) {
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

function outputPattern(lines: readonly string[]): RegExp {
  const body = lines
    .map((line) => escapeRegExp(line).replaceAll("<id>", "[0-9a-f]{20}").replaceAll("<node>", "[0-9a-f]{32}"))
    .join("\n");
  return new RegExp(`^${body}$`);
}

test("every ts excerpt of the guide is in the example's source", () => {
  const sources = readdirSync(join(REPO_ROOT, SOURCES))
    .map((name) => readFileSync(join(REPO_ROOT, SOURCES, name), "utf8"))
    .join("\n");
  const excerpts = blocks("ts");
  assert.ok(excerpts.length >= 5);
  for (const excerpt of excerpts) assert.ok(sources.includes(excerpt), `not in ${SOURCES}:\n${excerpt}`);
});

test("every command of the guide runs and prints what the guide shows", {
  timeout: GUIDE_TIMEOUT_MS + 30_000,
}, async () => {
  const dir = tempDir("nx-todo-guide-");
  const ports = new Map<string, string>();
  for (const port of new Set(guide.match(/(?<=127\.0\.0\.1:)\d{4}\b/g)))
    ports.set(port, String(await freePort()));
  const local = (text: string) =>
    text
      .replaceAll("/tmp/nx-todo-guide", join(dir.path, "nx-todo-guide"))
      .replace(/(?<=127\.0\.0\.1:)\d{4}\b/g, (port) => ports.get(port)!);
  const all = commands();
  assert.ok(all.filter((c) => c.expected !== undefined).length >= 10);
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
  const timer = setTimeout(() => process.kill(-bash.pid!, "SIGTERM"), GUIDE_TIMEOUT_MS);
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
      if (command.expected !== undefined)
        assert.match(output, outputPattern(command.expected), `${command.text}\nprinted:\n${output}`);
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
});
