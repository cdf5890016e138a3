/**
 * The cost of counting host calls (`numax_host_calls_total`): a guest calls WASI sched_yield, a
 * host function that does nothing, in a loop, with and without a HostCallCounter in its
 * environment. Reports calls per second of each and the added nanoseconds per call.
 *
 *   npm run bench -- host-calls [--quick] [--report FILE]
 */
import { cpus, loadavg } from "node:os";
import { HostCallCounter } from "../src/wasm/abi/host-call-counter.ts";
import { GuestInstance } from "../src/wasm/guest-instance.ts";
import { loadFixtureModule, recordingEnvironment } from "../test/fixtures/wasm/guest-runtime.ts";
import type { BenchmarkOptions, BenchmarkReport } from "./run.ts";

export async function runBenchmark(options: BenchmarkOptions): Promise<BenchmarkReport> {
  const calls = options.quick ? 200_000 : 5_000_000;
  const rounds = options.quick ? 1 : 7;
  const module = await loadFixtureModule("bench-host-calls");
  const counter = new HostCallCounter();
  const plain = GuestInstance.create(module, { env: recordingEnvironment("plain"), cpuMsPerRun: undefined });
  const counted = GuestInstance.create(module, {
    env: { ...recordingEnvironment("counted"), hostCalls: counter },
    cpuMsPerRun: undefined,
  });
  const timed = async (guest: GuestInstance): Promise<number> => {
    new DataView(guest.memory.buffer).setUint32(0, calls, true);
    const started = performance.now();
    const result = await guest.run();
    if (!result.ok) throw result.failure;
    return (performance.now() - started) / calls;
  };
  const plainMs: number[] = [];
  const countedMs: number[] = [];
  // Alternated, so that machine load drifts over both alike; the first round warms both up.
  for (let round = 0; round <= rounds; round++) {
    const a = await timed(plain);
    const b = await timed(counted);
    if (round === 0) continue;
    plainMs.push(a);
    countedMs.push(b);
  }
  let total = 0;
  counter.drain((_module, _name, n) => {
    total += n;
  });
  if (total !== calls * (rounds + 1)) throw new Error(`counted ${total} calls, made ${calls * (rounds + 1)}`);
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const plainNs = median(plainMs) * 1e6;
  const countedNs = median(countedMs) * 1e6;
  return {
    benchmark: "host-calls",
    quick: options.quick,
    machine: { cpus: cpus().length, loadavg_1m: Number(loadavg()[0].toFixed(2)), node: process.version },
    calls_per_round: calls,
    ns_per_call_uncounted: Number(plainNs.toFixed(1)),
    ns_per_call_counted: Number(countedNs.toFixed(1)),
    counting_overhead_ns_per_call: Number((countedNs - plainNs).toFixed(1)),
    calls_per_sec_uncounted: Math.round(1e9 / plainNs),
    calls_per_sec_counted: Math.round(1e9 / countedNs),
  };
}
