/**
 * The collaborative_todo example's JSON API and event stream without a browser, on two real
 * nodes (`--listen`/`--peer`/`--tls-insecure`/`--serve`, real LMDB): every route, every error
 * path, creation order, a change on one node reaching the other, and exactly one event per
 * change on each node's streams, whichever node made it; and two nodes kept apart that both go
 * on working and converge as the example's README says when they meet.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { pollUntil, tempDir } from "../helpers/nx-process.ts";
import { datastoreOf } from "../helpers/sync-node.ts";
import { type EventStream, openEvents, type Todo, type TodoNode, todoNodes } from "../helpers/todo-node.ts";

/** The example's TITLE_MAX_BYTES. */
const TITLE_MAX_BYTES = 1024;
/** How long a stream must stay quiet to show that a change sent one event, not two. */
const QUIET_MS = 500;

const nodes = todoNodes();
const dir = tempDir("nx-todo-api-");
let a: TodoNode;
let b: TodoNode;

before(async () => {
  a = await nodes.start({ datastore: datastoreOf(dir.path, "a") });
  b = await nodes.start({ datastore: datastoreOf(dir.path, "b"), peers: [a.node.port] });
  await a.node.nx.waitFor(new RegExp(`connected to peer ${b.node.nodeId}`));
});

after(async () => {
  await nodes.stopAll();
  dir.remove();
});

async function call(
  url: string,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; type: string | null; json: unknown }> {
  const response = await fetch(`${url}${path}`, { method, body, signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  return {
    status: response.status,
    type: response.headers.get("content-type"),
    json: text === "" ? undefined : JSON.parse(text),
  };
}

async function create(url: string, title: string): Promise<Todo> {
  const created = await call(url, "POST", "/api/todos", JSON.stringify({ title }));
  assert.equal(created.status, 201);
  return created.json as Todo;
}

async function list(url: string): Promise<Todo[]> {
  const listed = await call(url, "GET", "/api/todos");
  assert.equal(listed.status, 200);
  assert.equal(listed.type, "application/json");
  return listed.json as Todo[];
}

/** Answers `400` with a JSON `{ error }` matching `message`. */
async function refused(method: string, path: string, body: string, message: RegExp): Promise<void> {
  const answer = await call(a.url, method, path, body);
  assert.equal(answer.status, 400, `${method} ${path} ${body}`);
  assert.equal(answer.type, "application/json");
  assert.match((answer.json as { error: string }).error, message);
}

test("GET /: the page, with its script and no resource from elsewhere", async () => {
  const page = await fetch(`${a.url}/`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(page.status, 200);
  assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
  const html = await page.text();
  assert.match(html, /new EventSource\("\/api\/events"\)/);
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, "nothing loaded from another origin");
});

test("POST, GET, PATCH and DELETE /api/todos: the shapes and codes of the API, across nodes", async () => {
  const first = await create(a.url, "buy milk");
  assert.match(first.id, /^[0-9a-f]{20}$/);
  assert.deepEqual(first, { id: first.id, title: "buy milk", done: false });
  const second = await create(b.url, 'call "Ada" ✓');
  const third = await create(a.url, "x".repeat(TITLE_MAX_BYTES));
  const ours = (todos: Todo[]) => todos.filter((t) => [first.id, second.id, third.id].includes(t.id));
  // Creation order on both nodes, once the ops crossed.
  const expected = [first, second, third];
  assert.deepEqual(
    ours(
      await pollUntil(
        () => list(b.url),
        (t) => ours(t).length === 3,
        10_000,
      ),
    ),
    expected,
  );
  assert.deepEqual(
    ours(
      await pollUntil(
        () => list(a.url),
        (t) => ours(t).length === 3,
        10_000,
      ),
    ),
    expected,
  );

  const patched = await call(b.url, "PATCH", `/api/todos/${first.id}`, JSON.stringify({ done: true }));
  assert.deepEqual(patched, { status: 200, type: "application/json", json: { ...first, done: true } });
  // A answers with its own state: wait until B's write reached it.
  await pollUntil(
    () => list(a.url),
    (t) => t.some((x) => x.id === first.id && x.done),
    10_000,
  );
  const renamed = await call(
    a.url,
    "PATCH",
    `/api/todos/${first.id}`,
    '{"title":"buy oat milk","other":[1,{"x":null}]}',
  );
  assert.deepEqual(renamed.json, { id: first.id, title: "buy oat milk", done: true });
  const unchanged = await call(a.url, "PATCH", `/api/todos/${second.id}`, "{}");
  assert.deepEqual(unchanged.json, second);

  const removed = await call(b.url, "DELETE", `/api/todos/${third.id}`);
  assert.deepEqual(removed, { status: 204, type: null, json: undefined });
  const after = await pollUntil(
    () => list(a.url),
    (t) => ours(t).length === 2 && ours(t)[0]!.title === "buy oat milk" && ours(t)[0]!.done,
    10_000,
  );
  assert.deepEqual(ours(after), [{ id: first.id, title: "buy oat milk", done: true }, second]);

  // The deleted todo is unknown everywhere from now on.
  for (const [method, body] of [
    ["PATCH", '{"done":true}'],
    ["DELETE", undefined],
  ] as const) {
    const gone = await call(b.url, method, `/api/todos/${third.id}`, body);
    assert.deepEqual(gone, {
      status: 404,
      type: "application/json",
      json: { error: `no todo with id ${third.id}` },
    });
  }
});

test("an unknown or malformed id: 404 with a JSON error", async () => {
  for (const id of ["ffffffffffffffffffff", "nope", "..%2f..", "0".repeat(21)]) {
    const answer = await call(a.url, "PATCH", `/api/todos/${id}`, '{"done":true}');
    assert.equal(answer.status, 404, id);
    assert.equal(answer.type, "application/json");
    assert.match((answer.json as { error: string }).error, /^no todo with id /);
  }
});

test("malformed JSON, a missing, empty, oversized or non-string title, a non-boolean done: 400 with a JSON error", async () => {
  const todo = await create(a.url, "target");
  const patch = `/api/todos/${todo.id}`;
  for (const body of [
    '{"title":',
    "",
    "{title: 1}",
    '{"title":"a"} x',
    '{"title":"\\q"}',
    '{"title":"a",}',
    "[1]",
    "null",
  ])
    await refused("POST", "/api/todos", body, /^malformed JSON at offset \d+: expected .+, found .+$/);
  await refused("PATCH", patch, "{", /^malformed JSON/);
  await refused("POST", "/api/todos", "{}", /^"title" is missing/);
  await refused("POST", "/api/todos", '{"done":true}', /^"title" is missing/);
  await refused("POST", "/api/todos", '{"title":""}', /^"title" is empty$/);
  await refused("PATCH", patch, '{"title":""}', /^"title" is empty$/);
  for (const body of ['{"title":5}', '{"title":null}', '{"title":["a"]}'])
    await refused("POST", "/api/todos", body, /^"title" must be a string$/);
  await refused("PATCH", patch, '{"done":"yes"}', /^"done" must be true or false$/);
  const over = JSON.stringify({ title: `${"é".repeat(TITLE_MAX_BYTES / 2)}x` });
  await refused(
    "POST",
    "/api/todos",
    over,
    new RegExp(`^"title" is over ${TITLE_MAX_BYTES} bytes of UTF-8 \\(TITLE_MAX_BYTES\\)$`),
  );
  await refused("PATCH", patch, over, /is over 1024 bytes/);
  // An escaped title is unescaped, and the 400s changed nothing.
  const escaped = await create(a.url, "tab\there \u00e9 \ud83d\ude00");
  assert.equal(escaped.title, "tab\there é 😀");
  const unchanged = (await list(a.url)).find((t) => t.id === todo.id);
  assert.deepEqual(unchanged, todo);
});

/**
 * The stream's events about todo `id` until `count` arrived, and none more within QUIET_MS
 * (the other tests' todos may still be crossing: their events are skipped).
 */
async function changes(stream: EventStream, topic: string, id: string, count: number): Promise<unknown[]> {
  const seen: unknown[] = [];
  for (
    let event = await stream.next();
    event !== undefined;
    event = await stream.next(seen.length < count ? 10_000 : QUIET_MS)
  ) {
    assert.equal(event.event, topic);
    const change = JSON.parse(event.data) as { type: string; id?: string; todo?: Todo };
    if ((change.id ?? change.todo?.id) === id) seen.push(change);
  }
  return seen;
}

test("GET /api/events: hello, then exactly one event per change on each node, local or from the peer", async () => {
  const streams = await Promise.all([openEvents(a.url), openEvents(b.url)]);
  try {
    const topics: string[] = [];
    for (const [stream, node] of [
      [streams[0]!, a],
      [streams[1]!, b],
    ] as const) {
      const hello = await stream.next();
      assert.equal(hello?.event, "hello");
      const body = JSON.parse(hello!.data) as { node: string; topic: string; peers: string[] };
      assert.equal(body.node, node.node.nodeId);
      assert.equal(body.topic, `todo/changes/${node.node.nodeId}`);
      assert.deepEqual(body.peers, [(node === a ? b : a).node.nodeId]);
      topics.push(body.topic);
    }
    const todo = await create(a.url, "stream me");
    await pollUntil(
      () => list(b.url),
      (t) => t.some((x) => x.id === todo.id),
      10_000,
    );
    assert.equal((await call(b.url, "PATCH", `/api/todos/${todo.id}`, '{"done":true}')).status, 200);
    // Writes that change nothing a browser shows send nothing.
    await call(a.url, "PATCH", `/api/todos/${todo.id}`, '{"done":true}');
    await pollUntil(
      () => list(a.url),
      (t) => t.some((x) => x.id === todo.id && x.done),
      10_000,
    );
    await call(a.url, "DELETE", `/api/todos/${todo.id}`);
    const expected = [
      { type: "put", todo },
      { type: "put", todo: { ...todo, done: true } },
      { type: "delete", id: todo.id },
    ];
    assert.deepEqual(await changes(streams[0]!, topics[0]!, todo.id, 3), expected);
    assert.deepEqual(await changes(streams[1]!, topics[1]!, todo.id, 3), expected);
  } finally {
    for (const stream of streams) stream.close();
  }
});

test("nodes apart keep working and converge when they meet: an edit and a check both survive, a delete wins over an edit", async () => {
  const c = await nodes.start({ datastore: datastoreOf(dir.path, "c") });
  let d = await nodes.start({ datastore: datastoreOf(dir.path, "d"), peers: [c.node.port] });
  const x = await create(c.url, "x");
  const y = await create(c.url, "y");
  await pollUntil(
    () => list(d.url),
    (t) => t.length === 2,
    10_000,
  );
  // d restarts without --peer (c never dialed it): the two are apart.
  const port = d.node.port;
  await nodes.stop(d.node);
  d = await nodes.start({ datastore: datastoreOf(dir.path, "d"), port });
  assert.equal((await call(c.url, "PATCH", `/api/todos/${x.id}`, '{"title":"x edited on c"}')).status, 200);
  assert.equal((await call(c.url, "DELETE", `/api/todos/${y.id}`)).status, 204);
  assert.equal((await call(d.url, "PATCH", `/api/todos/${x.id}`, '{"done":true}')).status, 200);
  assert.equal((await call(d.url, "PATCH", `/api/todos/${y.id}`, '{"title":"y edited on d"}')).status, 200);
  const z = await create(d.url, "z made on d");
  assert.deepEqual(await list(d.url), [{ ...x, done: true }, { ...y, title: "y edited on d" }, z]);
  // They meet again.
  await nodes.stop(d.node);
  d = await nodes.start({ datastore: datastoreOf(dir.path, "d"), port, peers: [c.node.port] });
  const converged = [{ id: x.id, title: "x edited on c", done: true }, z];
  for (const node of [c, d]) {
    const todos = await pollUntil(
      () => list(node.url),
      (t) => JSON.stringify(t) === JSON.stringify(converged),
      10_000,
    );
    assert.deepEqual(todos, converged);
  }
  assert.equal((await call(d.url, "PATCH", `/api/todos/${y.id}`, '{"done":true}')).status, 404);
});
