// The todo list in CRDTs, shared by every node that runs the module:
//   - the ORSet `todo/ids` holds the id of every todo not deleted. An id sorts by creation: 12
//     hex digits of the creating node's wall clock in ms, then 8 random hex digits, so the set's
//     bytewise order is creation order (ties within a millisecond in random order);
//   - the LWW-Map `todo/item/<id>` holds the todo's fields: `title` (UTF-8) and `done` ("1"/"0"),
//     each last-writer-wins on its own, so an edit of the title on one node and a check on
//     another both survive.
// A todo is shown when its id is in the set and its title is written. Creating one writes the
// fields first, then adds the id; deleting removes the id (the fields stay, unread), so a delete
// wins over a concurrent edit and a deleted todo never comes back.

import { crypto, jsonString, lwwMap, orset, time, toHex } from "../../../sdk/assemblyscript/assembly";

export const IDS_KEY = "todo/ids";
const ITEM_KEY_PREFIX = "todo/item/";
const ID_LENGTH = 20;

export class Todo {
  constructor(
    public id: string,
    public title: string,
    public done: bool,
  ) {}

  toJson(): string {
    return `{"id":${jsonString(this.id)},"title":${jsonString(this.title)},"done":${this.done ? "true" : "false"}}`;
  }
}

function itemKey(id: string): string {
  return ITEM_KEY_PREFIX + id;
}

/** A new id: the wall clock in ms as 12 hex digits, then 4 random bytes. */
function newId(): string {
  const ms = time.now().toString(16);
  return "0".repeat(12 - ms.length) + ms + toHex(crypto.randomBytes(4));
}

/** Whether `id` has the shape `newId` makes (anything else names no todo). */
function isId(id: string): bool {
  if (id.length != ID_LENGTH) return false;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

/** The todo `id` as this node sees it now; null when it does not exist or was deleted. */
export function read(id: string): Todo | null {
  if (!isId(id) || !isListed(id)) return null;
  const title = lwwMap.getString(itemKey(id), "title");
  if (title === null) return null;
  return new Todo(id, title, lwwMap.getString(itemKey(id), "done") == "1");
}

/** The ids in the set, in creation order. */
export function ids(): string[] {
  return orset.elementStrings(IDS_KEY);
}

/** Whether `id` is in the set. */
export function isListed(id: string): bool {
  return orset.contains(IDS_KEY, id);
}

/** Every shown todo, in creation order. */
export function all(): Todo[] {
  const listed = ids();
  const todos = new Array<Todo>(0);
  for (let i = 0; i < listed.length; i++) {
    const todo = read(listed[i]);
    if (todo !== null) todos.push(todo);
  }
  return todos;
}

/** Creates a todo (fields first, then the id: a peer never shows a todo without its title). */
export function create(title: string): Todo {
  const todo = new Todo(newId(), title, false);
  lwwMap.set(itemKey(todo.id), "title", title);
  lwwMap.set(itemKey(todo.id), "done", "0");
  orset.add(IDS_KEY, todo.id);
  return todo;
}

/** Writes the fields given (null / -1: unchanged) of an existing todo. */
export function update(todo: Todo, title: string | null, done: i32): void {
  if (title !== null) {
    lwwMap.set(itemKey(todo.id), "title", title);
    todo.title = title;
  }
  if (done >= 0) {
    lwwMap.set(itemKey(todo.id), "done", done == 1 ? "1" : "0");
    todo.done = done == 1;
  }
}

export function remove(id: string): void {
  orset.remove(IDS_KEY, id);
}

/** The todo id a key of the layout names, or "" for another key. */
export function idOfKey(key: string): string {
  return key.startsWith(ITEM_KEY_PREFIX) ? key.substring(ITEM_KEY_PREFIX.length) : "";
}
