import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePorts } from "../../bench/gate/free-port.ts";

/** Repository root, for running `bin/nx.js` and finding built guests. */
export const REPO_ROOT = new URL("../../", import.meta.url).pathname;

export const NX_BIN = join(REPO_ROOT, "bin/nx.js");

/** `nx cert ... --json` as a user runs it; returns what it prints (the NodeId, for `cert node`). */
export function nxCert(args: readonly string[]): { nodeId?: string } {
  const out = execFileSync(process.execPath, [NX_BIN, "cert", ...args, "--json"], { encoding: "utf8" });
  return JSON.parse(out) as { nodeId?: string };
}

export function guestPath(name: string): string {
  return join(REPO_ROOT, "test/guests/build", `${name}.wasm`);
}

export function examplePath(name: string): string {
  return join(REPO_ROOT, "examples", name, "build", `${name}.wasm`);
}

/**
 * The installed layout under `dir`/package: bin/nx.js, the built bundles and package.json, no
 * src/ beside bin/ (so the bundle runs whatever its mtime). Returns the package's root.
 */
export function installedPackage(dir: string): string {
  const root = join(dir, "package");
  mkdirSync(join(root, "bin"), { recursive: true });
  cpSync(NX_BIN, join(root, "bin/nx.js"));
  cpSync(join(REPO_ROOT, "build/cli"), join(root, "build/cli"), { recursive: true });
  cpSync(join(REPO_ROOT, "package.json"), join(root, "package.json"));
  symlinkSync(join(REPO_ROOT, "node_modules"), join(root, "node_modules"));
  return root;
}

/** A real `nx` child process with its output collected, for end-to-end tests. */
export interface NxProcess {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stderr+stdout (already written or future). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * `nx run` of a test without `--management-listen` gets `--management-listen off`: nodes of
 * parallel tests would all open one (on a free port once 127.0.0.1:9102 is taken). Tests of the
 * API pass `--management-listen 127.0.0.1:0`. Older builds (`options.bin`) have no such flag.
 */
export function withoutDefaultManagement(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  bin?: string,
): readonly string[] {
  if (args[0] !== "run" || bin !== undefined) return args;
  const off = [
    ...(args.includes("--management-listen") || "NX_MANAGEMENT_LISTEN" in env
      ? []
      : ["--management-listen", "off"]),
    // The dashboard's default 127.0.0.1:9101 likewise (docs/dashboard.md).
    ...(args.includes("--dashboard-listen") || "NX_DASHBOARD_LISTEN" in env
      ? []
      : ["--dashboard-listen", "off"]),
  ];
  return off.length === 0 ? args : ["run", ...off, ...args.slice(1)];
}

/** How to start `nx`: by default this repository's `bin/nx.js` under this test's Node. */
export interface NxLaunch {
  stdin?: boolean;
  /** Another build's `bin/nx.js` to test against, run under this test's Node. */
  bin?: string;
  /** An installed command run as is (no `node` in front: its own shebang picks the Node on PATH). */
  command?: string;
  /** Working directory; default the repository root. */
  cwd?: string;
}

/**
 * Runs `nx` as `options` says; `options.stdin` gives the child a pipe to write to
 * (`nx.child.stdin`).
 */
export function startNx(
  args: readonly string[],
  env: Record<string, string> = {},
  options: NxLaunch = {},
): NxProcess {
  const argv = withoutDefaultManagement(args, env, options.bin);
  const [file, fileArgs] =
    options.command === undefined
      ? [process.execPath, [options.bin ?? NX_BIN, ...argv]]
      : [options.command, argv];
  const child = spawn(file, fileArgs, {
    cwd: options.cwd ?? REPO_ROOT,
    // Test guests ship no policies: they run trusted (docs/design/policies.md), unless a test says otherwise.
    env: { ...process.env, NX_POLICY_DEFAULT: "trusted", ...env },
    stdio: [options.stdin === true ? "pipe" : "ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  const waiters = new Set<() => void>();
  const poke = (): void => {
    for (const waiter of [...waiters]) waiter();
  };
  child.stdout!.on("data", (chunk: Buffer) => {
    out += chunk.toString();
    poke();
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    err += chunk.toString();
    poke();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("exit", (code, signal) => {
      resolve({ code, signal });
      poke();
    });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const match = (err + out).match(pattern);
          if (match !== null) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(match);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(new Error(`nx exited before printing ${pattern}:\n${err}${out}`));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${pattern}:\n${err}${out}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

/** Stops a process (SIGTERM, then SIGKILL after `graceMs`) and waits for its exit. */
export async function stopNx(nx: NxProcess, graceMs = 10_000) {
  if (nx.child.exitCode === null && nx.child.signalCode === null) {
    nx.child.kill("SIGTERM");
    const timer = setTimeout(() => nx.child.kill("SIGKILL"), graceMs);
    const result = await nx.exited;
    clearTimeout(timer);
    return result;
  }
  return nx.exited;
}

/** A free TCP port on 127.0.0.1, outside the kernel's ephemeral range (bench/gate/free-port.ts says why). */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** GETs JSON from a node's observability endpoint. */
export async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return response.json();
}

/** Polls `read` until `done(value)` or the timeout; returns the last value read. */
export async function pollUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  return value;
}
