/**
 * A real node serving the http_hello example (`nx run http_hello --serve`) with its observability
 * endpoint, both on ephemeral ports of 127.0.0.1, over a temporary datastore: for tests of what
 * clients and /metrics see.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before } from "node:test";
import { examplePath, type NxProcess, startNx, stopNx, tempDir } from "./nx-process.ts";

export interface HelloServeNode {
  readonly nx: NxProcess;
  /** The serving listener's `host:port`. */
  readonly listener: string;
  /** `http://` and `listener`. */
  readonly served: string;
  /** The observability endpoint's base URL. */
  readonly observed: string;
}

/** Filled before the calling file's tests; after them, stopped (exit code 0 asserted) and its directory removed. */
export function helloServeNode(prefix: string): HelloServeNode {
  const dir = tempDir(prefix);
  const node = {} as { -readonly [K in keyof HelloServeNode]: HelloServeNode[K] };
  before(async () => {
    node.nx = startNx([
      "run",
      examplePath("http_hello"),
      "--serve",
      "127.0.0.1:0",
      "--observability-listen",
      "127.0.0.1:0",
      "--datastore-path",
      join(dir.path, "data"),
    ]);
    node.listener = (await node.nx.waitFor(/serving HTTP url=http:\/\/(127\.0\.0\.1:\d+)/))[1]!;
    node.served = `http://${node.listener}`;
    node.observed = (await node.nx.waitFor(/observability: listening url=(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
  });
  after(async () => {
    const exit = await stopNx(node.nx);
    dir.remove();
    assert.equal(exit.code, 0, node.nx.stderr());
  });
  return node;
}
