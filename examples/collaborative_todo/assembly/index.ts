// A collaborative todo list: a JSON API and a web page served by the module on every node, the
// todos in CRDTs (layout: todos.ts), and every change, made here or on a peer, pushed to the
// browsers of every node over server-sent events.
//
// Interface (the page, tools and tests rely on it):
//   GET    /                200 text/html: the page (page.ts)
//   GET    /api/todos       200 [{"id","title","done"}...] in creation order
//   POST   /api/todos       {"title"} -> 201 the todo
//   PATCH  /api/todos/:id   {"title"?,"done"?} -> 200 the todo
//   DELETE /api/todos/:id   204
//   GET    /api/events      server-sent events: first `hello` {"node","topic","peers"}, then one
//                           event per change named by `topic`: {"type":"put","todo":{...}},
//                           {"type":"delete","id"} or {"type":"peers","peers":[node ids]}
// Errors: 404 {"error"} for an unknown id; 400 {"error"} for a body that is not a JSON object, a
// title that is missing (POST), not a string, empty or over TITLE_MAX_BYTES, a done that is not
// a boolean.
//
// Who sends the events: the module's reactive instance on each node (init / on_message /
// on_remote_op / on_peer_*), the one place that remembers what this node's browsers were told.
// A handler that changed a todo tells it on `todo/touched/<node id>`; a peer's op arrives as
// on_remote_op. It publishes on `todo/changes/<node id>`, which the event streams of this node
// forward: a topic per node, because a module message reaches the peers too, and their browsers
// hear of the change from their own node.
// Built with `--runtime incremental` (asconfig.json): the reactive instance lives as long as the
// node and must free what each event allocates.

import { events, http, jsonString, net, proc } from "../../../sdk/assemblyscript/assembly";
import { parseTodoFields, TodoFields } from "./json";
import { PAGE } from "./page";
import * as todos from "./todos";

export {
  init,
  on_message,
  on_peer_connected,
  on_peer_disconnected,
  on_remote_op,
} from "../../../sdk/assemblyscript/assembly/events";

/** A title's size in UTF-8 bytes, at most. */
const TITLE_MAX_BYTES = 1024;

function changesTopic(node: string): string {
  return `todo/changes/${node}`;
}

function touchedTopic(node: string): string {
  return `todo/touched/${node}`;
}

export function routes(): void {
  http.route("GET", "/", "page");
  http.route("GET", "/api/todos", "list");
  http.route("POST", "/api/todos", "create");
  http.route("PATCH", "/api/todos/:id", "update");
  http.route("DELETE", "/api/todos/:id", "remove");
  http.route("GET", "/api/events", "stream");
}

// --- HTTP handlers ------------------------------------------------------------------------------

function json(status: u32, body: string): void {
  http.status(status);
  http.setHeader("content-type", "application/json");
  http.write(body);
}

function fail(status: u32, message: string): void {
  json(status, `{"error":${jsonString(message)}}`);
}

/** The request's fields, or null after answering 400 (malformed body, bad title or done). */
function fields(titleRequired: bool): TodoFields | null {
  const body = parseTodoFields(http.bodyText());
  if (body.error != "") {
    fail(400, body.error);
    return null;
  }
  const title = body.title;
  if (title === null) {
    if (!titleRequired) return body;
    fail(400, `"title" is missing: send {"title":"..."}`);
    return null;
  }
  if (title.length == 0) {
    fail(400, `"title" is empty`);
    return null;
  }
  if (String.UTF8.byteLength(title) > TITLE_MAX_BYTES) {
    fail(400, `"title" is over ${TITLE_MAX_BYTES} bytes of UTF-8 (TITLE_MAX_BYTES)`);
    return null;
  }
  return body;
}

function touched(id: string): void {
  events.publish(touchedTopic(net.nodeId()), id);
}

/** The todo the route's :id names, or null after answering 404. */
function existing(): todos.Todo | null {
  const id = http.param("id")!;
  const todo = todos.read(id);
  if (todo === null) fail(404, `no todo with id ${id}`);
  return todo;
}

export function page(): void {
  http.setHeader("content-type", "text/html; charset=utf-8");
  http.write(PAGE);
}

export function list(): void {
  const all = todos.all();
  let body = "[";
  for (let i = 0; i < all.length; i++) body += (i > 0 ? "," : "") + all[i].toJson();
  json(200, body + "]");
}

export function create(): void {
  const body = fields(true);
  if (body === null) return;
  const todo = todos.create(body.title!);
  touched(todo.id);
  json(201, todo.toJson());
}

export function update(): void {
  const todo = existing();
  if (todo === null) return;
  const body = fields(false);
  if (body === null) return;
  todos.update(todo, body.title, body.done);
  touched(todo.id);
  json(200, todo.toJson());
}

export function remove(): void {
  const todo = existing();
  if (todo === null) return;
  todos.remove(todo.id);
  touched(todo.id);
  http.status(204);
}

function peersJson(): string {
  const peers = net.peers();
  let out = "[";
  for (let i = 0; i < peers.length; i++) out += (i > 0 ? "," : "") + jsonString(peers[i].nodeId);
  return out + "]";
}

/**
 * The event stream: `hello` says which node this is and the topic its changes come on, then the
 * node forwards that topic. Both happen in this one guest call, before the head reaches the
 * client, so a client that reads the list after `hello` misses no change.
 */
export function stream(): void {
  if (!http.sseStart()) return;
  const node = net.nodeId();
  const topic = changesTopic(node);
  http.sseSend(`{"node":${jsonString(node)},"topic":${jsonString(topic)},"peers":${peersJson()}}`, "hello");
  if (!http.sseForward(topic)) return;
  while (true) proc.receive(-1);
}

// --- the reactive instance: one per node, the source of the events --------------------------------

let node = "";
/** What this node's browsers were last told about each todo: its JSON, absent once deleted. */
const announced = new Map<string, string>();

/** Tells this node's browsers about `id` when what they were told differs from what is now. */
function refresh(id: string): void {
  const todo = todos.read(id);
  if (todo === null) {
    if (!announced.has(id)) return;
    announced.delete(id);
    events.publish(changesTopic(node), `{"type":"delete","id":${jsonString(id)}}`);
    return;
  }
  const now = todo.toJson();
  if (announced.has(id) && announced.get(id) == now) return;
  announced.set(id, now);
  events.publish(changesTopic(node), `{"type":"put","todo":${now}}`);
}

/** After the id set changed: every id in it, and every announced one no longer in it. */
function refreshAll(): void {
  const ids = todos.ids();
  for (let i = 0; i < ids.length; i++) refresh(ids[i]);
  const gone = announced.keys();
  for (let i = 0; i < gone.length; i++) if (!todos.isListed(gone[i])) refresh(gone[i]);
}

events.onInit((): void => {
  node = net.nodeId();
  announced.clear();
  const all = todos.all();
  for (let i = 0; i < all.length; i++) announced.set(all[i].id, all[i].toJson());
  events.subscribe(touchedTopic(node));
});

events.onMessage((message: events.Message): void => {
  refresh(message.text());
});

events.onRemoteOp((op: events.RemoteOp): void => {
  if (op.key == todos.IDS_KEY) refreshAll();
  else {
    const id = todos.idOfKey(op.key);
    if (id != "") refresh(id);
  }
});

function peersChanged(_nodeId: string): void {
  events.publish(changesTopic(node), `{"type":"peers","peers":${peersJson()}}`);
}

events.onPeerConnected(peersChanged);
events.onPeerDisconnected(peersChanged);
