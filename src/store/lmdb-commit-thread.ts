import { fileURLToPath } from "node:url";
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from "node:worker_threads";
import { processStderr, processStdout } from "../fs/stdio-writer.ts";
import {
  type CommitRequest,
  type CommitResult,
  type CommitWorkerData,
  SIGNAL_BYTES,
  SIGNAL_FENCE,
  SIGNAL_LOADED,
  SIGNAL_RESULTS,
} from "./commit-protocol.ts";
import { StoreError } from "./store-error.ts";

/**
 * The node-side handle of the commit worker (`lmdb-commit-worker.ts`): sends packed groups, hands
 * results to `onResult`, and can wait for a result synchronously when the node must not go on
 * (the pending-writes bound, process exit). Unreferenced: a node with nothing else to do exits,
 * and the store's exit hook commits what is still pending.
 *
 * A store that runs until stopped starts the worker as it opens ({@link LmdbCommitThread.start},
 * which waits until its code, lmdb-commit-worker.js and the lmdb package, is loaded): started at
 * the first commit, hours later perhaps, it would load whatever files an upgrade had put there
 * meanwhile, another version's commit protocol beside this one's. Otherwise the first `send`
 * starts it.
 *
 * A worker that dies (it should not: every LMDB error is caught and returned) fails the group in
 * flight with its error, and the next `send` starts a new worker.
 */
export class LmdbCommitThread {
  readonly #storePath: string;
  readonly #onResult: (result: CommitResult) => void;
  #worker: Worker | undefined;
  #port: MessagePort | undefined;
  #signal = new Int32Array(new SharedArrayBuffer(SIGNAL_BYTES));
  #inFlight: number | undefined;
  #keepAlive = false;

  constructor(storePath: string, onResult: (result: CommitResult) => void) {
    this.#storePath = storePath;
    this.#onResult = onResult;
  }

  /**
   * Starts the worker; resolves once it has loaded its code and opened the environment.
   *
   * @throws StoreError STORE_OPEN_FAILED when it fails to (its file damaged or from another build):
   *   the worker is ended, and the message names the file.
   */
  async start(): Promise<void> {
    this.#start();
    const worker = this.#worker!;
    const { async, value } = Atomics.waitAsync(this.#signal, SIGNAL_LOADED, 0);
    if (!async) return;
    let onError!: (error: unknown) => void;
    let onExit!: (code: number) => void;
    const failed = new Promise<never>((_, reject) => {
      onError = reject;
      onExit = (code) => reject(new Error(`it exited (code ${code}) before it had loaded`));
    });
    worker.once("error", onError).once("exit", onExit);
    // Unreferenced, the worker would not keep the process alive while it is awaited.
    worker.ref();
    try {
      await Promise.race([value, failed]);
    } catch (error) {
      await this.stop();
      const reason = error instanceof Error ? error.message : String(error);
      throw new StoreError(
        "STORE_OPEN_FAILED",
        `the store's commit thread did not load (${fileURLToPath(WORKER_URL)}: ${reason}): reinstall Numax`,
        { cause: error },
      );
    } finally {
      worker.off("error", onError).off("exit", onExit);
      worker.unref();
    }
  }

  /** Hands a packed group to the worker (the buffer is transferred). One at a time. */
  send(id: number, packed: ArrayBuffer): void {
    if (this.#inFlight !== undefined) throw new Error(`commit ${this.#inFlight} is still in flight`);
    const port = this.#port ?? this.#start();
    this.#inFlight = id;
    const request: CommitRequest = { id, packed };
    port.postMessage(request, [packed]);
  }

  /**
   * Blocks this thread until the commit in flight has a result (or `timeoutMs` passed), and
   * delivers it to `onResult` before returning. True when a result was delivered.
   */
  waitForResult(timeoutMs: number): boolean {
    const port = this.#port;
    if (this.#inFlight === undefined || port === undefined) return false;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const seen = Atomics.load(this.#signal, SIGNAL_RESULTS);
      const received = receiveMessageOnPort(port);
      if (received !== undefined) {
        this.#deliver(received.message as CommitResult);
        return true;
      }
      const left = deadline - performance.now();
      if (left <= 0 || this.#worker === undefined) return false;
      Atomics.wait(this.#signal, SIGNAL_RESULTS, seen, left);
    }
  }

  /**
   * From now on the worker commits no group whose transaction has not begun (it answers it
   * failed); one already in its transaction ends first, for the caller's own commit waits for
   * LMDB's write lock. For process exit, where the caller commits every pending write itself: a
   * group sent before, committed after, would put its older values back.
   */
  fence(): void {
    Atomics.store(this.#signal, SIGNAL_FENCE, 1);
  }

  /**
   * While true, the process stays alive until the commit in flight returns (someone waits for
   * it); otherwise the thread does not keep the process alive.
   */
  keepAlive(on: boolean): void {
    this.#keepAlive = on;
    if (on) this.#port?.ref();
    else this.#port?.unref();
  }

  /**
   * Ends the worker at once. The store calls it only once no commit is in flight (close waits for
   * the last result first); a commit still running would be cut off.
   */
  async stop(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    this.#port?.close();
    this.#port = undefined;
    if (worker !== undefined) await worker.terminate();
  }

  #start(): MessagePort {
    const { port1, port2 } = new MessageChannel();
    const data: CommitWorkerData = {
      storePath: this.#storePath,
      port: port2,
      signal: this.#signal,
    };
    // Its stdout and stderr are streams here, forwarded through the process's own writers: left
    // to Node, they would create process.stdout and process.stderr, which make descriptors 1
    // and 2 non-blocking when they are pipes, and every later write of the node would queue in
    // memory without bound behind a reader that lags (src/fs/stdio-writer.ts).
    const worker = new Worker(WORKER_URL, {
      workerData: data,
      transferList: [port2],
      stdout: true,
      stderr: true,
    });
    worker.stdout.on("data", (chunk: Buffer) => processStdout.write(chunk));
    worker.stderr.on("data", (chunk: Buffer) => processStderr.write(chunk));
    worker.unref();
    // Listening refs the port: unref it after, unless someone waits for a commit.
    port1.on("message", (result: CommitResult) => this.#deliver(result));
    if (!this.#keepAlive) port1.unref();
    const died = (error: unknown): void => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      this.#port = undefined;
      port1.close();
      const id = this.#inFlight;
      if (id === undefined) return;
      this.#deliver({
        id,
        ok: false,
        ms: 0,
        code: undefined,
        message: `the commit thread stopped: ${error instanceof Error ? error.message : String(error)}`,
      });
    };
    worker.on("error", died);
    worker.on("exit", (code) => died(new Error(`exit code ${code}`)));
    this.#worker = worker;
    this.#port = port1;
    return port1;
  }

  #deliver(result: CommitResult): void {
    if (result.id !== this.#inFlight) return;
    this.#inFlight = undefined;
    this.#onResult(result);
  }
}

/**
 * The worker's module: next to this file when Node runs the sources, and an entry of its own
 * beside main.cjs when the CLI runs from its bundle (scripts/build-cli.ts).
 */
const WORKER_URL = new URL(
  import.meta.url.endsWith(".ts") ? "./lmdb-commit-worker.ts" : "./lmdb-commit-worker.js",
  import.meta.url,
);
