/**
 * Serving quotas of a module (docs/design/policies.md#quotas), on a real `nx run --serve` with
 * real HTTP: past `requests_per_sec` or `connections_max` a request to the module's handlers is
 * answered 429 with Retry-After at once (its handler never runs), the node logs the hit, and
 * requests within the quota are served as before.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { examplePath, type NxProcess, startNx, stopNx, tempDir } from "../helpers/nx-process.ts";

const dir = tempDir("nx-serve-quotas-");
const running: NxProcess[] = [];
after(async () => {
  await Promise.all(running.map((nx) => stopNx(nx, 3000)));
  dir.remove();
});

/** `quotas` in the policy; `narrowed` in numax.toml's `[modules.http_hello] quotas`. */
async function serveWith(
  name: string,
  quotas: string,
  narrowed = "{}",
): Promise<{ nx: NxProcess; base: string; metrics: string }> {
  const policy = join(dir.path, `${name}.policy.toml`);
  writeFileSync(policy, `[capabilities]\nnetwork.serve = true\n[quotas]\n${quotas}\n`);
  const config = join(dir.path, `${name}.toml`);
  writeFileSync(config, `[modules.http_hello]\nquotas = ${narrowed}\n`);
  const nx = startNx(
    [
      "run",
      examplePath("http_hello"),
      "--serve",
      "127.0.0.1:0",
      "--datastore-path",
      join(dir.path, name),
      "--policy",
      policy,
      "--config",
      config,
      "--observability-listen",
      "127.0.0.1:0",
    ],
    { NX_POLICY_DEFAULT: "deny" },
  );
  running.push(nx);
  const base = (await nx.waitFor(/serving HTTP url=(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
  const metrics = `${(await nx.waitFor(/observability: listening url=(http:\/\/127\.0\.0\.1:\d+)/))[1]}/metrics`;
  return { nx, base, metrics };
}

test("past requests_per_sec (numax.toml narrowing the policy's): 429 with Retry-After, logged; within it: 200", async () => {
  const { nx, base } = await serveWith("rate", "requests_per_sec = 1000", "{ requests_per_sec = 3 }");
  const answers = await Promise.all(
    Array.from({ length: 8 }, () => fetch(`${base}/hello/ada`, { signal: AbortSignal.timeout(10_000) })),
  );
  const served = answers.filter((response) => response.status === 200);
  const refused = answers.filter((response) => response.status === 429);
  // The bucket holds one second's worth (3), and refills 3 a second while the requests arrive.
  assert.ok(served.length >= 3 && served.length <= 5, `${served.length} served`);
  assert.equal(served.length + refused.length, 8);
  assert.equal(refused[0]!.headers.get("retry-after"), "1");
  assert.equal(await refused[0]!.text(), "too many requests: module http_hello is over its request quota\n");
  assert.equal(await served[0]!.text(), "hello ada");
  await nx.waitFor(
    /WARN {2}quota: module http_hello reached its quota requests_per_sec: 3 requests\/s; serving answers 429 module=http_hello quota=requests_per_sec/,
  );
});

test("past connections_max: a request while another is open is refused 429", async () => {
  const { nx, base } = await serveWith("connections", "connections_max = 1");
  const stream = new AbortController();
  // An event stream holds its request open until the client goes away.
  const events = await fetch(`${base}/events`, { signal: stream.signal });
  assert.equal(events.status, 200);
  const refused = await fetch(`${base}/hello/ada`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(refused.status, 429);
  await refused.text();
  stream.abort();
  await nx.waitFor(/reached its quota connections_max: 1 requests at once; serving answers 429/);
  // Once the stream's handler stopped, a request is served again.
  for (;;) {
    const response = await fetch(`${base}/hello/ada`, { signal: AbortSignal.timeout(10_000) });
    const body = await response.text();
    if (response.status === 200) {
      assert.equal(body, "hello ada");
      break;
    }
    assert.equal(response.status, 429);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
});

test("cpu_ms_per_run: a handler runs under its module's budget, and the stop counts as a quota hit", async () => {
  const { base, metrics } = await serveWith("cpu", "cpu_ms_per_run = 50");
  const started = performance.now();
  // GET /spin never returns: stopped by the module's 50 ms budget, not serving's default of 1 s.
  const response = await fetch(`${base}/spin`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(response.status, 500);
  await response.text();
  assert.ok(performance.now() - started < 900, "stopped well before the default 1 s budget");
  const series = 'numax_module_quota_hits_total{module="http_hello",quota="cpu_ms_per_run"} 1';
  for (;;) {
    if ((await (await fetch(metrics)).text()).split("\n").includes(series)) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
});
