/**
 * When a node opens its dashboard (docs/dashboard.md), on real `nx run` processes: on the nodes
 * that have the management API, not for a one-shot run; `off` turns it off; a busy default
 * address is one warning and the node runs on; a busy address given explicitly, or a
 * non-loopback one without TLS or the plaintext switch, refuses the start with one line; it
 * answers with the management tokens (Bearer or the login form), logging out ends the session,
 * and past DASHBOARD_STREAMS_MAX live views a new one answers 503.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { DASHBOARD_STREAMS_MAX } from "../../src/dashboard/dashboard-server.ts";
import { guestPath, nxCert, startNx, stopNx, tempDir } from "../helpers/nx-process.ts";

let dir: ReturnType<typeof tempDir>;

function occupy(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

const reactive = (name: string, ...args: string[]) =>
  startNx(["run", guestPath("reactive_probe"), "--datastore-path", join(dir.path, name), ...args]);

describe("the dashboard's listener", { timeout: 90_000 }, () => {
  before(() => {
    dir = tempDir("nx-dashboard-listen-");
  });
  after(() => dir?.remove());

  test("it opens with the management API and takes either token; the login cookie lasts until logout", async () => {
    const nx = reactive("on", "--management-listen", "127.0.0.1:0", "--dashboard-listen", "127.0.0.1:0");
    try {
      const url = (await nx.waitFor(/dashboard: listening url=(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
      await nx.waitFor(/^init$/m);
      const admin = readFileSync(join(dir.path, "on/management.token"), "utf8").trim();
      const page = await fetch(`${url}/modules`, { headers: { authorization: `Bearer ${admin}` } });
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<td data-field="id">reactive_probe<\/td>/);
      const login = await fetch(`${url}/login`, {
        method: "POST",
        body: new URLSearchParams({ token: admin }),
        redirect: "manual",
      });
      assert.equal(login.status, 303);
      const cookie = login.headers.get("set-cookie")!;
      assert.match(cookie, /^nx_dashboard=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
      const session = cookie.split(";")[0]!;
      assert.equal(
        (await fetch(`${url}/cluster`, { headers: { cookie: session }, redirect: "manual" })).status,
        200,
      );
      const logout = await fetch(`${url}/logout`, {
        method: "POST",
        headers: { cookie: session },
        redirect: "manual",
      });
      assert.deepEqual([logout.status, logout.headers.get("location")], [303, "/login"]);
      const afterLogout = await fetch(`${url}/cluster`, { headers: { cookie: session }, redirect: "manual" });
      assert.deepEqual([afterLogout.status, afterLogout.headers.get("location")], [303, "/login"]);
      const crossSite = await fetch(`${url}/login`, {
        method: "POST",
        headers: { origin: "http://elsewhere.example" },
        body: new URLSearchParams({ token: admin }),
        redirect: "manual",
      });
      assert.equal(crossSite.status, 403);
      // A login form over DASHBOARD_FORM_BYTES_MAX (4 KiB), even holding the right token: the
      // connection is closed without an answer, and no session is made.
      const flood = await fetch(`${url}/login`, {
        method: "POST",
        body: new URLSearchParams({ token: admin, pad: "x".repeat(5000) }),
        redirect: "manual",
      }).then(
        (response) => `answered ${response.status}`,
        () => "closed",
      );
      assert.equal(flood, "closed");
      assert.equal(
        (await fetch(`${url}/modules`, { headers: { authorization: `Bearer ${admin}` } })).status,
        200,
      );
      // At most DASHBOARD_STREAMS_MAX live views at once: the next one is told to come back.
      const aborter = new AbortController();
      const streams = await Promise.all(
        Array.from({ length: DASHBOARD_STREAMS_MAX }, async () => {
          const stream = await fetch(`${url}/events/modules`, {
            headers: { authorization: `Bearer ${admin}` },
            signal: aborter.signal,
          });
          const reader = stream.body!.getReader();
          assert.match(new TextDecoder().decode((await reader.read()).value), /^event: view\ndata: /);
          return reader;
        }),
      );
      const refused = await fetch(`${url}/events/modules`, { headers: { authorization: `Bearer ${admin}` } });
      assert.deepEqual([refused.status, refused.headers.get("retry-after")], [503, "5"]);
      await refused.text();
      aborter.abort();
      await Promise.all(streams.map((reader) => reader.cancel().catch(() => {})));
      // Sync is off: the views that need it say so instead of failing.
      const ops = await fetch(`${url}/ops`, { headers: { authorization: `Bearer ${admin}` } });
      assert.match(await ops.text(), /This node does not sync/);
    } finally {
      await stopNx(nx);
    }
  });

  test("off: no dashboard; a one-shot run has none either", async () => {
    const off = reactive("off", "--management-listen", "127.0.0.1:0", "--dashboard-listen", "off");
    try {
      await off.waitFor(/^init$/m);
      assert.doesNotMatch(off.stderr(), / dashboard: /);
    } finally {
      await stopNx(off);
    }
    const oneShot = startNx(["run", guestPath("proc_noop"), "--datastore-path", join(dir.path, "one-shot")], {
      NX_DASHBOARD_LISTEN: "127.0.0.1:0",
    });
    assert.equal((await oneShot.exited).code, 0);
    assert.doesNotMatch(oneShot.stderr(), / dashboard: /);
  });

  test("the default address busy: the dashboard on a free port its start line says, and no warning", async () => {
    const busy = await occupy(9101).catch(() => undefined);
    // An empty NX_DASHBOARD_LISTEN reads as unset: the default address applies.
    const nx = startNx(
      ["run", guestPath("reactive_probe"), "--datastore-path", join(dir.path, "default-busy")],
      { NX_DASHBOARD_LISTEN: "" },
    );
    try {
      await nx.waitFor(/^init$/m);
      const warnings = nx
        .stderr()
        .split("\n")
        // The test helpers run modules with --policy-default trusted, which warns once per module.
        .filter((line) => / WARN /.test(line) && !/ WARN +policy: /.test(line));
      assert.deepEqual(warnings, [], nx.stderr());
      const url = (await nx.waitFor(/dashboard: listening url=(http:\/\/127\.0\.0\.1:(\d+))/))!;
      assert.notEqual(url[2], "9101");
      assert.equal((await fetch(url[1]!)).status, 200);
    } finally {
      await stopNx(nx);
      busy?.close();
    }
  });

  test("a busy address given explicitly, or a non-loopback one without TLS: the node does not start", async () => {
    const busy = await occupy(0);
    try {
      const port = (busy.address() as { port: number }).port;
      const nx = reactive("busy", "--dashboard-listen", `127.0.0.1:${port}`);
      assert.equal((await nx.exited).code, 2);
      assert.match(
        nx.stderr(),
        new RegExp(`nx: error: cannot open the dashboard on 127\\.0\\.0\\.1:${port}: the address is in use`),
      );
    } finally {
      busy.close();
    }
    const remote = reactive("remote", "--dashboard-listen", "0.0.0.0:0");
    assert.equal((await remote.exited).code, 2);
    assert.match(
      remote.stderr().trim().split("\n").at(-1)!,
      /^nx: error: the dashboard on 0\.0\.0\.0:0 would be reachable from other hosts: .*tls_cert and tls_key.*--management-allow-remote-plaintext/,
    );
  });

  test("beyond loopback with the management API's TLS material: HTTPS, and the login cookie is Secure", async () => {
    nxCert(["ca", "--out", join(dir.path, "ca")]);
    nxCert(["node", "--ca-dir", join(dir.path, "ca"), "--name", "admin", "--out", join(dir.path, "admin")]);
    const nx = reactive(
      "https",
      "--management-listen",
      "127.0.0.1:0",
      "--dashboard-listen",
      "0.0.0.0:0",
      "--management-tls-cert",
      join(dir.path, "admin/node.crt"),
      "--management-tls-key",
      join(dir.path, "admin/node.key"),
    );
    try {
      const port = (await nx.waitFor(/dashboard: listening url=https:\/\/0\.0\.0\.0:(\d+)/))[1]!;
      const token = readFileSync(join(dir.path, "https/management-read.token"), "utf8").trim();
      const body = new URLSearchParams({ token }).toString();
      const answer = await new Promise<{ status: number; cookie: string | undefined }>((resolve, reject) => {
        const request = httpsRequest(
          `https://127.0.0.1:${port}/login`,
          // The certificate names the node, not 127.0.0.1: the chain is what is checked here.
          {
            method: "POST",
            ca: readFileSync(join(dir.path, "ca/ca.crt")),
            checkServerIdentity: () => undefined,
            timeout: 10_000,
            headers: { "content-type": "application/x-www-form-urlencoded", "content-length": body.length },
          },
          (response) => {
            response.resume();
            response.on("end", () =>
              resolve({ status: response.statusCode!, cookie: response.headers["set-cookie"]?.[0] }),
            );
          },
        );
        request.on("error", reject);
        request.end(body);
      });
      assert.equal(answer.status, 303);
      assert.match(answer.cookie ?? "", /; HttpOnly; SameSite=Strict; Max-Age=43200; Secure$/);
    } finally {
      await stopNx(nx);
    }
  });
});
