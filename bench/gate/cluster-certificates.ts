import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { GateError } from "./gate-error.ts";
import { NX_BIN, REPO_ROOT } from "./nx-process.ts";

const run = promisify(execFile);

/** One node's mutual-TLS material, as `nx run --tls-cert/--tls-key/--tls-ca` take it. */
export interface NodeCertificates {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

/**
 * A cluster CA and a certificate per node, written by `nx cert` (as an operator would) under
 * `<directory>/ca` and `<directory>/<name>`: `--tls` runs the cluster gates over mutual TLS.
 */
export async function writeClusterCertificates(
  directory: string,
  names: readonly string[],
): Promise<NodeCertificates[]> {
  const caDir = join(directory, "ca");
  const nx = async (args: readonly string[]): Promise<void> => {
    try {
      await run(process.execPath, [NX_BIN, "cert", ...args], { cwd: REPO_ROOT });
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr?.trim() ?? String(error);
      throw new GateError("GATE_NODE_FAILED", `nx cert ${args[0]} failed: ${stderr.split("\n").at(-1)}`);
    }
  };
  await nx(["ca", "--out", caDir]);
  return Promise.all(
    names.map(async (name) => {
      const out = join(directory, name);
      await nx(["node", "--ca-dir", caDir, "--name", name, "--out", out]);
      return { cert: join(out, "node.crt"), key: join(out, "node.key"), ca: join(caDir, "ca.crt") };
    }),
  );
}
