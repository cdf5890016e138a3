/**
 * The WebAssembly JavaScript API as Node 26 (V8) provides it, including JS Promise Integration
 * (`WebAssembly.Suspending`, `WebAssembly.promising`). The project's TypeScript libs (esnext,
 * @types/node) do not declare it; this is the subset the runtime uses, typed after the
 * WebAssembly JS API and JSPI specifications.
 */
declare global {
  namespace WebAssembly {
    type ImportValue = unknown;
    type ExportValue = unknown;
    type Imports = Record<string, Record<string, ImportValue>>;
    type Exports = Record<string, ExportValue>;
    type ImportExportKind = "function" | "table" | "memory" | "global" | "tag";

    interface ModuleExportDescriptor {
      readonly name: string;
      readonly kind: ImportExportKind;
    }
    interface ModuleImportDescriptor {
      readonly module: string;
      readonly name: string;
      readonly kind: ImportExportKind;
    }

    class Module {
      constructor(bytes: BufferSource);
      static exports(module: Module): ModuleExportDescriptor[];
      static imports(module: Module): ModuleImportDescriptor[];
      static customSections(module: Module, sectionName: string): ArrayBuffer[];
    }

    class Instance {
      constructor(module: Module, imports?: Imports);
      readonly exports: Exports;
    }

    interface MemoryDescriptor {
      initial: number;
      maximum?: number;
      shared?: boolean;
    }
    class Memory {
      constructor(descriptor: MemoryDescriptor);
      readonly buffer: ArrayBuffer;
      grow(deltaPages: number): number;
    }

    interface TableDescriptor {
      element: "anyfunc" | "externref";
      initial: number;
      maximum?: number;
    }
    class Table {
      constructor(descriptor: TableDescriptor, value?: unknown);
      readonly length: number;
      get(index: number): unknown;
      set(index: number, value?: unknown): void;
      grow(delta: number, value?: unknown): number;
    }

    class Global {
      constructor(descriptor: { value: string; mutable?: boolean }, value?: unknown);
      value: unknown;
    }

    class CompileError extends Error {}
    class LinkError extends Error {}
    class RuntimeError extends Error {}

    /** JSPI: a host import that may return a promise; the calling wasm stack suspends until it settles. */
    class Suspending {
      // biome-ignore lint/suspicious/noExplicitAny: any host function shape
      constructor(fn: (...args: any[]) => unknown);
    }
    /** JSPI: wraps an export so that it runs on its own stack and returns a promise of its result. */
    // biome-ignore lint/suspicious/noExplicitAny: any export shape
    function promising<F extends (...args: any[]) => unknown>(
      fn: F,
    ): (...args: Parameters<F>) => Promise<ReturnType<F>>;

    function validate(bytes: BufferSource): boolean;
    function compile(bytes: BufferSource): Promise<Module>;
    function instantiate(module: Module, imports?: Imports): Promise<Instance>;
  }
}

export {};
