/**
 * The collaborative_todo example in a real browser: Chromium (Debian's `chromium` package,
 * driven by playwright-core; nothing is downloaded) with three pages on three real nodes
 * (`--listen`/`--peer`/`--tls-insecure`/`--serve`, real LMDB). A todo added on one page appears on
 * the other two (the time from the click to visible on both is measured, written to
 * bench/out/collaborative-todo-latency.json and printed as a diagnostic); a check, an edit and a
 * delete made on one page reach the others; a node restarted while its page stays open catches
 * up, and so does its page.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Browser, chromium, type Page } from "playwright-core";
import { freePort, REPO_ROOT, tempDir } from "../helpers/nx-process.ts";
import { datastoreOf } from "../helpers/sync-node.ts";
import { type TodoNode, todoNodes } from "../helpers/todo-node.ts";

/** Debian's chromium; NX_CHROMIUM names another binary. */
const CHROMIUM = process.env.NX_CHROMIUM ?? "/usr/bin/chromium";
const SKIP = existsSync(CHROMIUM)
  ? false
  : `no Chromium at ${CHROMIUM}: install Debian's package (apt-get install -y chromium) or set NX_CHROMIUM`;
/** Adds timed: the median and the worst are reported. */
const LATENCY_SAMPLES = 10;
/**
 * The seed's closing criterion: an edit on one device seen on the others within 500 ms. The
 * median must meet it; the worst add is reported, not asserted: on a shared 2-core machine at a
 * load of 20 it reached 311 ms, and a descheduled browser is not what this test is about.
 */
const LATENCY_MAX_MS = 500;
const REPORT = join(REPO_ROOT, "bench/out/collaborative-todo-latency.json");
const WAIT_MS = 15_000;

const nodes = todoNodes();
let dir: ReturnType<typeof tempDir>;
let browser: Browser;
const cluster: TodoNode[] = [];
const pages: Page[] = [];
let restartServePort = 0;

/** Hooks of the describe block: they run only when Chromium is there. */
function withCluster(): void {
  before(async () => {
    dir = tempDir("nx-todo-browser-");
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    restartServePort = await freePort();
    cluster.push(await nodes.start({ datastore: datastoreOf(dir.path, "a") }));
    cluster.push(
      await nodes.start({ datastore: datastoreOf(dir.path, "b"), peers: [cluster[0]!.node.port] }),
    );
    cluster.push(
      await nodes.start({
        datastore: datastoreOf(dir.path, "c"),
        peers: [cluster[0]!.node.port, cluster[1]!.node.port],
        servePort: restartServePort,
      }),
    );
    for (const todo of cluster) {
      const page = await (await browser.newContext()).newPage();
      await page.goto(todo.url);
      await connected(page);
      pages.push(page);
    }
    // Each page names its own node, and sees two peers once the mesh is up.
    for (const [i, page] of pages.entries())
      assert.equal(await page.getAttribute("#node", "title"), cluster[i]!.node.nodeId);
    for (const page of pages) await peerCount(page, "2 peers");
  });

  after(async () => {
    await browser?.close();
    await nodes.stopAll();
    dir?.remove();
  });
}

// What runs in the pages is written as strings: the test's types are Node's, not the DOM's.

/** In a page: the todos it shows, [title, done] in order. */
const SHOWN = `[...document.querySelectorAll("#todos li")].map((li) => [
  li.querySelector("input.title").value,
  li.querySelector("input.done").checked,
])`;

async function connected(page: Page): Promise<void> {
  await page.waitForSelector('#status[data-state="connected"]', { timeout: WAIT_MS });
}

/** Waits until `page` says how many peers its node is connected to (`2 peers`). */
async function peerCount(page: Page, text: string): Promise<void> {
  await page.waitForFunction(
    `document.getElementById("peers").textContent === ${JSON.stringify(text)}`,
    undefined,
    {
      timeout: WAIT_MS,
    },
  );
}

/** Adds a todo on `page` and waits for its node's answer (the page then empties the field). */
async function add(page: Page, title: string): Promise<void> {
  await page.fill("#title", title);
  await page.click("#add button");
  await page.waitForFunction('document.getElementById("title").value === ""', undefined, {
    timeout: WAIT_MS,
  });
}

function shown(page: Page): Promise<[string, boolean][]> {
  return page.evaluate(SHOWN) as Promise<[string, boolean][]>;
}

/** Waits until `page` shows exactly `todos`. */
async function showing(page: Page, todos: [string, boolean][]): Promise<void> {
  await page
    .waitForFunction(`JSON.stringify(${SHOWN}) === ${JSON.stringify(JSON.stringify(todos))}`, undefined, {
      timeout: WAIT_MS,
    })
    .catch(async (error: unknown) => {
      const now = JSON.stringify(await shown(page));
      throw new Error(`page ${page.url()} shows ${now}, not ${JSON.stringify(todos)}: ${error}`);
    });
}

/** Records in the page (as `seenAt`) the time `title` first shows, on the clock the pages share. */
async function watchFor(page: Page, title: string): Promise<void> {
  await page.evaluate(`{
    delete window.seenAt;
    const list = document.getElementById("todos");
    const observer = new MutationObserver(() => {
      if ([...list.querySelectorAll("input.title")].some((input) => input.value === ${JSON.stringify(title)})) {
        window.seenAt = performance.timeOrigin + performance.now();
        observer.disconnect();
      }
    });
    observer.observe(list, { childList: true, subtree: true });
  }`);
}

async function seenAt(page: Page): Promise<number> {
  return (await (
    await page.waitForFunction("window.seenAt", undefined, { timeout: WAIT_MS })
  ).jsonValue()) as number;
}

/** Records in the page (as `clickAt`) the time of the next click on Add. */
async function timeNextClick(page: Page): Promise<void> {
  await page.evaluate(`document.querySelector("#add button").addEventListener(
    "click",
    () => { window.clickAt = performance.timeOrigin + performance.now(); },
    { capture: true, once: true },
  )`);
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

describe("collaborative_todo in Chromium, three pages on three nodes", { skip: SKIP }, () => {
  withCluster();

  test("a todo added on one page shows on the other two nodes' pages; click to visible is measured", {
    skip: SKIP,
  }, async (t) => {
    const samples: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const from = pages[i % 3]!;
      const others = pages.filter((page) => page !== from);
      const title = `timed ${i}`;
      await Promise.all(others.map((page) => watchFor(page, title)));
      await from.fill("#title", title);
      await timeNextClick(from);
      await from.click("#add button");
      const seen = await Promise.all(others.map(seenAt));
      const clickAt = (await from.evaluate("window.clickAt")) as number;
      samples.push(Math.max(...seen) - clickAt);
    }
    const sorted = [...samples].sort((x, y) => x - y);
    const report = {
      what: "click on Add on one node's page until the todo shows on the pages of the two other nodes (3 nodes, loopback, plain TCP)",
      samples: samples.length,
      loadAverage1m: Number(loadavg()[0]!.toFixed(2)),
      p50Ms: Number(percentile(sorted, 50).toFixed(1)),
      p95Ms: Number(percentile(sorted, 95).toFixed(1)),
      maxMs: Number(sorted.at(-1)!.toFixed(1)),
      samplesMs: samples.map((ms) => Number(ms.toFixed(1))),
    };
    mkdirSync(join(REPO_ROOT, "bench/out"), { recursive: true });
    writeFileSync(REPORT, `${JSON.stringify(report, null, 2)}\n`);
    t.diagnostic(
      `click to visible on the 2 other nodes: p50 ${report.p50Ms} ms, p95 ${report.p95Ms} ms, max ${report.maxMs} ms at load ${report.loadAverage1m} (${REPORT})`,
    );
    assert.ok(
      report.p50Ms < LATENCY_MAX_MS,
      `adds took ${report.p50Ms} ms (median) to show on the other nodes`,
    );
    const expected = samples.map((_, i): [string, boolean] => [`timed ${i}`, false]);
    for (const page of pages) await showing(page, expected);
  });

  test("a check, an edit and a delete on one page reach the other two", async () => {
    const before = await shown(pages[0]!);
    await add(pages[0]!, "water the plants");
    const listed: [string, boolean][] = [...before, ["water the plants", false]];
    for (const page of pages) await showing(page, listed);
    const last = () => `#todos li:nth-child(${listed.length})`;

    await pages[1]!.check(`${last()} input.done`);
    listed[listed.length - 1] = ["water the plants", true];
    for (const page of pages) await showing(page, listed);

    await pages[2]!.fill(`${last()} input.title`, "water the garden");
    await pages[2]!.press(`${last()} input.title`, "Enter");
    listed[listed.length - 1] = ["water the garden", true];
    for (const page of pages) await showing(page, listed);

    await pages[0]!.click(`${last()} button.delete`);
    listed.pop();
    for (const page of pages) await showing(page, listed);
  });

  test("a node restarted while its page stays open catches up, and so does the page", {
    skip: SKIP,
  }, async () => {
    const [a, b, c] = cluster as [TodoNode, TodoNode, TodoNode];
    const listed = await shown(pages[0]!);
    await nodes.stop(c.node);
    await pages[2]!.waitForSelector('#status[data-state="offline"]', { timeout: WAIT_MS });
    // The other pages say their node lost a peer.
    for (const page of pages.slice(0, 2)) await peerCount(page, "1 peer");
    // While c is down: an add on a, a check on b.
    await add(pages[0]!, "done while c was down");
    await add(pages[1]!, "added while c was down");
    listed.push(["done while c was down", false]);
    for (const page of pages.slice(0, 2))
      await page.waitForFunction(
        `document.querySelectorAll("#todos li").length === ${listed.length + 1}`,
        undefined,
        {
          timeout: WAIT_MS,
        },
      );
    await pages[1]!.check(`#todos li:nth-child(${listed.length}) input.done`);
    listed[listed.length - 1] = ["done while c was down", true];
    listed.push(["added while c was down", false]);
    for (const page of pages.slice(0, 2)) await showing(page, listed);

    cluster[2] = await nodes.start({
      datastore: datastoreOf(dir.path, "c"),
      port: c.node.port,
      peers: [a.node.port, b.node.port],
      servePort: restartServePort,
    });
    await connected(pages[2]!);
    await showing(pages[2]!, listed);
    for (const page of pages) await peerCount(page, "2 peers");
    // The page kept running: the live updates go on after the restart.
    await add(pages[2]!, "after the restart");
    listed.push(["after the restart", false]);
    for (const page of pages) await showing(page, listed);
  });
});
