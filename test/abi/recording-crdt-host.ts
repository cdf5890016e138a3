/**
 * A small CrdtHost for the ABI suite: single-node semantics in memory plus a log of every call,
 * so tests check both what the guest reads back and what the host was asked to do.
 */
import type { NodeId } from "../../src/identity/node-id.ts";
import type { CrdtHost } from "../../src/wasm/abi/crdt-host.ts";

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
const compare = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(a, b);

function getOrCreate<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

interface RgaElement {
  id: Uint8Array;
  value: Uint8Array;
  deleted: boolean;
}

export class RecordingCrdtHost implements CrdtHost {
  readonly calls: unknown[][] = [];
  readonly counters = new Map<string, bigint>();
  readonly registers = new Map<string, Uint8Array>();
  readonly maps = new Map<string, Map<string, [Uint8Array, Uint8Array]>>();
  readonly sets = new Map<string, Map<string, Uint8Array>>();
  readonly sequences = new Map<string, RgaElement[]>();
  #nextId = 1;
  peerList: { address: string; nodeId: NodeId }[] = [];

  nodeId(): NodeId {
    return "0123456789abcdef0123456789abcdef" as NodeId;
  }
  peers() {
    return this.peerList;
  }
  gcounterInc(key: string, delta: bigint): void {
    this.calls.push(["gcounterInc", key, delta]);
    this.counters.set(key, (this.counters.get(key) ?? 0n) + delta);
  }
  gcounterValue(key: string): bigint {
    return this.counters.get(key) ?? 0n;
  }
  pncounterInc(key: string, delta: bigint): void {
    this.calls.push(["pncounterInc", key, delta]);
    this.counters.set(`pn:${key}`, (this.counters.get(`pn:${key}`) ?? 0n) + delta);
  }
  pncounterDec(key: string, delta: bigint): void {
    this.calls.push(["pncounterDec", key, delta]);
    this.counters.set(`pn:${key}`, (this.counters.get(`pn:${key}`) ?? 0n) - delta);
  }
  pncounterValue(key: string): bigint {
    return this.counters.get(`pn:${key}`) ?? 0n;
  }
  // The ABI hands lwwSet, lwwMapSet and lwwMapRemove views of guest memory: kept, they are copied.
  lwwSet(key: string, view: Uint8Array): void {
    const value = view.slice();
    this.calls.push(["lwwSet", key, value]);
    this.registers.set(key, value);
  }
  lwwGet(key: string): Uint8Array | undefined {
    return this.registers.get(key);
  }
  #map(key: string) {
    return getOrCreate(this.maps, key, () => new Map<string, [Uint8Array, Uint8Array]>());
  }
  lwwMapSet(key: string, fieldView: Uint8Array, valueView: Uint8Array): void {
    const field = fieldView.slice();
    const value = valueView.slice();
    this.calls.push(["lwwMapSet", key, field, value]);
    this.#map(key).set(hex(field), [field, value]);
  }
  lwwMapRemove(key: string, fieldView: Uint8Array): void {
    const field = fieldView.slice();
    this.calls.push(["lwwMapRemove", key, field]);
    this.#map(key).delete(hex(field));
  }
  lwwMapGet(key: string, field: Uint8Array): Uint8Array | undefined {
    return this.#map(key).get(hex(field))?.[1];
  }
  lwwMapEntries(key: string) {
    return [...this.#map(key).values()].sort(([a], [b]) => compare(a, b));
  }
  #set(key: string) {
    return getOrCreate(this.sets, key, () => new Map<string, Uint8Array>());
  }
  orsetAdd(key: string, element: Uint8Array): void {
    this.calls.push(["orsetAdd", key, element]);
    this.#set(key).set(hex(element), element);
  }
  orsetRemove(key: string, element: Uint8Array): void {
    this.calls.push(["orsetRemove", key, element]);
    this.#set(key).delete(hex(element));
  }
  orsetContains(key: string, element: Uint8Array): boolean {
    return this.#set(key).has(hex(element));
  }
  orsetElements(key: string) {
    return [...this.#set(key).values()].sort(compare);
  }
  #sequence(key: string) {
    return getOrCreate(this.sequences, key, (): RgaElement[] => []);
  }
  rgaInsert(key: string, parent: Uint8Array | undefined, value: Uint8Array): Uint8Array | undefined {
    this.calls.push(["rgaInsert", key, parent, value]);
    const seq = this.#sequence(key);
    const at = parent === undefined ? 0 : seq.findIndex((e) => compare(e.id, parent) === 0) + 1;
    if (at === 0 && parent !== undefined) return undefined;
    const id = new TextEncoder().encode(`${this.nodeId()}:${this.#nextId++}`);
    seq.splice(at, 0, { id, value, deleted: false });
    return id;
  }
  rgaDelete(key: string, id: Uint8Array): boolean {
    this.calls.push(["rgaDelete", key, id]);
    const element = this.#sequence(key).find((e) => compare(e.id, id) === 0);
    if (element === undefined) return false;
    element.deleted = true;
    return true;
  }
  rgaValues(key: string) {
    return this.#sequence(key)
      .filter((e) => !e.deleted)
      .map((e) => e.value);
  }
}
