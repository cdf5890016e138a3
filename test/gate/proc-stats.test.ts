/** Reading a process's memory and CPU from /proc. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseProcStatCpuSecs, parseProcStatus, readProcStats } from "../../bench/gate/proc-stats.ts";
import { ResourceSampler } from "../../bench/gate/resource-sampler.ts";

describe("/proc figures", () => {
  test("VmRSS and VmHWM in bytes; absent fields are 0", () => {
    const status = "Name:\tnode\nVmPeak:\t 9000 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t11\n";
    assert.deepEqual(parseProcStatus(status), { rssBytes: 102400 * 1024, peakRssBytes: 204800 * 1024 });
    assert.deepEqual(parseProcStatus("Name:\tzombie\nState:\tZ\n"), { rssBytes: 0, peakRssBytes: 0 });
  });

  test("utime + stime, counted after the command name even when it holds spaces and parentheses", () => {
    const stat = "4242 (node (gate) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 130 0 0 20 0 11 0 777 0 0";
    assert.equal(parseProcStatCpuSecs(stat), 3.8);
  });

  test("this process reads as alive with memory and some CPU; a gone pid reads as undefined", async () => {
    const stats = await readProcStats(process.pid);
    assert.ok(stats !== undefined);
    assert.ok(stats.rssBytes > 10 * 1024 * 1024);
    assert.ok(stats.peakRssBytes >= stats.rssBytes);
    assert.ok(stats.cpuSecs > 0);
    assert.equal(await readProcStats(2 ** 22 + 12345), undefined);
  });

  test("a node's CPU adds up over its incarnations and its peak is the highest", async () => {
    const figures = new Map([
      [1, { rssBytes: 50 * 2 ** 20, peakRssBytes: 60 * 2 ** 20, cpuSecs: 2 }],
      [2, { rssBytes: 80 * 2 ** 20, peakRssBytes: 80 * 2 ** 20, cpuSecs: 1.5 }],
    ]);
    const sampler = new ResourceSampler(1000, async (pid) => figures.get(pid));
    sampler.track("n0", 1);
    await sampler.sample("n0");
    sampler.track("n0", 2);
    await sampler.sample("n0");
    assert.deepEqual(sampler.summary(), [
      { node: "n0", peak_rss_mb: 80, cpu_secs: 3.5, incarnations: 2, pids: [1, 2] },
    ]);
    assert.deepEqual(
      sampler.samples.map((sample) => sample.cpuSecs),
      [2, 3.5],
    );
  });
});
