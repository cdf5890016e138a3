import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { loadTlsMaterial } from "../../src/net/tls-material.ts";
import { createTlsTransport } from "../../src/net/tls-transport.ts";
import { NX_BIN, REPO_ROOT } from "../helpers/nx-process.ts";
import { baseOptions, listenFor } from "./transport-contract.ts";

/** `nx cert` in real child processes, writing real files. */

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function nx(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [NX_BIN, ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function tempDir(t: { after(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "nx-cert-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe("nx cert", () => {
  test("ca, node and id make a working mTLS PKI; each node prints its NodeId", async (t) => {
    const dir = await tempDir(t);
    const ca = await nx("cert", "ca", "--out", join(dir, "ca"), "--name", "Test cluster");
    assert.equal(ca.code, 0, ca.stderr);
    assert.match(ca.stdout, /ca\.crt and .*ca\.key \(mode 0600/);
    assert.equal(await mode(join(dir, "ca", "ca.key")), 0o600);

    const nodes = [];
    for (const name of ["n1", "n2"]) {
      const run = await nx(
        "cert",
        "node",
        "--ca-dir",
        join(dir, "ca"),
        "--name",
        name,
        "--out",
        join(dir, name),
        "--json",
      );
      assert.equal(run.code, 0, run.stderr);
      const result = JSON.parse(run.stdout);
      assert.match(result.nodeId, /^[0-9a-f]{32}$/);
      assert.equal(await mode(join(dir, name, "node.key")), 0o600);
      const id = await nx("cert", "id", join(dir, name, "node.crt"));
      assert.equal(id.stdout, `${result.nodeId}\n`);
      nodes.push(result);
    }
    const text = await nx(
      "cert",
      "node",
      "--ca-dir",
      join(dir, "ca"),
      "--name",
      "n3",
      "--out",
      join(dir, "n3"),
    );
    assert.match(
      text.stdout,
      /^wrote .*node\.crt, .*node\.key \(mode 0600\) and .*ca\.crt\nNodeId: [0-9a-f]{32}\n$/,
    );
    const idJson = JSON.parse((await nx("cert", "id", "--json", join(dir, "n1", "node.crt"))).stdout);
    assert.equal(idJson.nodeId, nodes[0].nodeId);
    assert.equal(idJson.subject, "CN=n1");

    // The files work as --tls-cert/--tls-key/--tls-ca for a real TLS 1.3 handshake with an allowlist.
    const material = (name: string) =>
      loadTlsMaterial({
        certPath: join(dir, name, "node.crt"),
        keyPath: join(dir, name, "node.key"),
        caPath: join(dir, name, "ca.crt"),
      });
    const server = createTlsTransport({
      ...baseOptions(),
      tls: await material("n1"),
      allowedPeers: [nodes[1].nodeId],
    });
    const listening = await listenFor(server, "127.0.0.1:0", t);
    const client = createTlsTransport({ ...baseOptions(), tls: await material("n2") });
    const connection = await client.dial(listening.listener.address);
    t.after(() => connection.close());
    assert.equal(connection.remoteNodeId, nodes[0].nodeId);
    assert.equal((await listening.accepted()).remoteNodeId, nodes[1].nodeId);
  });

  test("existing output is refused without --force; --force overwrites and restores 0600", async (t) => {
    const dir = await tempDir(t);
    assert.equal((await nx("cert", "ca", "--out", dir)).code, 0);
    const again = await nx("cert", "ca", "--out", dir);
    assert.equal(again.code, 2);
    assert.equal(
      again.stderr,
      `nx: error: ${join(dir, "ca.crt")} already exists (add --force to overwrite it)\n`,
    );
    await chmod(join(dir, "ca.key"), 0o644);
    const forced = await nx("cert", "ca", "--out", dir, "--force");
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(await mode(join(dir, "ca.key")), 0o600);
  });

  test("bad input is one clear line and exit code 2", async (t) => {
    const dir = await tempDir(t);
    await writeFile(join(dir, "not-a-cert.pem"), "hello\n");
    const cases: Array<[string[], RegExp]> = [
      [
        ["cert", "node", "--ca-dir", join(dir, "missing"), "--name", "x", "--out", join(dir, "x")],
        /CA certificate .*missing\/ca\.crt does not exist/,
      ],
      [["cert", "id", join(dir, "not-a-cert.pem")], /not-a-cert\.pem is not a PEM or DER certificate/],
      [["cert", "id", join(dir, "nope.pem")], /certificate .*nope\.pem does not exist/],
      [
        ["cert", "ca", "--out", join(dir, "c"), "--days", "ten"],
        /--days must be a whole number of days, got "ten"/,
      ],
      [
        ["cert", "ca", "--out", join(dir, "c"), "--days", "99999"],
        /--days must be a whole number from 1 to 36500/,
      ],
    ];
    for (const [args, pattern] of cases) {
      const run = await nx(...args);
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, pattern);
      assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
    }
    assert.equal((await nx("cert", "ca", "--out", join(dir, "ca"))).code, 0);
    const badSan = await nx(
      "cert",
      "node",
      "--ca-dir",
      join(dir, "ca"),
      "--name",
      "x",
      "--out",
      join(dir, "x"),
      "--san",
      "127.0.0.1,bad name",
    );
    assert.equal(badSan.code, 2);
    assert.match(badSan.stderr, /--san "bad name" is neither an IP address nor a DNS name/);
    await writeFile(
      join(dir, "ca", "ca.key"),
      "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    );
    const badKey = await nx(
      "cert",
      "node",
      "--ca-dir",
      join(dir, "ca"),
      "--name",
      "x",
      "--out",
      join(dir, "x"),
    );
    assert.equal(badKey.code, 2);
    assert.match(badKey.stderr, /the CA key is not a PEM private key \(in .*\/ca\)/);
  });

  describe("private keys stay out of git work trees", () => {
    const refusal = (key: string, workTree: string) =>
      `nx: error: refusing to write the private key ${key} inside the git work tree ${workTree}, where a commit could publish it: pass an --out outside it (e.g. ~/nx-certs/...), or add --allow-in-git-tree\n`;

    test("ca and node refuse an --out inside a work tree, write nothing, exit 2", async (t) => {
      const dir = await tempDir(t);
      const repo = join(dir, "repo");
      await mkdir(join(repo, ".git"), { recursive: true });
      const out = join(repo, "deep", "certs", "ca");
      const ca = await nx("cert", "ca", "--out", out);
      assert.equal(ca.code, 2, ca.stderr);
      assert.equal(ca.stderr, refusal(join(out, "ca.key"), repo));
      assert.equal(existsSync(join(repo, "deep")), false, "nothing written");

      assert.equal((await nx("cert", "ca", "--out", join(dir, "ca"))).code, 0);
      const nodeOut = join(repo, "n1");
      const node = await nx("cert", "node", "--ca-dir", join(dir, "ca"), "--name", "n1", "--out", nodeOut);
      assert.equal(node.code, 2, node.stderr);
      assert.equal(node.stderr, refusal(join(nodeOut, "node.key"), repo));
      assert.equal(existsSync(nodeOut), false, "nothing written");
    });

    test("a linked work tree's .git file counts too", async (t) => {
      const dir = await tempDir(t);
      await writeFile(join(dir, ".git"), "gitdir: /elsewhere/.git/worktrees/x\n");
      const ca = await nx("cert", "ca", "--out", join(dir, "ca"));
      assert.equal(ca.code, 2, ca.stderr);
      assert.equal(ca.stderr, refusal(join(dir, "ca", "ca.key"), dir));
    });

    test("--allow-in-git-tree writes the keys there, mode 0600", async (t) => {
      const dir = await tempDir(t);
      await mkdir(join(dir, ".git"));
      const ca = await nx("cert", "ca", "--out", join(dir, "ca"), "--allow-in-git-tree");
      assert.equal(ca.code, 0, ca.stderr);
      assert.equal(await mode(join(dir, "ca", "ca.key")), 0o600);
      const node = await nx(
        "cert",
        "node",
        "--ca-dir",
        join(dir, "ca"),
        "--name",
        "n1",
        "--out",
        join(dir, "n1"),
        "--allow-in-git-tree",
      );
      assert.equal(node.code, 0, node.stderr);
      assert.equal(await mode(join(dir, "n1", "node.key")), 0o600);
    });

    test("the docs' old `--out certs/ca` in this repository is refused", {
      skip: !existsSync(join(REPO_ROOT, ".git")),
    }, async () => {
      const out = join(REPO_ROOT, "certs", "ca");
      const ca = await nx("cert", "ca", "--out", out);
      assert.equal(ca.code, 2, ca.stderr);
      assert.equal(ca.stderr, refusal(join(out, "ca.key"), REPO_ROOT.replace(/\/$/, "")));
    });
  });

  test("an --out the file system cannot create is one line and exit 2, no spin", {
    skip: process.platform !== "linux",
  }, async () => {
    const run = await nx("cert", "ca", "--out", "/proc/nx-certs");
    assert.equal(run.code, 2, run.stderr);
    assert.match(
      run.stderr,
      /^nx: error: cannot create directory \/proc\/nx-certs: this file system does not allow creating directories\n$/,
    );
  });

  test("an --out that is a file is one line and exit 2", async (t) => {
    const dir = await tempDir(t);
    await writeFile(join(dir, "a-file"), "");
    for (const out of [join(dir, "a-file"), join(dir, "a-file", "ca")]) {
      const run = await nx("cert", "ca", "--out", out);
      assert.equal(run.code, 2, run.stderr);
      assert.equal(
        run.stderr,
        `nx: error: cannot create directory ${out}: a part of the path is a file, not a directory\n`,
      );
    }
  });
});
