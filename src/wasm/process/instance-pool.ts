import { AbiContext } from "../abi/abi-context.ts";
import type { GuestEnvironment } from "../abi/guest-environment.ts";
import type { GuestMemoryRef } from "../abi/guest-memory.ts";
import { forwarding } from "../abi/host-call-forwarding.ts";
import { createHttpImports } from "../abi/http-imports.ts";
import type { HttpPort } from "../abi/http-port.ts";
import { NX_MODULE } from "../abi/nx-signatures.ts";
import { createProcessImports } from "../abi/process-imports.ts";
import { SUSPENDING_PROCESS_FUNCTIONS } from "../abi/process-signatures.ts";
import { GuestInstance } from "../guest-instance.ts";
import type { GuestModule } from "../load-guest-module.ts";
import { InstanceImage } from "./instance-image.ts";
import { type ChildSpawner, KernelProcessPort } from "./kernel-process-port.ts";
import { startImageOf } from "./start-image.ts";

/** Where the guest output of one process goes (stdout / stderr bytes, WASI `fd_write`). */
export interface ProcessOutput {
  stdout(bytes: Uint8Array): void;
  stderr(bytes: Uint8Array): void;
  /** The process ended: write what is still buffered. */
  end(): void;
}

const DISCARD: ProcessOutput = { stdout: () => {}, stderr: () => {}, end: () => {} };

/**
 * The environment of one pooled instance: its pool's, with output to whatever process the
 * instance runs now. The output functions are the pool's (see {@link outputEnvironment}), found
 * through `this`: a pair of closures per instance was ~220 B of each parked process.
 */
interface InstanceEnvironment extends GuestEnvironment {
  pooled: PooledInstance | undefined;
}

function instanceStdout(this: InstanceEnvironment, bytes: Uint8Array): void {
  this.pooled?.output.stdout(bytes);
}

function instanceStderr(this: InstanceEnvironment, bytes: Uint8Array): void {
  this.pooled?.output.stderr(bytes);
}

/**
 * `environment` with output routed to the instance's current process, as the prototype of each
 * instance's environment: over the pool's environment rather than a copy of every field (the
 * copy was ~150 B of each parked process). WASI's `fd_write` calls them as methods.
 */
function outputEnvironment(environment: GuestEnvironment): GuestEnvironment {
  return Object.create(environment, { stdout: { value: instanceStdout }, stderr: { value: instanceStderr } });
}

/**
 * A guest instance that runs one process after another: its `proc_*` imports go through a port
 * re-attached at every life, its output through a sink set at every life, and its state goes
 * back to the instantiation image between lives.
 */
export class PooledInstance {
  readonly guest: GuestInstance;
  readonly port: KernelProcessPort;
  /** Undefined when the instance cannot be reset exactly: it serves one process only. */
  readonly image: InstanceImage | undefined;
  output: ProcessOutput = DISCARD;
  /** The request (or route declaration) of the process it runs now, set at every life. */
  http: HttpPort | undefined;

  constructor(guest: GuestInstance, port: KernelProcessPort, image: InstanceImage | undefined) {
    this.guest = guest;
    this.port = port;
    this.image = image;
  }
}

export interface InstancePoolOptions {
  readonly module: GuestModule;
  /** The environment of every process of this pool (its capabilities decide store and sync). */
  readonly environment: GuestEnvironment;
  readonly spawner: ChildSpawner;
  readonly cpuMsPerRun: number | undefined;
  readonly sliceMs: number | undefined;
  /** Idle instances kept; 0 makes every process instantiate afresh. */
  readonly idleMax: number;
}

/** An instance no process will run again: its export loop, parked between calls, must end for it to be freed. */
function dropInstance(instance: PooledInstance): void {
  instance.guest.kill("dropped by its instance pool");
}

/** The instantiation image of each compiled module's memory (the same for every instance). */
const memoryImages = new WeakMap<WebAssembly.Module, Uint8Array>();

/**
 * Instances of one module with one environment, handed out per process and taken back at its
 * end. Taking an idle instance costs a memory restore (pages that differ from the image) and a
 * few global writes instead of an instantiation; see docs/design/wasm-processes.md.
 */
export class InstancePool {
  readonly #options: InstancePoolOptions;
  /** The prototype of every instance's environment (see {@link outputEnvironment}). */
  readonly #environment: GuestEnvironment;
  readonly #idle: PooledInstance[] = [];
  /** Its code was replaced or removed: no instance is kept any more. */
  #retired = false;
  #created = 0;
  #reused = 0;

  constructor(options: InstancePoolOptions) {
    this.#options = options;
    this.#environment = outputEnvironment(options.environment);
  }

  get idleCount(): number {
    return this.#idle.length;
  }

  get created(): number {
    return this.#created;
  }

  get reused(): number {
    return this.#reused;
  }

  acquire(): PooledInstance {
    const idle = this.#idle.pop();
    if (idle !== undefined) {
      this.#reused++;
      return idle;
    }
    this.#created++;
    return this.#instantiate();
  }

  /** Takes `instance` back after its process ended; true when it was kept for the next one. */
  release(instance: PooledInstance): boolean {
    instance.port.detach();
    instance.output = DISCARD;
    instance.http = undefined;
    const kept =
      !this.#retired &&
      this.#idle.length < this.#options.idleMax &&
      instance.guest.reusable &&
      instance.image?.restore() === true;
    if (!kept) {
      dropInstance(instance);
      return false;
    }
    instance.guest.rearmStart();
    this.#idle.push(instance);
    return true;
  }

  /** Drops every idle instance. */
  clear(): void {
    for (const instance of this.#idle) dropInstance(instance);
    this.#idle.length = 0;
  }

  /** Drops every idle instance, and every instance given back from now on (replaced code). */
  retire(): void {
    this.#retired = true;
    this.clear();
  }

  #instantiate(): PooledInstance {
    const { module, spawner } = this.#options;
    const port = new KernelProcessPort(spawner);
    // The instance exists before the object that routes its output, hence the late binding.
    const env = Object.create(this.#environment) as InstanceEnvironment;
    env.pooled = undefined;
    const memoryRef: GuestMemoryRef = { memory: undefined, hostAccessed: true };
    const ctx = new AbiContext(env, memoryRef);
    const functions = createProcessImports(ctx, port);
    let guest: GuestInstance | undefined;
    const nx: Record<string, unknown> = { ...functions, ...createHttpImports(ctx, () => env.pooled?.http) };
    for (const name of SUSPENDING_PROCESS_FUNCTIONS) {
      // GuestInstance counts plain functions only: these reach it already made Suspending.
      const receive = forwarding(env.hostCalls?.wrap(NX_MODULE, name, functions[name]!) ?? functions[name]!);
      // Returns a plain number when a message is already there: the guest does not even suspend.
      nx[name] = new WebAssembly.Suspending((a, b, c, d, e, f, g, h, i) => {
        const result = receive(a, b, c, d, e, f, g, h, i);
        if (!(result instanceof Promise)) return result;
        return guest!.hostWait(result);
      });
    }
    guest = GuestInstance.create(module, {
      env,
      cpuMsPerRun: this.#options.cpuMsPerRun,
      sliceMs: this.#options.sliceMs,
      yieldToLoop: () => port.yieldProcess(),
      memoryRef,
      // biome-ignore lint/complexity/noBannedTypes: Suspending objects are valid import values
      extraImports: { [NX_MODULE]: nx as Record<string, Function> },
    });
    let image: InstanceImage | undefined;
    if (this.#options.idleMax > 0) {
      const started = startImageOf(module);
      if (started !== undefined) {
        image = InstanceImage.capture(guest.instance, guest.memory, memoryRef, undefined, started);
        // Restored to what its start function would leave: no life runs it (one JSPI entry less each).
        if (image?.restore() === true) guest.skipStart();
        else image = undefined;
      }
      if (image === undefined) {
        const known = memoryImages.get(module.module);
        image = InstanceImage.capture(guest.instance, guest.memory, memoryRef, known);
        if (image !== undefined && known === undefined) memoryImages.set(module.module, image.memoryImage);
      }
    }
    const pooled = new PooledInstance(guest, port, image);
    env.pooled = pooled;
    return pooled;
  }
}
