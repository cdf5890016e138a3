/**
 * The dashboard in a real browser: Chromium (Debian's `chromium`, driven by playwright-core;
 * nothing downloaded) against three real nodes (child processes, sync over TCP, LMDB on disk).
 * Each view shows the values the management API gives for the same node; a key named `<script>`
 * shows as text and runs nothing; a node stopped with SIGSTOP (partitioned) shows up as suspected
 * divergence in the convergence view, and clears once it runs again. The run takes a screenshot
 * of each view; with NX_UPDATE_SCREENSHOTS=1 into docs/dashboard/ (shown in docs/dashboard.md),
 * otherwise into its temporary directory, so a plain `npm test` leaves the work tree as it was.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { type DashboardNode, dashboardNodes } from "../helpers/dashboard-node.ts";
import { pollUntil, REPO_ROOT, tempDir } from "../helpers/nx-process.ts";

/** Debian's chromium; NX_CHROMIUM names another binary. */
const CHROMIUM = process.env.NX_CHROMIUM ?? "/usr/bin/chromium";
const SKIP = existsSync(CHROMIUM)
  ? false
  : `no Chromium at ${CHROMIUM}: install Debian's package (apt-get install -y chromium) or set NX_CHROMIUM`;
const DOC_SCREENSHOTS = join(REPO_ROOT, "docs/dashboard");
const WAIT_MS = 20_000;
/** A key and a value a hostile writer could choose. */
const HOSTILE_KEY = "<script>window.pwned=1</script>";
const HOSTILE_VALUE = '<img src=x onerror="window.pwned=2">';

const nodes = dashboardNodes();
let dir: ReturnType<typeof tempDir>;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let a: DashboardNode;
let b: DashboardNode;
let c: DashboardNode;

// What runs in the page is written as strings: the test's types are Node's, not the DOM's.

/** The rows of table `#id` (not of tables nested in it): each row's `data-field` cells as text. */
const rowsOf = (id: string) =>
  page.evaluate(`[...document.querySelectorAll("#${id} > tbody > tr")].map((tr) =>
    Object.fromEntries([...tr.querySelectorAll("[data-field]")].map((cell) => [cell.dataset.field, cell.textContent.trim()])))`) as Promise<
    Record<string, string>[]
  >;

/** The `data-field` cells of element `#id` as text. */
const fieldsOf = (id: string) =>
  page.evaluate(`Object.fromEntries([...document.querySelectorAll("#${id} [data-field]")].map((cell) =>
    [cell.dataset.field, cell.textContent.trim()]))`) as Promise<Record<string, string>>;

/** A value as the dashboard prints it: null as a dash. */
const shown = (value: unknown): string => (value === null || value === undefined ? "–" : String(value));

/** Picks `fields` of each object and prints them as the dashboard does. */
const pick = (objects: readonly object[], fields: readonly string[]): Record<string, string>[] =>
  objects.map((object) =>
    Object.fromEntries(fields.map((field) => [field, shown((object as Record<string, unknown>)[field])])),
  );

/**
 * Reads the page and the API until they agree (the page's live part is refreshed every second);
 * fails with both when they never do.
 */
async function agree<T>(fromPage: () => Promise<T>, fromApi: () => Promise<T>): Promise<void> {
  let last: [T, T] | undefined;
  const matched = await pollUntil(
    async () => {
      last = [await fromApi(), await fromPage()];
      return last;
    },
    ([api, shownNow]) => JSON.stringify(api) === JSON.stringify(shownNow),
    WAIT_MS,
  );
  assert.deepEqual(matched[1], matched[0], "the page shows what the API gives");
}

/**
 * Waits until `expression` is true in the page. Not waitForFunction: that evaluates a string
 * predicate with eval, which the dashboard's CSP refuses (as it should).
 */
async function waitInPage(expression: string): Promise<void> {
  const held = await pollUntil(
    async () => (await page.evaluate(expression)) === true,
    (value) => value,
    WAIT_MS,
  );
  assert.ok(held, `never true in the page: ${expression}`);
}

async function open(path: string): Promise<void> {
  await page.goto(`${a.dashboardUrl}${path}`);
  // The live part's event stream is open: later changes arrive without a reload.
  await waitInPage('document.querySelector("#live")?.getAttribute("sse-connect") !== null');
}

let screenshots: string;
const screenshot = (name: string) =>
  page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });

describe("the dashboard in Chromium against three nodes", { skip: SKIP, timeout: 240_000 }, () => {
  before(async () => {
    dir = tempDir("nx-dashboard-browser-");
    screenshots = process.env.NX_UPDATE_SCREENSHOTS === "1" ? DOC_SCREENSHOTS : join(dir.path, "screenshots");
    mkdirSync(screenshots, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    a = await nodes.start({ datastore: join(dir.path, "a") });
    b = await nodes.start({ datastore: join(dir.path, "b"), peers: [a.syncPort] });
    c = await nodes.start({ datastore: join(dir.path, "c"), peers: [a.syncPort, b.syncPort] });
    for (const node of [a, b, c]) {
      await pollUntil(
        () => node.api<{ state: string }[]>("/peers"),
        (peers) => peers.filter((peer) => peer.state === "connected").length === 2,
        WAIT_MS,
      );
    }
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
  });

  after(async () => {
    await browser?.close();
    await nodes.stopAll();
    dir?.remove();
  });

  test("a page needs a token: the login form takes the read-only token and sets an HttpOnly, SameSite=Strict cookie", async () => {
    await page.goto(a.dashboardUrl);
    assert.match(page.url(), /\/login$/);
    await page.fill('input[name="token"]', "not-the-token");
    await page.click('button[type="submit"]');
    assert.match(
      (await page.textContent('[role="alert"]')) ?? "",
      /not this node's admin or read-only token/,
    );
    await page.fill('input[name="token"]', a.readToken);
    await page.click('button[type="submit"]');
    await page.waitForURL(/\/cluster$/);
    const [cookie] = await context.cookies();
    assert.deepEqual([cookie?.name, cookie?.httpOnly, cookie?.sameSite], ["nx_dashboard", true, "Strict"]);
    assert.notEqual(cookie?.value, a.readToken, "the cookie carries a session id, not the token");
  });

  test("cluster: this node and its peers as the API gives them", async () => {
    await open("/cluster");
    assert.equal((await fieldsOf("node")).nodeId, a.nodeId);
    const fields = ["address", "nodeId", "state", "health", "direction", "rttMs", "since"];
    await agree(
      () => rowsOf("peers"),
      async () => pick(await a.api<object[]>("/peers"), fields),
    );
    const peers = await rowsOf("peers");
    assert.deepEqual(peers.map((peer) => peer.nodeId).sort(), [b.nodeId, c.nodeId].sort());
    assert.ok(peers.every((peer) => peer.state === "connected" && peer.health === "healthy"));
    assert.equal(await page.locator("svg.topology line.link.connected").count(), 2);
    await screenshot("cluster");
  });

  test("op flow: ops in and out as the API gives them, filters, live rows, a hostile key shown as text", async () => {
    for (let count = 0; count < 3; count++) await a.write("gcounter", "visits");
    await a.write("lww-map", HOSTILE_KEY, HOSTILE_VALUE, HOSTILE_VALUE);
    await b.write("orset", "tags", "blue");
    await pollUntil(
      () => a.api<{ ops: { key: string }[] }>("/ops"),
      ({ ops }) => ops.some((op) => op.key === "tags"),
      WAIT_MS,
    );
    await open("/ops");
    const fields = ["direction", "origin", "family", "key", "type"];
    await agree(
      () => rowsOf("ops"),
      async () => pick((await a.api<{ ops: object[] }>("/ops?limit=100")).ops.toReversed(), fields),
    );
    const rows = await rowsOf("ops");
    assert.ok(rows.some((row) => row.direction === "in" && row.origin === b.nodeId && row.key === "tags"));
    assert.ok(
      rows.some((row) => row.key === HOSTILE_KEY),
      "the hostile key shows as text",
    );
    assert.equal(await page.evaluate("window.pwned"), undefined, "nothing a key or value holds ran");
    assert.equal(
      await page.locator("script").count(),
      2,
      "the page's only scripts are htmx and its SSE extension",
    );
    await screenshot("ops");

    // Live: an op made on B after the page loaded arrives without a reload.
    await b.write("gcounter", "live");
    await waitInPage(
      `[...document.querySelectorAll("#ops td[data-field=key]")].some((cell) => cell.textContent === "live")`,
    );

    for (const [query, check] of [
      ["key=vis", (row: Record<string, string>) => row.key === "visits"],
      ["family=orset", (row: Record<string, string>) => row.family === "orset"],
      [`peer=${b.nodeId.slice(0, 8)}`, (row: Record<string, string>) => row.origin === b.nodeId],
    ] as const) {
      await open(`/ops?${query}`);
      await agree(
        () => rowsOf("ops"),
        async () =>
          pick((await a.api<{ ops: object[] }>(`/ops?limit=100&${query}`)).ops.toReversed(), fields),
      );
      const filtered = await rowsOf("ops");
      assert.ok(filtered.length > 0 && filtered.every(check), `${query}: ${JSON.stringify(filtered)}`);
    }
  });

  test("CRDT explorer: keys, family, value, last change and author as the API gives them; a hostile key and value as text", async () => {
    interface KeyView {
      key: string;
      family: string;
      value: unknown;
      lastWriter: string | null;
      lastChangeAt: string | null;
    }
    const fromApi = async (prefix: string) => {
      const { keys } = await a.api<{ keys: { key: string; family: string }[] }>(
        `/keys?limit=50&prefix=${encodeURIComponent(prefix)}`,
      );
      const views = [];
      for (const { key, family } of keys) {
        const view = await a.api<KeyView>(`/keys/${encodeURIComponent(key)}?family=${family}`);
        views.push({
          key: view.key,
          family: view.family,
          value: JSON.stringify(view.value),
          lastChangeAt: shown(view.lastChangeAt),
          lastWriter: shown(view.lastWriter),
        });
      }
      return views;
    };
    await open("/crdt");
    await agree(
      () => rowsOf("keys"),
      () => fromApi(""),
    );
    const rows = await rowsOf("keys");
    const hostile = rows.find((row) => row.key === HOSTILE_KEY);
    assert.deepEqual(
      [hostile?.family, hostile?.value, hostile?.lastWriter],
      ["lww-map", JSON.stringify({ [HOSTILE_VALUE]: HOSTILE_VALUE }), a.nodeId],
    );
    assert.equal(rows.find((row) => row.key === "tags")?.lastWriter, b.nodeId);
    assert.equal(await page.evaluate("window.pwned"), undefined, "nothing a key or value holds ran");
    await screenshot("crdt");
    await open("/crdt?prefix=vis");
    await agree(
      () => rowsOf("keys"),
      () => fromApi("vis"),
    );
    assert.deepEqual(
      (await rowsOf("keys")).map((row) => row.key),
      ["visits"],
    );
  });

  test("throughput and latency: ops/s, p50/p95/p99 and errors as the API gives them", async () => {
    await open("/throughput");
    await agree(
      async () => {
        const { opsInPerSecond, opsOutPerSecond, p50, p95, p99, max, errors } = await fieldsOf("live");
        return { opsInPerSecond, opsOutPerSecond, p50, p95, p99, max, errors };
      },
      async () => {
        const view = await a.api<{
          opsInPerSecond: number;
          opsOutPerSecond: number;
          propagationMs: Record<string, number | null>;
          errors: Record<string, number>;
        }>("/throughput");
        const { p50, p95, p99, max } = view.propagationMs;
        return {
          opsInPerSecond: shown(view.opsInPerSecond),
          opsOutPerSecond: shown(view.opsOutPerSecond),
          p50: shown(p50),
          p95: shown(p95),
          p99: shown(p99),
          max: shown(max),
          errors: Object.keys(view.errors).length === 0 ? "none" : JSON.stringify(view.errors),
        };
      },
    );
    assert.notEqual((await fieldsOf("live")).p50, "–", "ops from B and C have propagation latencies");
    await screenshot("throughput");
  });

  test("modules: state, host calls, quotas and processes as the API gives them", async () => {
    await open("/modules");
    const moduleFields = [
      "id",
      "state",
      "queuedEvents",
      "processes",
      "cpuMs",
      "memoryBytes",
      "hostCalls",
      "reloads",
    ];
    await agree(
      () => rowsOf("modules"),
      async () => pick(await a.api<object[]>("/modules"), moduleFields),
    );
    assert.equal((await rowsOf("modules"))[0]?.id, "dashboard_writer");
    await agree(
      () => rowsOf("processes"),
      async () => pick(await a.api<object[]>("/processes"), ["pid", "module", "status", "mailboxLength"]),
    );
    await agree(
      async () => {
        const { cpuMsPerRun, memoryMaxMb } = await fieldsOf("quotas");
        return { cpuMsPerRun, memoryMaxMb };
      },
      async () => {
        const { quotas } = await a.api<{ quotas: { cpuMsPerRun: number | null; memoryMaxMb: number } }>(
          "/node",
        );
        return { cpuMsPerRun: shown(quotas.cpuMsPerRun ?? "none"), memoryMaxMb: shown(quotas.memoryMaxMb) };
      },
    );
    await screenshot("modules");
  });

  test("convergence: vectors and lag as the API gives them; a partitioned node shows up as suspected divergence", async () => {
    interface Convergence {
      versionVector: Record<string, number>;
      peers: {
        nodeId: string;
        state: string | null;
        missingOps: number | null;
        suspectedDivergence: boolean;
      }[];
    }
    await open("/convergence");
    await waitInPage(`document.querySelector("#divergence")?.textContent === "No divergence suspected."`);
    await agree(
      () =>
        page.evaluate(
          `[...document.querySelectorAll("#live > div table.vector td[data-origin]")].map((cell) => [cell.dataset.origin, Number(cell.textContent)])`,
        ),
      async () =>
        Object.entries((await a.api<Convergence>("/convergence")).versionVector).sort(([x], [y]) =>
          x < y ? -1 : 1,
        ),
    );
    const peerRow = (peer: Convergence["peers"][number]) => ({
      state: shown(peer.state),
      missingOps: shown(peer.missingOps),
      suspectedDivergence: peer.suspectedDivergence ? "yes" : "no",
    });
    const shownPeers = async () =>
      (await rowsOf("convergence")).map(({ state, missingOps, suspectedDivergence }) => ({
        state,
        missingOps,
        suspectedDivergence,
      }));
    await agree(shownPeers, async () => (await a.api<Convergence>("/convergence")).peers.map(peerRow));
    await screenshot("convergence");

    // Partition C: stopped, it neither reads A's ops nor reports its vector.
    c.nx.child.kill("SIGSTOP");
    try {
      await a.write("gcounter", "while-c-is-away");
      await waitInPage(
        `document.querySelector('#convergence tr[data-node-id="${c.nodeId}"] [data-field=suspectedDivergence]')?.textContent === "yes"`,
      );
      assert.match((await page.textContent("#divergence")) ?? "", /^Suspected divergence/);
      const api = await a.api<Convergence>("/convergence");
      const apiC = api.peers.find((peer) => peer.nodeId === c.nodeId)!;
      assert.equal(apiC.suspectedDivergence, true);
      assert.ok(apiC.missingOps! > 0);
      assert.equal(api.peers.find((peer) => peer.nodeId === b.nodeId)?.suspectedDivergence, false);
      await screenshot("convergence-divergence");
    } finally {
      c.nx.child.kill("SIGCONT");
    }
    // C runs again, catches up and reports: the suspicion clears.
    await waitInPage(`document.querySelector("#divergence")?.textContent === "No divergence suspected."`);
  });

  test("no token: pages redirect to the login form, streams answer 401; the dashboard takes only GET", async () => {
    const cluster = await fetch(`${a.dashboardUrl}/cluster`, { redirect: "manual" });
    assert.deepEqual([cluster.status, cluster.headers.get("location")], [303, "/login"]);
    assert.equal((await fetch(`${a.dashboardUrl}/events/cluster`)).status, 401);
    const bearer = await fetch(`${a.dashboardUrl}/cluster`, {
      headers: { authorization: `Bearer ${a.readToken}` },
    });
    assert.equal(bearer.status, 200);
    assert.match(bearer.headers.get("content-security-policy") ?? "", /default-src 'self'/);
    await bearer.text();
    const post = await fetch(`${a.dashboardUrl}/cluster`, {
      method: "POST",
      headers: { authorization: `Bearer ${a.readToken}` },
    });
    assert.deepEqual([post.status, post.headers.get("allow")], [405, "GET, HEAD"]);
    await post.text();
  });
});
