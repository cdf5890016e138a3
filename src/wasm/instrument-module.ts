import { type FunctionBodyScan, scanFunctionBody } from "./binary/function-body-scan.ts";
import {
  EXPORT_FUNCTION,
  EXPORT_GLOBAL,
  EXPORT_TABLE,
  type MemoryLimits,
  type ModuleLayout,
  readModuleLayout,
  SECTION_CODE,
  SECTION_CUSTOM,
  SECTION_DATA,
  SECTION_ELEMENT,
  SECTION_EXPORT,
  SECTION_GLOBAL,
  SECTION_MEMORY,
  SECTION_ORDER,
  SECTION_START,
  SECTION_TABLE,
  SECTION_TYPE,
  skipValueType,
  WASM_PAGE_BYTES,
} from "./binary/module-layout.ts";
import { WasmReader } from "./binary/wasm-reader.ts";
import { WasmWriter } from "./binary/wasm-writer.ts";
import {
  CATCHES_MARKER_EXPORT,
  FUEL_INITIAL,
  FUEL_TABLE_EXPORT,
  INSTANCE_ID_EXPORT,
  LAST_GROW_EXPORT,
  MEMORY_WRITTEN_EXPORT,
  RESERVED_EXPORTS,
  START_EXPORT,
  STOPPED_EXPORT,
} from "./guest-exports.ts";
import { ModuleLoadError } from "./module-load-error.ts";

/**
 * Rewrites a validated module so that it can be preempted and bounded:
 *
 * - **Fuel.** A mutable i32 global is decremented at every loop head and at the entry of every
 *   function that can call guest code; when it drops below zero the guest calls the refill
 *   function through a new one-slot table (`call_indirect`) with its instance id (a new global
 *   the runtime sets, {@link INSTANCE_ID_EXPORT}), and stores the fuel it returns.
 *   The runtime fills that slot with a suspending host import, which measures CPU time, enforces
 *   the budget and yields to the event loop. Functions with neither loops nor guest calls run a
 *   bounded number of instructions and get no check.
 * - **Stop check.** After every call that may reach the host (a `call` of an import, a
 *   `call_indirect`, a `call_ref`, and after each refill) the guest traps when a new global,
 *   {@link STOPPED_EXPORT}, is 1: the runtime sets it when it stops the guest, so a guest
 *   killed while its host call was under way, or after its wait settled and before it resumed,
 *   runs no more of its code. A `return_call` of an import becomes a plain call, the check and
 *   a `return`. A `return_call_indirect` or `return_call_ref` stays a tail call (a guest may
 *   loop through one without end), so the check follows every `call` of a function that may
 *   return straight from the host that way, itself or through its own direct tail calls.
 * - **Memory cap.** Every defined memory's maximum is clamped to the cap, so `memory.grow`
 *   beyond it returns -1 inside the guest, as the specification says a failed grow does. Each
 *   `memory.grow` of a 32-bit memory 0 also stores its result in a new global,
 *   {@link LAST_GROW_EXPORT}, so the runtime can tell a trap after a refused grow.
 * - **Start function.** Removed from the start section and exported, so the runtime runs it
 *   after it has filled the refill slot, under the same budget as `run`.
 * - **Reset exports** (instance pooling, src/wasm/process): every global and table the module
 *   defines is exported (`__nx_global_<index>`, `__nx_table_<index>`), so the runtime can put a
 *   used instance back into its initial state from JavaScript, and the fuel global is exported
 *   as {@link POOLABLE_MARKER_EXPORT}. The marker is left out (and so is pooling) when a reset
 *   could not be exact: passive data or element segments (a guest that drops one would find it
 *   dropped in its next life), several memories, or a constant expression this reader does not
 *   know. A poolable module also gets a memory-written marker, {@link MEMORY_WRITTEN_EXPORT}: a
 *   global set to 1 at the entry of every function that can write linear memory (a store, an
 *   atomic write, a bulk memory operation or a grow anywhere in its body), so a reset after a
 *   life that wrote nothing skips the memory copy (64 KiB take about 1.3 µs, more than the rest
 *   of a pooled spawn).
 *
 * Only appends (a type, a table, globals, exports and code; a `return_call` of an import
 * becomes a plain call of the same immediates): no existing index moves, so calls,
 * element segments, the name section and the guest's exports stay byte-for-byte valid.
 */
export interface InstrumentOptions {
  /** Named in error messages. */
  readonly moduleLabel: string;
  /** Cap for every memory's maximum, in bytes (a multiple of 64 KiB is exact; it rounds down). */
  readonly memoryMaxBytes: number;
}

/** Prefix of the exports of the module's own globals, by global index (reset exports). */
export const RESET_GLOBAL_EXPORT_PREFIX = "__nx_global_";
/** Prefix of the exports of the module's own tables, by table index (reset exports). */
export const RESET_TABLE_EXPORT_PREFIX = "__nx_table_";
/** The fuel global, exported only when the reset exports make an exact reset possible. */
export const POOLABLE_MARKER_EXPORT = "__nx_fuel";
/** Every export name starting with this belongs to the runtime. */
const RUNTIME_EXPORT_PREFIX = "__nx_";

export interface InstrumentedModule {
  readonly bytes: Uint8Array;
  /** Fuel checks inserted (function entries plus loop heads). */
  readonly fuelChecks: number;
  /** True when the guest had a start function, now exported as {@link START_EXPORT}. */
  readonly hasStart: boolean;
  /** True when the reset exports allow resetting an instance exactly (see above). */
  readonly poolable: boolean;
}

/** What each global the instrumenter adds is for (see AddedIndices). */
type AddedGlobalRole = "fuel" | "lastGrow" | "memoryWritten" | "instanceId" | "stopped";

interface AddedIndices {
  readonly fuelGlobal: number;
  /** The instance id the guest passes to the refill function (see INSTANCE_ID_EXPORT). */
  readonly instanceIdGlobal: number;
  /** 1 once the guest was stopped: checked after every host call and refill (see STOPPED_EXPORT). */
  readonly stoppedGlobal: number;
  readonly refillType: number;
  readonly fuelTable: number;
  /** The global that keeps the last `memory.grow` result; undefined when grows are not watched. */
  readonly lastGrowGlobal: number | undefined;
  /** The memory-written marker; undefined when the module is not poolable. */
  readonly memoryWrittenGlobal: number | undefined;
}

/** global.set; global.get: keeps the `memory.grow` result on the stack and in the global. */
function growWatch(global: number): Uint8Array {
  return new WasmWriter(12).byte(0x24).u32(global).byte(0x23).u32(global).finish();
}

/** Appends a global entry: a mutable i32 initialised to `init` (`i32.const init; end`). */
function mutableI32(w: WasmWriter, init: number): WasmWriter {
  return w.byte(0x7f).byte(0x01).byte(0x41).s32(init).byte(0x0b);
}

/** i32.const 1; global.set: the memory-written marker, at the entry of a function that writes memory. */
function memoryWrittenMark(global: number): Uint8Array {
  return new WasmWriter(8).byte(0x41).s32(1).byte(0x24).u32(global).finish();
}

/** global.get stopped; if; unreachable; end: the guest traps when the runtime stopped it. */
function stopCheck(stoppedGlobal: number): Uint8Array {
  return new WasmWriter(8).byte(0x23).u32(stoppedGlobal).byte(0x04).byte(0x40).byte(0x00).byte(0x0b).finish();
}

/** What a `return_call` of an import becomes, before its stop check and a `return` (see rewriteCode). */
const PLAIN_CALL = Uint8Array.of(0x10);

/**
 * global.get; i32.const 1; i32.sub; global.set; global.get; i32.const 0; i32.lt_s;
 * if; refill(id); global.set; stop check; end
 */
function fuelCheck(indices: AddedIndices): Uint8Array {
  const w = new WasmWriter(32);
  w.byte(0x23).u32(indices.fuelGlobal);
  w.byte(0x41).s32(1);
  w.byte(0x6b);
  w.byte(0x24).u32(indices.fuelGlobal);
  w.byte(0x23).u32(indices.fuelGlobal);
  w.byte(0x41).s32(0);
  w.byte(0x48);
  w.byte(0x04).byte(0x40);
  w.byte(0x23).u32(indices.instanceIdGlobal);
  w.byte(0x41).s32(0);
  w.byte(0x11).u32(indices.refillType).u32(indices.fuelTable);
  w.byte(0x24).u32(indices.fuelGlobal);
  // A stop that came after the refill's yield ended and before the guest resumed (the refill
  // trampoline traps only on the units it is answered).
  w.bytes(stopCheck(indices.stoppedGlobal));
  w.byte(0x0b);
  return w.finish();
}

function rewriteCode(
  bytes: Uint8Array,
  start: number,
  end: number,
  layout: ModuleLayout,
  check: Uint8Array,
  stop: Uint8Array,
  watch: Uint8Array | undefined,
  mark: Uint8Array | undefined,
): { content: Uint8Array; checks: number; inserted: number; catches: boolean } {
  const reader = new WasmReader(bytes, start, end);
  const out = new WasmWriter(end - start + 1024);
  const stopAndReturn = Uint8Array.of(...stop, 0x0f);
  const importedFunctions = layout.importedFunctionTypes.length;
  const functions = reader.count();
  const bodies: { readonly start: number; readonly end: number; readonly scan: FunctionBodyScan }[] = [];
  for (let f = 0; f < functions; f++) {
    const size = reader.u32();
    const bodyStart = reader.offset;
    reader.skip(size);
    const scan = scanFunctionBody(new WasmReader(bytes, bodyStart, bodyStart + size), importedFunctions);
    bodies.push({ start: bodyStart, end: bodyStart + size, scan });
  }
  const returnsFromHost = functionsReturningFromHost(bodies, importedFunctions);
  out.u32(functions);
  let checks = 0;
  let insertedBytes = 0;
  let catches = false;
  for (const { start: bodyStart, end: bodyEnd, scan } of bodies) {
    const size = bodyEnd - bodyStart;
    catches ||= scan.catches;
    const entryCheck = scan.callsGuestCode;
    const entryMark = mark !== undefined && scan.writesMemory ? mark : undefined;
    // What goes where, in code order, each replacing `skip` bytes there: a fuel check at each
    // loop head, the watch after each grow, the stop check after each call that may reach the
    // host or return from it (functionsReturningFromHost), and each tail call of an import made
    // a plain call, the stop check and a return.
    const insertions: (readonly [at: number, code: Uint8Array, skip: number])[] = [
      ...scan.loopBodyStarts.map((at) => [at, check, 0] as const),
      ...(watch === undefined ? [] : scan.memoryGrowEnds.map((at) => [at, watch, 0] as const)),
      ...scan.hostCallEnds.map((at) => [at, stop, 0] as const),
      ...scan.guestCalls
        .filter(([callee]) => returnsFromHost[callee - importedFunctions] === true)
        .map(([, at]) => [at, stop, 0] as const),
      ...scan.hostTailCalls.flatMap(([at, end]) => [
        [at, PLAIN_CALL, 1] as const,
        [end, stopAndReturn, 0] as const,
      ]),
    ].sort((a, b) => a[0] - b[0] || a[2] - b[2]);
    checks += (entryCheck ? 1 : 0) + scan.loopBodyStarts.length;
    const added =
      (entryCheck ? check.length : 0) +
      (entryMark?.length ?? 0) +
      insertions.reduce((sum, [, code, skip]) => sum + code.length - skip, 0);
    insertedBytes += added;
    out.u32(size + added);
    out.bytes(bytes.subarray(bodyStart, scan.codeStart));
    if (entryMark !== undefined) out.bytes(entryMark);
    if (entryCheck) out.bytes(check);
    let copied = scan.codeStart;
    for (const [at, code, skip] of insertions) {
      out.bytes(bytes.subarray(copied, at));
      out.bytes(code);
      copied = at + skip;
    }
    out.bytes(bytes.subarray(copied, bodyEnd));
  }
  return { content: out.finish(), checks, inserted: insertedBytes, catches };
}

/**
 * For each defined function, whether a call of it may return straight from a host function: it
 * holds a `return_call_indirect` or a `return_call_ref` (which may reach an import), or it
 * tail-calls a function that may. Those tail calls stay tail calls, so that a guest may loop
 * through them without end; a `call` of such a function gets the stop check after it instead.
 */
function functionsReturningFromHost(
  bodies: readonly { readonly scan: FunctionBodyScan }[],
  importedFunctions: number,
): boolean[] {
  const returns = bodies.map(({ scan }) => scan.tailCallsIndirect);
  const tailCallers: number[][] = bodies.map(() => []);
  bodies.forEach(({ scan }, f) => {
    for (const callee of scan.guestTailCallTargets) tailCallers[callee - importedFunctions]!.push(f);
  });
  const pending = returns.flatMap((yes, f) => (yes ? [f] : []));
  for (let f = pending.pop(); f !== undefined; f = pending.pop()) {
    for (const caller of tailCallers[f]!) {
      if (returns[caller]) continue;
      returns[caller] = true;
      pending.push(caller);
    }
  }
  return returns;
}

function writeLimits(w: WasmWriter, limits: MemoryLimits): void {
  w.byte(limits.flags);
  const is64 = (limits.flags & 0x04) !== 0;
  const put = (value: bigint) => (is64 ? w.u64(value) : w.u32(Number(value)));
  put(limits.initialPages);
  if (limits.maximumPages !== undefined) put(limits.maximumPages);
}

function clampMemories(layout: ModuleLayout, options: InstrumentOptions): Uint8Array {
  const capPages = BigInt(Math.floor(options.memoryMaxBytes / WASM_PAGE_BYTES));
  const w = new WasmWriter(16 * layout.definedMemories.length + 8);
  w.u32(layout.definedMemories.length);
  for (const memory of layout.definedMemories) {
    if (memory.initialPages > capPages) {
      throw new ModuleLoadError(
        "memory_above_cap",
        options.moduleLabel,
        `needs ${mib(memory.initialPages)} of initial memory, above the memory cap of ${mib(capPages)} ` +
          "(raise it with --memory-max-mb or memory_max_mb)",
      );
    }
    const maximumPages =
      memory.maximumPages === undefined || memory.maximumPages > capPages ? capPages : memory.maximumPages;
    writeLimits(w, { flags: memory.flags | 0x01, initialPages: memory.initialPages, maximumPages });
  }
  return w.finish();
}

function mib(pages: bigint): string {
  const bytes = Number(pages) * WASM_PAGE_BYTES;
  return `${Math.round((bytes / (1024 * 1024)) * 100) / 100} MiB`;
}

/** `count + 1` entries: the section's existing entries followed by `extra`. */
function appendEntries(
  bytes: Uint8Array,
  start: number,
  end: number,
  added: number,
  extra: Uint8Array,
): Uint8Array {
  const reader = new WasmReader(bytes, start, end);
  const count = reader.u32();
  const w = new WasmWriter(end - start + extra.length + 8);
  w.u32(count + added);
  w.bytes(bytes.subarray(reader.offset, end));
  w.bytes(extra);
  return w.finish();
}

export function instrumentModule(bytes: Uint8Array, options: InstrumentOptions): InstrumentedModule {
  const layout = readModuleLayout(bytes);
  if (layout.types.some((type) => type.kind === "other")) {
    throw new ModuleLoadError(
      "unsupported",
      options.moduleLabel,
      "uses WebAssembly GC types (struct or array), whose allocations the memory cap cannot bound; " +
        "Numax runs guests that use linear memory only",
    );
  }
  for (const entry of layout.exports) {
    if (RESERVED_EXPORTS.includes(entry.name) || entry.name.startsWith(RUNTIME_EXPORT_PREFIX)) {
      throw new ModuleLoadError(
        "unsupported",
        options.moduleLabel,
        `exports ${entry.name}, a name the runtime reserves (export names starting with ${RUNTIME_EXPORT_PREFIX})`,
      );
    }
  }
  // Grows of a 64-bit memory or of other memories are not watched: their traps are reported as
  // the cap only when the memory is at it.
  const watchGrows = layout.definedMemories.length > 0 && (layout.definedMemories[0]!.flags & 0x04) === 0;
  const poolable = layout.definedMemories.length === 1 && !mayKeepSegments(bytes, layout);
  // The added globals in the order they are written after the module's own: each one's index
  // is its place in this list, so indices and bytes cannot drift apart.
  const addedGlobals: readonly { readonly role: AddedGlobalRole; readonly initial: number }[] = [
    { role: "fuel", initial: FUEL_INITIAL },
    ...(watchGrows ? [{ role: "lastGrow" as const, initial: 0 }] : []),
    // Written from the start: the first reset copies the image back whatever ran before it.
    ...(poolable ? [{ role: "memoryWritten" as const, initial: 1 }] : []),
    { role: "instanceId", initial: 0 }, // set by the runtime
    { role: "stopped", initial: 0 }, // set by the runtime
  ];
  const firstAddedGlobal = layout.importedGlobalCount + layout.definedGlobalCount;
  const globalOf = (role: AddedGlobalRole): number | undefined => {
    const at = addedGlobals.findIndex((global) => global.role === role);
    return at < 0 ? undefined : firstAddedGlobal + at;
  };
  const indices: AddedIndices = {
    fuelGlobal: globalOf("fuel")!,
    instanceIdGlobal: globalOf("instanceId")!,
    stoppedGlobal: globalOf("stopped")!,
    refillType: layout.types.length,
    fuelTable: layout.importedTableCount + layout.definedTableCount,
    lastGrowGlobal: globalOf("lastGrow"),
    memoryWrittenGlobal: globalOf("memoryWritten"),
  };
  const check = fuelCheck(indices);
  const stop = stopCheck(indices.stoppedGlobal);
  const watch = indices.lastGrowGlobal === undefined ? undefined : growWatch(indices.lastGrowGlobal);
  const mark =
    indices.memoryWrittenGlobal === undefined ? undefined : memoryWrittenMark(indices.memoryWrittenGlobal);

  const refillType = new WasmWriter(8).byte(0x60).u32(1).byte(0x7f).u32(1).byte(0x7f).finish();
  const fuelTable = new WasmWriter(8).byte(0x70).byte(0x00).u32(1).finish();
  const addedGlobalWriter = new WasmWriter(16);
  for (const global of addedGlobals) mutableI32(addedGlobalWriter, global.initial);
  const addedGlobalEntries = addedGlobalWriter.finish();
  const globalsAdded = addedGlobals.length;
  const codeSection = layout.sections.find((section) => section.id === SECTION_CODE);
  const code =
    codeSection === undefined
      ? undefined
      : rewriteCode(bytes, codeSection.start, codeSection.end, layout, check, stop, watch, mark);
  const exportsWriter = new WasmWriter(64);
  exportsWriter.name(FUEL_TABLE_EXPORT).byte(EXPORT_TABLE).u32(indices.fuelTable);
  exportsWriter.name(INSTANCE_ID_EXPORT).byte(EXPORT_GLOBAL).u32(indices.instanceIdGlobal);
  exportsWriter.name(STOPPED_EXPORT).byte(EXPORT_GLOBAL).u32(indices.stoppedGlobal);
  const hasStart = layout.startFunction !== undefined;
  if (layout.startFunction !== undefined) {
    exportsWriter.name(START_EXPORT).byte(EXPORT_FUNCTION).u32(layout.startFunction);
  }
  if (indices.lastGrowGlobal !== undefined) {
    exportsWriter.name(LAST_GROW_EXPORT).byte(EXPORT_GLOBAL).u32(indices.lastGrowGlobal);
  }
  let addedExports = (hasStart ? 4 : 3) + (watchGrows ? 1 : 0);
  if (code?.catches === true) {
    exportsWriter.name(CATCHES_MARKER_EXPORT).byte(EXPORT_GLOBAL).u32(indices.instanceIdGlobal);
    addedExports++;
  }
  if (poolable) {
    for (let g = 0; g < layout.definedGlobalCount; g++) {
      const index = layout.importedGlobalCount + g;
      exportsWriter.name(`${RESET_GLOBAL_EXPORT_PREFIX}${index}`).byte(EXPORT_GLOBAL).u32(index);
    }
    for (let t = 0; t < layout.definedTableCount; t++) {
      const index = layout.importedTableCount + t;
      exportsWriter.name(`${RESET_TABLE_EXPORT_PREFIX}${index}`).byte(EXPORT_TABLE).u32(index);
    }
    exportsWriter.name(POOLABLE_MARKER_EXPORT).byte(EXPORT_GLOBAL).u32(indices.fuelGlobal);
    exportsWriter.name(MEMORY_WRITTEN_EXPORT).byte(EXPORT_GLOBAL).u32(indices.memoryWrittenGlobal!);
    addedExports += layout.definedGlobalCount + layout.definedTableCount + 2;
  }

  /** New content per section id; `undefined` content drops the section. */
  const replaced = new Map<number, Uint8Array | undefined>();
  let fuelChecks = 0;
  let insertedBytes = 0;
  for (const section of layout.sections) {
    const { id, start, end } = section;
    if (id === SECTION_TYPE) replaced.set(id, appendEntries(bytes, start, end, 1, refillType));
    else if (id === SECTION_TABLE) replaced.set(id, appendEntries(bytes, start, end, 1, fuelTable));
    else if (id === SECTION_GLOBAL)
      replaced.set(id, appendEntries(bytes, start, end, globalsAdded, addedGlobalEntries));
    else if (id === SECTION_EXPORT)
      replaced.set(id, appendEntries(bytes, start, end, addedExports, exportsWriter.finish()));
    else if (id === SECTION_MEMORY) replaced.set(id, clampMemories(layout, options));
    else if (id === SECTION_START) replaced.set(id, undefined);
    else if (id === SECTION_CODE && code !== undefined) {
      fuelChecks = code.checks;
      insertedBytes = code.inserted;
      replaced.set(id, code.content);
    }
  }
  const created = new Map<number, Uint8Array>();
  const prefixed = (n: number, entry: Uint8Array) =>
    new WasmWriter(entry.length + 5).u32(n).bytes(entry).finish();
  if (!replaced.has(SECTION_TYPE)) created.set(SECTION_TYPE, prefixed(1, refillType));
  if (!replaced.has(SECTION_TABLE)) created.set(SECTION_TABLE, prefixed(1, fuelTable));
  if (!replaced.has(SECTION_GLOBAL)) created.set(SECTION_GLOBAL, prefixed(globalsAdded, addedGlobalEntries));
  if (!replaced.has(SECTION_EXPORT))
    created.set(SECTION_EXPORT, prefixed(addedExports, exportsWriter.finish()));

  const out = new WasmWriter(bytes.length + insertedBytes + 256);
  out.bytes(bytes.subarray(0, 8));
  const emitCreatedBefore = (id: number) => {
    const position = SECTION_ORDER.indexOf(id);
    for (const [createdId, content] of created) {
      if (SECTION_ORDER.indexOf(createdId) < position) {
        out.byte(createdId).sized(content);
        created.delete(createdId);
      }
    }
  };
  for (const section of layout.sections) {
    if (section.id !== SECTION_CUSTOM) emitCreatedBefore(section.id);
    if (!replaced.has(section.id) || section.id === SECTION_CUSTOM) {
      out.bytes(bytes.subarray(section.headerStart, section.end));
      continue;
    }
    const content = replaced.get(section.id);
    if (content !== undefined) out.byte(section.id).sized(content);
  }
  for (const [createdId, content] of created) out.byte(createdId).sized(content);
  return { bytes: out.finish(), fuelChecks, hasStart, poolable };
}

/**
 * Skips one constant expression; false when it holds an instruction this reader does not know
 * (then the caller assumes the worst). Constant instructions: numeric and vector constants,
 * `ref.null`, `ref.func`, `global.get` and the extended-const arithmetic.
 */
function skipConstExpr(reader: WasmReader): boolean {
  for (;;) {
    const op = reader.byte();
    if (op === 0x0b) return true;
    if (op === 0x41 || op === 0x23 || op === 0xd2) reader.skipLeb(5);
    else if (op === 0x42) reader.skipLeb(10);
    else if (op === 0x43) reader.skip(4);
    else if (op === 0x44) reader.skip(8);
    else if (op === 0xd0) reader.skipLeb(5);
    else if (op === 0xfd && reader.u32() === 12) reader.skip(16);
    else if (op === 0x6a || op === 0x6b || op === 0x6c || op === 0x7c || op === 0x7d || op === 0x7e) continue;
    else return false;
  }
}

/**
 * True when the module has a passive data or element segment, or one this reader cannot skip.
 * Active segments are dropped at instantiation and declarative ones never exist at run time, so
 * only passive ones carry state (dropped or not) from one life of a pooled instance to the next.
 */
function mayKeepSegments(bytes: Uint8Array, layout: ModuleLayout): boolean {
  for (const section of layout.sections) {
    if (section.id !== SECTION_DATA && section.id !== SECTION_ELEMENT) continue;
    const reader = new WasmReader(bytes, section.start, section.end);
    const count = reader.count();
    for (let i = 0; i < count; i++) {
      const flags = reader.u32();
      if (section.id === SECTION_DATA) {
        if (flags === 1) return true;
        if (flags === 2) reader.u32();
        if (flags > 2 || !skipConstExpr(reader)) return true;
        reader.skip(reader.u32());
        continue;
      }
      if (flags === 1 || flags === 5 || flags > 7) return true;
      if (flags === 2 || flags === 6) reader.u32(); // table index
      if ((flags & 0x01) === 0 && !skipConstExpr(reader)) return true; // active: offset
      const expressions = (flags & 0x04) !== 0;
      if ((flags & 0x03) !== 0) {
        if (expressions) skipValueType(reader);
        else reader.byte(); // elemkind
      }
      const items = reader.count();
      for (let item = 0; item < items; item++) {
        if (!expressions) reader.u32();
        else if (!skipConstExpr(reader)) return true;
      }
    }
  }
  return false;
}
