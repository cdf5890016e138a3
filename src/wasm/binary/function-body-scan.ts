import { skipValueType } from "./module-layout.ts";
import type { WasmReader } from "./wasm-reader.ts";

/**
 * Decodes one function body instruction by instruction (every immediate of every opcode V8
 * ships: MVP, sign extension, saturating conversions, bulk memory, reference types, SIMD and
 * relaxed SIMD, threads, tail calls, exception handling (legacy and exnref), typed function
 * references, GC, multi-memory, memory64, wide arithmetic) and reports what the fuel
 * instrumentation needs: where each loop body begins, whether the function can call other
 * guest code, where it grows memory 0 and whether it can write linear memory. An opcode it does
 * not know fails loudly rather than being skipped wrongly.
 */
export interface FunctionBodyScan {
  /** Offset of the first instruction, after the local declarations. */
  readonly codeStart: number;
  /** Offset right after each `loop <blocktype>`: the first instruction of the loop body. */
  readonly loopBodyStarts: readonly number[];
  /**
   * True when the body calls a function the module defines, or calls through a table or a
   * reference (which may reach one). A body without loops and without such calls runs a bounded
   * number of instructions, so it needs no fuel check at entry.
   */
  readonly callsGuestCode: boolean;
  /** Offset right after each `memory.grow` of memory 0: where its result is on the stack. */
  readonly memoryGrowEnds: readonly number[];
  /**
   * True when the body holds an instruction that can change linear memory: a store (scalar,
   * vector or lane), an atomic read-modify-write, `memory.grow`, `memory.init`, `memory.copy` or
   * `memory.fill`. What host functions write is not in it (the host marks that itself).
   */
  readonly writesMemory: boolean;
  /**
   * True when the body holds a `try` or a `try_table`: it may catch what a host function throws
   * through it. A guest with no such body cannot, so a stopped guest's host wait may end by
   * throwing instead of resuming the guest to trap at its stop check.
   */
  readonly catches: boolean;
  /**
   * Offset right after each call that may reach a host function: a `call` of an imported
   * function, a `call_indirect` or a `call_ref` (a table or a reference may hold an import).
   * Where the instrumenter checks that the guest was not stopped meanwhile.
   */
  readonly hostCallEnds: readonly number[];
  /**
   * Each `return_call` of an imported function: the offset of its opcode and the offset right
   * after it. The instrumenter makes it a plain call, the stop check and a `return` (one frame
   * more, never more than one: the import does not call back).
   */
  readonly hostTailCalls: readonly (readonly [opcode: number, end: number])[];
  /**
   * True when the body holds a `return_call_indirect` or a `return_call_ref`, which may reach a
   * host function whose return goes to this function's caller. They stay tail calls (a guest
   * may loop through them without end); the caller checks the stop flag instead (see
   * {@link guestCalls}).
   */
  readonly tailCallsIndirect: boolean;
  /** Each `call` of a function the module defines: its function index and the offset right after it. */
  readonly guestCalls: readonly (readonly [functionIndex: number, end: number])[];
  /** The function index of each `return_call` of a function the module defines. */
  readonly guestTailCallTargets: readonly number[];
}

const OP_LOOP = 0x03;
const OP_MEMORY_GROW = 0x40;

/** Blocktype: 0x40 (empty), a value type, or an s33 type index. */
function skipBlockType(reader: WasmReader): void {
  const code = reader.peek();
  if (code === 0x63 || code === 0x64) {
    skipValueType(reader);
    return;
  }
  reader.skipLeb(5);
}

/** memarg: align (bit 6 set: a memory index follows), then offset (u64 with memory64). */
function skipMemArg(reader: WasmReader): void {
  const align = reader.u32();
  if ((align & 0x40) !== 0) reader.u32();
  reader.skipLeb(10);
}

function scanGcInstruction(reader: WasmReader, op: number): void {
  if (op <= 1 || op === 6 || op === 7 || op === 11 || op === 12 || op === 13 || op === 14 || op === 16) {
    reader.u32(); // struct.new(_default), array.new(_default), array.get(_s/_u), array.set, array.fill
  } else if (op <= 5 || op === 8 || op === 9 || op === 10 || op === 17 || op === 18 || op === 19) {
    reader.u32(); // struct.get/set: type field; array.new_fixed/new_data/new_elem/copy/init_*
    reader.u32();
  } else if (op === 15 || (op >= 26 && op <= 30)) {
    // array.len, any.convert_extern, extern.convert_any, ref.i31, i31.get_s/_u
  } else if (op >= 20 && op <= 23) {
    reader.skipLeb(5); // ref.test / ref.cast (null) heap type
  } else if (op === 24 || op === 25) {
    reader.byte(); // br_on_cast(_fail): cast flags, label, two heap types
    reader.u32();
    reader.skipLeb(5);
    reader.skipLeb(5);
  } else {
    reader.fail(`unsupported instruction 0xfb ${op}`);
  }
}

function scanMiscInstruction(reader: WasmReader, op: number): void {
  if (op <= 7 || (op >= 19 && op <= 22)) return; // trunc_sat, wide arithmetic
  if (op === 8 || op === 10 || op === 12 || op === 14) {
    reader.u32(); // memory.init data mem, memory.copy mem mem, table.init elem table, table.copy
    reader.u32();
  } else if (op === 9 || op === 11 || op === 13 || (op >= 15 && op <= 17)) {
    reader.u32(); // data.drop, memory.fill, elem.drop, table.grow/size/fill
  } else {
    reader.fail(`unsupported instruction 0xfc ${op}`);
  }
}

/** v128.store and the four store*_lane instructions. */
function isSimdStore(op: number): boolean {
  return op === 11 || (op >= 88 && op <= 91);
}

/** The atomic stores (0x17-0x1d) and read-modify-writes (0x1e-0x4e); loads, waits, notify and fence write nothing. */
function isAtomicWrite(op: number): boolean {
  return op >= 0x17 && op <= 0x4e;
}

function scanSimdInstruction(reader: WasmReader, op: number): void {
  if (op <= 11 || op === 92 || op === 93) {
    skipMemArg(reader); // loads, store, load*_zero
  } else if (op === 12 || op === 13) {
    reader.skip(16); // v128.const, i8x16.shuffle
  } else if (op >= 21 && op <= 34) {
    reader.byte(); // extract_lane / replace_lane
  } else if (op >= 84 && op <= 91) {
    skipMemArg(reader); // load*_lane / store*_lane
    reader.byte();
  } else if (op > 0x113) {
    reader.fail(`unsupported instruction 0xfd ${op}`);
  }
}

function scanAtomicInstruction(reader: WasmReader, op: number): void {
  if (op === 0x03) {
    reader.byte(); // atomic.fence
  } else if (op <= 0x02 || (op >= 0x10 && op <= 0x4e)) {
    skipMemArg(reader);
  } else {
    reader.fail(`unsupported instruction 0xfe ${op}`);
  }
}

/**
 * Scans the body whose bytes (locals and code, without the size prefix) lie in
 * `[reader.offset, reader.end)`. `importedFunctionCount` tells calls to the host apart from
 * calls to guest code.
 */
export function scanFunctionBody(reader: WasmReader, importedFunctionCount: number): FunctionBodyScan {
  const localGroups = reader.count();
  for (let i = 0; i < localGroups; i++) {
    reader.u32();
    skipValueType(reader);
  }
  const codeStart = reader.offset;
  const loopBodyStarts: number[] = [];
  const memoryGrowEnds: number[] = [];
  let callsGuestCode = false;
  let writesMemory = false;
  let catches = false;
  const hostCallEnds: number[] = [];
  const hostTailCalls: (readonly [number, number])[] = [];
  let tailCallsIndirect = false;
  const guestCalls: (readonly [number, number])[] = [];
  const guestTailCallTargets: number[] = [];
  /** Records the call whose opcode was at `at` and whose immediates were just read. */
  const hostCall = (op: number, at: number): void => {
    if (op === 0x10 || op === 0x11 || op === 0x14) hostCallEnds.push(reader.offset);
    else if (op === 0x12) hostTailCalls.push([at, reader.offset]);
    else tailCallsIndirect = true;
  };

  while (reader.remaining > 0) {
    const opAt = reader.offset;
    const op = reader.byte();
    switch (op) {
      case 0x02: // block
      case 0x04: // if
        skipBlockType(reader);
        break;
      case 0x06: // try (legacy)
        catches = true;
        skipBlockType(reader);
        break;
      case OP_LOOP:
        skipBlockType(reader);
        loopBodyStarts.push(reader.offset);
        break;
      case OP_MEMORY_GROW:
        writesMemory = true;
        if (reader.u32() === 0) memoryGrowEnds.push(reader.offset);
        break;
      case 0x07: // catch (legacy) tag
      case 0x08: // throw tag
      case 0x09: // rethrow label
      case 0x0c: // br
      case 0x0d: // br_if
      case 0x18: // delegate
      case 0x20: // local.get
      case 0x21: // local.set
      case 0x22: // local.tee
      case 0x23: // global.get
      case 0x24: // global.set
      case 0x25: // table.get
      case 0x26: // table.set
      case 0x3f: // memory.size
      case 0xd2: // ref.func
      case 0xd5: // br_on_null
      case 0xd6: // br_on_non_null
        reader.u32();
        break;
      case 0x0e: {
        // br_table: labels, then the default
        const n = reader.count();
        for (let i = 0; i <= n; i++) reader.u32();
        break;
      }
      case 0x10: // call
      case 0x12: {
        // return_call
        const callee = reader.u32();
        if (callee < importedFunctionCount) hostCall(op, opAt);
        else {
          callsGuestCode = true;
          if (op === 0x10) guestCalls.push([callee, reader.offset]);
          else guestTailCallTargets.push(callee);
        }
        break;
      }
      case 0x11: // call_indirect type table
      case 0x13: // return_call_indirect
        reader.u32();
        reader.u32();
        callsGuestCode = true;
        hostCall(op, opAt);
        break;
      case 0x14: // call_ref type
      case 0x15: // return_call_ref
        reader.u32();
        callsGuestCode = true;
        hostCall(op, opAt);
        break;
      case 0x1c: {
        // select with types
        const n = reader.count();
        for (let i = 0; i < n; i++) skipValueType(reader);
        break;
      }
      case 0x1f: {
        // try_table: blocktype, catch clauses (kind, [tag], label)
        catches = true;
        skipBlockType(reader);
        const n = reader.count();
        for (let i = 0; i < n; i++) {
          const kind = reader.byte();
          if (kind === 0x00 || kind === 0x01) reader.u32();
          else if (kind !== 0x02 && kind !== 0x03) reader.fail(`unknown catch kind ${kind}`);
          reader.u32();
        }
        break;
      }
      case 0x41: // i32.const
        reader.skipLeb(5);
        break;
      case 0x42: // i64.const
        reader.skipLeb(10);
        break;
      case 0x43: // f32.const
        reader.skip(4);
        break;
      case 0x44: // f64.const
        reader.skip(8);
        break;
      case 0xd0: // ref.null heap type
        reader.skipLeb(5);
        break;
      case 0xfb:
        scanGcInstruction(reader, reader.u32());
        break;
      case 0xfc: {
        const misc = reader.u32();
        if (misc === 8 || misc === 10 || misc === 11) writesMemory = true; // memory.init/copy/fill
        scanMiscInstruction(reader, misc);
        break;
      }
      case 0xfd: {
        const simd = reader.u32();
        if (isSimdStore(simd)) writesMemory = true;
        scanSimdInstruction(reader, simd);
        break;
      }
      case 0xfe: {
        const atomic = reader.u32();
        if (isAtomicWrite(atomic)) writesMemory = true;
        scanAtomicInstruction(reader, atomic);
        break;
      }
      default:
        if (op >= 0x28 && op <= 0x3e) {
          if (op >= 0x36) writesMemory = true; // the stores
          skipMemArg(reader); // loads and stores
        } else if (
          op <= 0x01 || // unreachable, nop
          op === 0x05 || // else
          op === 0x0a || // throw_ref
          op === 0x0b || // end
          op === 0x0f || // return
          op === 0x19 || // catch_all (legacy)
          op === 0x1a || // drop
          op === 0x1b || // select
          (op >= 0x45 && op <= 0xc4) || // numeric, sign extension
          op === 0xd1 || // ref.is_null
          op === 0xd3 || // ref.eq
          op === 0xd4 // ref.as_non_null
        ) {
          // no immediates
        } else {
          reader.offset--;
          reader.fail(`unsupported instruction 0x${op.toString(16)}`);
        }
    }
  }
  return {
    codeStart,
    loopBodyStarts,
    callsGuestCode,
    memoryGrowEnds,
    writesMemory,
    catches,
    hostCallEnds,
    hostTailCalls,
    tailCallsIndirect,
    guestCalls,
    guestTailCallTargets,
  };
}
