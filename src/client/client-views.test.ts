import assert from "node:assert/strict";
import { test } from "node:test";
import {
  formatBytes,
  formatDuration,
  type ProcessView,
  renderKeys,
  renderPeers,
  renderProcesses,
} from "./client-views.ts";

const process = (pid: string, reductions: number): ProcessView => ({
  pid,
  name: null,
  label: `p${pid}`,
  kind: "wasm",
  status: "waiting",
  parent: "<0.0>",
  droppedMessages: 0,
  trapExit: false,
  mailboxLength: 2,
  reductions,
  memoryBytes: 2048,
  links: ["<0.1.0>"],
  monitors: [],
  monitoredBy: [],
});

test("nx ps lists the busiest process first, columns aligned under their headers", () => {
  const lines = renderProcesses([process("<0.1.0>", 5), process("<0.22.0>", 900)])
    .trimEnd()
    .split("\n");
  assert.equal(lines.length, 3);
  assert.match(lines[1]!, /^<0\.22\.0>/);
  assert.match(lines[2]!, /^<0\.1\.0> /);
  const column = lines[0]!.indexOf("REDUCTIONS");
  assert.equal(lines[1]!.slice(column).split(/\s+/)[0], "900");
  assert.equal(lines[2]!.slice(column).split(/\s+/)[0], "5");
});

test("empty lists say so instead of printing a bare header", () => {
  assert.equal(renderProcesses([]), "(no processes)\n");
  assert.equal(renderPeers([]), "(no peers)\n");
  assert.equal(renderKeys({ keys: [], nextCursor: null }), "(no keys)\n");
});

test("a page of keys with more after it says how to get them", () => {
  const text = renderKeys({ keys: [{ key: "a", family: "gcounter" }], nextCursor: "YQ" });
  assert.match(text, /--cursor YQ/);
});

test("sizes and durations read as people write them", () => {
  assert.equal(formatBytes(512), "512 B");
  assert.equal(formatBytes(1536), "1.5 KiB");
  assert.equal(formatBytes(3 * 1024 ** 3), "3.0 GiB");
  assert.equal(formatDuration(250), "250 ms");
  assert.equal(formatDuration(4200), "4.2 s");
  assert.equal(formatDuration(125_000), "2m05s");
  assert.equal(formatDuration(3_725_000), "1h02m");
});
