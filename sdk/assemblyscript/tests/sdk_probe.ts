// Exercises the SDK against a real host. NX_PROBE picks the scenario:
//   local           (default) every local function, its encodings, the -2 retry and the error policy
//   crdt            every CRDT family on a node with sync
//   abort-reserved  a write under __nx/ with the default policy: the SDK aborts naming the call
//   abort-runtime   an out-of-bounds array index: AssemblyScript's abort, routed to nx.abort
//   hooks           trace() and Math.random(), which the build routes to the SDK's hooks
// Each check that fails aborts with "probe check failed: <what>"; a passing scenario logs
// "probe <scenario>: ok (<n> checks)". Values the test must verify itself (digests) are logged.

import {
  crypto,
  db,
  ErrorCode,
  fromUtf8,
  gcounter,
  lastError,
  log,
  lwwMap,
  lwwRegister,
  net,
  OnError,
  onError,
  orset,
  pncounter,
  rga,
  system,
  time,
  toHex,
  utf8,
} from "../assembly";

let checks = 0;

function check(condition: bool, what: string): void {
  checks++;
  if (!condition) system.abort(`probe check failed: ${what}`);
}

function bytesEqual(a: Uint8Array | null, b: Uint8Array): bool {
  if (a === null || a.length != b.length) return false;
  for (let i = 0; i < b.length; i++) if (a[i] != b[i]) return false;
  return true;
}

function probeStore(): void {
  check(db.set("probe/a", "1"), "db.set returns true");
  check(db.getString("probe/a") == "1", "db.getString reads back");
  check(db.exists("probe/a"), "db.exists after set");
  check(db.getString("probe/missing") === null && lastError() == ErrorCode.NotFound, "absent key is null + NotFound");
  check(!db.exists("probe/missing") && lastError() == ErrorCode.Ok, "db.exists of an absent key is false, not an error");

  // Bytes keys and values, every byte value, and a non-ASCII text key.
  const key = new Uint8Array(3);
  key[0] = 0x70;
  key[1] = 0x00;
  key[2] = 0xff;
  const value = new Uint8Array(256);
  for (let i = 0; i < 256; i++) value[i] = <u8>i;
  db.set(key, value);
  check(bytesEqual(db.get(key), value), "bytes key and value round-trip");
  db.set("probe/ключ-✓", "значение");
  check(db.getString("probe/ключ-✓") == "значение", "UTF-8 text round-trips");

  // 200 KiB: larger than the SDK's first output buffer, so the read is retried after -2.
  const big = new Uint8Array(200 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = <u8>(i * 31);
  db.set("probe/big", big);
  check(bytesEqual(db.get("probe/big"), big), "a 200 KiB value is read back whole (retry on -2)");

  const small = new Uint8Array(8);
  check(db.getInto("probe/a", small) == 1 && small[0] == 0x31, "db.getInto reads into the caller's buffer");
  check(db.getInto("probe/big", small) == ErrorCode.BufferTooSmall && lastError() == ErrorCode.BufferTooSmall, "db.getInto: -2 when too small");
  check(load<u32>(small.dataStart) == <u32>big.length, "db.getInto: the host wrote the needed size");
  check(db.getInto("probe/missing", small) == ErrorCode.NotFound, "db.getInto: -1 when absent");
  check(db.delete("probe/a") && !db.exists("probe/a"), "db.delete removes");
  check(db.delete("probe/a"), "db.delete of an absent key is true");
  db.delete(key);
  db.delete("probe/ключ-✓");
  db.delete("probe/big");
}

function probeListings(): void {
  // 300 rows: more than one page (256) for scanAll / keysAll.
  for (let i = 0; i < 300; i++) db.set(`list/${i.toString().padStart(3, "0")}`, `v${i}`);
  db.set("listz", "outside the prefix");

  const first = db.scan("list/", 0, 2);
  check(first.length == 2 && first[0].keyString() == "list/000" && first[1].valueString() == "v1", "db.scan page 1");
  const second = db.scan("list/", 2, 2);
  check(second.length == 2 && second[0].keyString() == "list/002", "db.scan cursor skips rows");
  const after = db.scanAfter("list/", "list/297", 10);
  check(after.length == 2 && after[0].keyString() == "list/298", "db.scanAfter starts after the key");
  const all = db.scanAll("list/");
  check(all.length == 300 && all[299].keyString() == "list/299", "db.scanAll pages through 300 rows");

  const keys = db.keyStrings("list/", 299, 5);
  check(keys.length == 1 && keys[0] == "list/299", "db.keyStrings with cursor near the end");
  const keyBytes = db.keys("list/", 0, 1);
  check(keyBytes.length == 1 && fromUtf8(keyBytes[0]) == "list/000", "db.keys returns bytes");
  const keysAfter = db.keyStringsAfter("list/", "", 3);
  check(keysAfter.length == 3 && keysAfter[2] == "list/002", "db.keyStringsAfter with empty after starts at the first");
  check(db.keysAfter("list/", "list/100", 1).length == 1, "db.keysAfter");
  check(db.keysAll("list/").length == 300, "db.keysAll pages through 300 keys");
  check(db.scan("nothing-here/").length == 0, "empty listing");

  for (let i = 0; i < 300; i++) db.delete(`list/${i.toString().padStart(3, "0")}`);
  db.delete("listz");
  check(db.keysAll("list/").length == 0, "listing after deletes");
}

function probeErrorPolicy(): void {
  onError(OnError.Return);
  check(!db.set("__nx/probe", "x") && lastError() == ErrorCode.ReservedKey, "reserved key: false + ReservedKey");
  check(db.get("__nx/probe") === null && lastError() == ErrorCode.ReservedKey, "reserved get: null + ReservedKey");
  check(db.scan("__nx/").length == 0 && lastError() == ErrorCode.ReservedKey, "reserved prefix listing");
  check(!db.set("", "x") && lastError() == ErrorCode.Internal, "empty key: Internal");
  check(!db.set("probe/huge", new Uint8Array((1 << 20) + 1)) && lastError() == ErrorCode.Internal, "value over 1 MiB: Internal");
  check(!net.syncEnabled(), "no sync on this node");
  check(!gcounter.inc("c") && lastError() == ErrorCode.SyncDisabled, "gcounter.inc: SyncDisabled");
  check(gcounter.value("c") == 0 && lastError() == ErrorCode.SyncDisabled, "gcounter.value: SyncDisabled");
  check(!pncounter.dec("c") && lastError() == ErrorCode.SyncDisabled, "pncounter.dec: SyncDisabled");
  check(lwwRegister.get("r") === null && lastError() == ErrorCode.SyncDisabled, "lwwRegister.get: SyncDisabled");
  check(!lwwMap.set("m", "f", "v") && lastError() == ErrorCode.SyncDisabled, "lwwMap.set: SyncDisabled");
  check(orset.elements("s").length == 0 && lastError() == ErrorCode.SyncDisabled, "orset.elements: SyncDisabled");
  check(rga.insert("l", null, "v") === null && lastError() == ErrorCode.SyncDisabled, "rga.insert: SyncDisabled");
  check(net.nodeId() == "" && lastError() == ErrorCode.SyncDisabled, "net.nodeId: SyncDisabled");
  check(net.peers().length == 0 && lastError() == ErrorCode.SyncDisabled, "net.peers: SyncDisabled");
  onError(OnError.Abort);
  check(db.set("probe/ok", "1") && lastError() == ErrorCode.Ok, "lastError is Ok after a success");
  db.delete("probe/ok");
}

function probeSystem(): void {
  const started = time.monotonic();
  check(time.now() > 1_600_000_000_000, "time.now is Unix milliseconds");
  check(time.monotonic() >= started, "time.monotonic does not go back");

  const random = crypto.randomBytes(64);
  check(toHex(random) != toHex(crypto.randomBytes(64)), "two random draws differ");
  // Above the host's 1 MiB per call: the SDK splits the request.
  const large = crypto.randomBytes((1 << 20) + 16);
  check(large.length == (1 << 20) + 16 && lastError() == ErrorCode.Ok, "randomBytes over 1 MiB");
  check(crypto.randomU64() != crypto.randomU64(), "randomU64 draws differ");

  const input = system.env("NX_PROBE_INPUT");
  check(input !== null, "NX_PROBE_INPUT is visible");
  log.info(`sha256=${toHex(crypto.sha256(input!))}`);
  log.info(`blake3=${toHex(crypto.blake3(utf8(input!)))}`);
  check(system.env("HOME") === null, "non-NX variables are hidden");

  check(system.moduleId().length > 0, "module id");
  log.info(`module=${system.moduleId()}`);
  const capabilities = system.capabilities();
  check(capabilities.includes("log") && system.hasCapability("db"), "capabilities list log and db");
  log.info(`capabilities=${capabilities.join(",")}`);
  check(system.emit("probe.done", "payload"), "event emit");
}

function probeCrdt(): void {
  check(net.syncEnabled(), "sync is enabled");
  check(net.nodeId().length > 0, "node id");
  log.info(`node=${net.nodeId()} peers=${net.peers().length}`);

  gcounter.inc("probe/g", 2);
  gcounter.inc("probe/g");
  check(gcounter.value("probe/g") == 3, "gcounter 2 + 1");
  pncounter.inc("probe/pn", 5);
  pncounter.dec("probe/pn", 8);
  check(pncounter.value("probe/pn") == -3, "pncounter 5 - 8");

  check(lwwRegister.getString("probe/r") === null, "unset register is null");
  lwwRegister.set("probe/r", "one");
  lwwRegister.set("probe/r", "two");
  check(lwwRegister.getString("probe/r") == "two", "register: the later local write wins");

  lwwMap.set("probe/m", "b", "2");
  lwwMap.set("probe/m", "a", "1");
  lwwMap.set("probe/m", "c", "3");
  lwwMap.remove("probe/m", "c");
  check(lwwMap.getString("probe/m", "a") == "1" && lwwMap.contains("probe/m", "b"), "map get / contains");
  check(!lwwMap.contains("probe/m", "c") && lwwMap.get("probe/m", "c") === null, "removed field is gone");
  const entries = lwwMap.entries("probe/m");
  check(entries.length == 2 && entries[0].keyString() == "a" && entries[1].valueString() == "2", "map entries in field order");

  orset.add("probe/s", "pear");
  orset.add("probe/s", "apple");
  orset.add("probe/s", "fig");
  orset.remove("probe/s", "fig");
  check(orset.contains("probe/s", "pear") && !orset.contains("probe/s", "fig"), "orset contains");
  const elements = orset.elementStrings("probe/s");
  check(elements.length == 2 && elements[0] == "apple" && elements[1] == "pear", "orset elements sorted");

  const first = rga.insert("probe/l", null, "b");
  check(first !== null, "rga insert at head returns an id");
  const third = rga.insert("probe/l", first, "c");
  rga.insert("probe/l", null, "a");
  check(rga.valueStrings("probe/l").join("") == "abc", "rga order");
  check(rga.delete("probe/l", first!), "rga delete");
  check(rga.valueStrings("probe/l").join("") == "ac", "rga delete keeps later elements");
  check(rga.insert("probe/l", third, "d") !== null && rga.values("probe/l").length == 3, "rga insert after a kept element");
}

export function run(): void {
  const requested = system.env("NX_PROBE");
  const scenario = requested === null ? "local" : requested;
  if (scenario == "local") {
    probeStore();
    probeListings();
    probeErrorPolicy();
    probeSystem();
  } else if (scenario == "crdt") {
    probeCrdt();
  } else if (scenario == "abort-reserved") {
    db.set("__nx/forbidden", "x");
  } else if (scenario == "abort-runtime") {
    const items = new StaticArray<i32>(2);
    const index = items.length + <i32>checks + 3;
    items[index] = 1;
  } else if (scenario == "hooks") {
    trace("probe trace", 2, 1.5, 2.5);
    const r = Math.random();
    check(r >= 0 && r < 1 && Math.random() != r, "Math.random works (seeded by the host)");
  } else {
    system.abort(`unknown NX_PROBE scenario "${scenario}"`);
  }
  log.info(`probe ${scenario}: ok (${checks} checks)`);
}
