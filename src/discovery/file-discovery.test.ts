import assert from "node:assert/strict";
import { mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type LogFields, silentLogger } from "../observe/logger.ts";
import { createFileDiscovery } from "./file-discovery.ts";
import { describePeerDiscoveryContract } from "./peer-discovery.contract.ts";
import type { PeerCandidate } from "./peer-discovery.ts";
import { PEERS_FILE_BYTES_MAX, parsePeersFile } from "./peers-file.ts";

const REFRESH_MS = 200;
const lines = (candidates: readonly PeerCandidate[]) => candidates.map((c) => `${c.address}\n`).join("");

describePeerDiscoveryContract(
  "file",
  async (initial) => {
    const dir = mkdtempSync(join(tmpdir(), "nx-peers-file-"));
    const path = join(dir, "peers");
    writeFileSync(path, lines(initial));
    return {
      discovery: createFileDiscovery({ path, refreshIntervalMs: REFRESH_MS, logger: silentLogger }),
      change: async (candidates) => writeFileSync(path, lines(candidates)),
      breakSource: async () => writeFileSync(path, "x".repeat(PEERS_FILE_BYTES_MAX + 1)),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
  { noticeMs: REFRESH_MS },
);

test("peers file lines: comments, blanks, IPv6, and bad lines named with their number", () => {
  assert.deepEqual(parsePeersFile("10.0.0.2:9000\n\n# db\n  [::1]:9000 # local\r\nnode-3.internal:9000\n"), {
    addresses: ["10.0.0.2:9000", "[::1]:9000", "node-3.internal:9000"],
    problems: [],
  });
  const { addresses, problems } = parsePeersFile("10.0.0.2\n10.0.0.3:0\n10.0.0.4:9000\n");
  assert.deepEqual(addresses, ["10.0.0.4:9000"]);
  assert.deepEqual(
    problems.map((p) => p.line),
    [1, 2],
  );
  assert.match(problems[0].message, /expected host:port/);
  assert.match(problems[1].message, /port 0 only makes sense for a listening address/);
});

test("a file replaced by a symlink swap (a Kubernetes ConfigMap) is seen, bad lines warned once, a missing file is empty", async () => {
  const dir = mkdtempSync(join(tmpdir(), "nx-peers-cm-"));
  const warnings: string[] = [];
  const logger = { ...silentLogger, warn: (message: string, _fields?: LogFields) => warnings.push(message) };
  try {
    // The ConfigMap layout: peers -> ..data/peers, ..data -> ..v1; an update swaps ..data.
    const version = (name: string, text: string) => {
      writeFileSync(join(dir, `${name}.txt`), text);
      symlinkSync(`${name}.txt`, join(dir, `..data-${name}`));
      renameSync(join(dir, `..data-${name}`), join(dir, "..data"));
    };
    version("v1", "10.0.0.2:9000\nnot an address\n");
    symlinkSync("..data", join(dir, "peers"));
    const discovery = createFileDiscovery({ path: join(dir, "peers"), refreshIntervalMs: 60_000, logger });
    await discovery.start();
    assert.deepEqual(discovery.discover(), [{ address: "10.0.0.2:9000" }]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /peers file: skipped 1 line\(s\): .*peers:2: invalid address "not an address"/);
    const changed = new Promise((resolve) => discovery.watch(resolve));
    version("v2", "10.0.0.3:9000\n");
    await changed; // through the directory watch: the poll is a minute away
    assert.deepEqual(discovery.discover(), [{ address: "10.0.0.3:9000" }]);
    await discovery.stop();

    const missing = createFileDiscovery({ path: join(dir, "absent"), refreshIntervalMs: 60_000, logger });
    await missing.start();
    assert.deepEqual(missing.discover(), []);
    assert.match(warnings.at(-1)!, /peers file .*absent does not exist \(yet\)/);
    await missing.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
