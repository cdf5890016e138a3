// The page `GET /` serves: plain HTML, CSS and a small script, no framework and nothing fetched
// from elsewhere. It talks to its own node only: the JSON API for changes, /api/events for every
// change (its own node's and the peers') and for whether it is connected. Within this template,
// the script uses no backquote and no dollar-brace.

export const PAGE = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>todos</title>
<style>
  body { font: 16px/1.4 system-ui, sans-serif; max-width: 36rem; margin: 2rem auto; padding: 0 1rem; }
  header { display: flex; gap: 1rem; align-items: baseline; flex-wrap: wrap; color: #555; font-size: 0.9rem; }
  h1 { margin: 0; font-size: 1.5rem; color: #000; }
  #status[data-state="connected"] { color: #1a7f37; }
  #status[data-state="offline"] { color: #b3261e; }
  form { display: flex; gap: 0.5rem; margin: 1rem 0; }
  form input { flex: 1; }
  input, button { font: inherit; padding: 0.3rem 0.5rem; }
  ul { list-style: none; padding: 0; }
  li { display: flex; gap: 0.5rem; align-items: center; padding: 0.25rem 0; }
  li input.title { flex: 1; border: 1px solid transparent; }
  li input.title:focus { border-color: #999; }
  li.done input.title { text-decoration: line-through; color: #777; }
  #error { color: #b3261e; min-height: 1.4em; }
</style>
<header>
  <h1>todos</h1>
  <span>node <code id="node">?</code></span>
  <span id="status" data-state="connecting">connecting</span>
  <span id="peers"></span>
</header>
<form id="add"><input id="title" placeholder="What needs doing?" autocomplete="off" autofocus><button>add</button></form>
<div id="error"></div>
<ul id="todos"></ul>
<script>
"use strict";
const todos = new Map(); // id -> {id, title, done}; ids sort by creation
let connected = false;
let buffered = null; // changes that arrived while the list was being read

function show(id, text) { document.getElementById(id).textContent = text; }

function setConnected(yes) {
  connected = yes;
  const status = document.getElementById("status");
  status.dataset.state = yes ? "connected" : "offline";
  status.textContent = yes ? "connected" : "offline: reconnecting to the node";
}

function showPeers(peers) {
  show("peers", peers.length === 1 ? "1 peer" : peers.length + " peers");
  document.getElementById("peers").title = peers.join("\\n");
}

function apply(change) {
  if (change.type === "put") todos.set(change.todo.id, change.todo);
  else if (change.type === "delete") todos.delete(change.id);
  else if (change.type === "peers") showPeers(change.peers);
}

async function call(method, path, body) {
  try {
    const response = await fetch(path, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const value = text === "" ? null : JSON.parse(text);
    if (!response.ok) throw new Error(value && value.error ? value.error : method + " " + path + ": " + response.status);
    show("error", "");
    return value;
  } catch (error) {
    show("error", error.message);
    return undefined;
  }
}

function item(id) {
  const li = document.createElement("li");
  li.dataset.id = id;
  const done = document.createElement("input");
  done.type = "checkbox";
  done.className = "done";
  done.onchange = () => edit(id, { done: done.checked });
  const title = document.createElement("input");
  title.className = "title";
  title.onchange = () => edit(id, { title: title.value });
  const remove = document.createElement("button");
  remove.className = "delete";
  remove.textContent = "delete";
  remove.onclick = async () => {
    if ((await call("DELETE", "/api/todos/" + id)) !== undefined) { todos.delete(id); render(); }
  };
  li.append(done, title, remove);
  return li;
}

async function edit(id, fields) {
  const todo = await call("PATCH", "/api/todos/" + id, fields);
  // While connected the event stream brings the change, in order with the other nodes' changes.
  if (todo && !connected) { todos.set(id, todo); render(); }
}

function render() {
  const list = document.getElementById("todos");
  for (const li of [...list.children]) if (!todos.has(li.dataset.id)) li.remove();
  let previous = null;
  for (const id of [...todos.keys()].sort()) {
    const todo = todos.get(id);
    let li = list.querySelector('li[data-id="' + id + '"]');
    if (li === null) li = item(id);
    li.classList.toggle("done", todo.done);
    li.querySelector("input.done").checked = todo.done;
    const title = li.querySelector("input.title");
    if (title !== document.activeElement) title.value = todo.title;
    if (previous === null ? list.firstElementChild !== li : previous.nextElementSibling !== li) {
      if (previous === null) list.prepend(li); else previous.after(li);
    }
    previous = li;
  }
}

document.getElementById("add").onsubmit = async (event) => {
  event.preventDefault();
  const input = document.getElementById("title");
  const todo = await call("POST", "/api/todos", { title: input.value });
  if (todo === undefined) return;
  input.value = "";
  if (!todos.has(todo.id)) { todos.set(todo.id, todo); render(); }
};

// The stream says which node this is and on which event name its changes come; after each
// (re)connection the page reads the whole list, then applies the changes that came meanwhile.
function connect() {
  const source = new EventSource("/api/events");
  source.addEventListener("hello", async (event) => {
    const hello = JSON.parse(event.data);
    show("node", hello.node.slice(0, 8));
    document.getElementById("node").title = hello.node;
    showPeers(hello.peers);
    setConnected(true);
    buffered = [];
    source.addEventListener(hello.topic, (change) => {
      if (buffered !== null) buffered.push(JSON.parse(change.data));
      else { apply(JSON.parse(change.data)); render(); }
    });
    const list = await call("GET", "/api/todos");
    if (list !== undefined) { todos.clear(); for (const todo of list) todos.set(todo.id, todo); }
    for (const change of buffered) apply(change);
    buffered = null;
    render();
  });
  source.onerror = () => {
    source.close();
    setConnected(false);
    setTimeout(connect, 500);
  };
}
connect();
</script>
</html>
`;
