import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { test } from "node:test";
import { freePorts } from "../../bench/gate/free-port.ts";

test("free ports are distinct, bindable, and outside the kernel's ephemeral range (which other tests' connections draw from)", async () => {
  const ports = await freePorts(8);
  assert.equal(new Set(ports).size, 8);
  const ephemeralLow = Number(
    readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0],
  );
  for (const port of ports) {
    assert.ok(port >= 10_000 && port < ephemeralLow, `${port} (ephemeral range from ${ephemeralLow})`);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", resolve);
    });
    await new Promise((resolve) => server.close(resolve));
  }
});
