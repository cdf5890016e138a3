import { X509Certificate } from "node:crypto";
import { access, chmod, rename, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createDirectories, creationFailureReason } from "../../fs/create-directories.ts";
import { inputFileFailureReason, readInputFile } from "../../fs/read-input-file.ts";
import { type NodeId, nodeIdFromCertificate } from "../../identity/node-id.ts";
import { PEM_FILE_BYTES_MAX } from "../tls-material.ts";
import { type CertificateAndKey, createCertificateAuthority } from "./certificate-authority.ts";
import { findGitWorkTree } from "./git-work-tree.ts";
import { issueNodeCertificate } from "./node-certificate.ts";
import { PkiError } from "./pki-error.ts";
import { parseSubjectAltNames } from "./subject-alt-names.ts";

/** File names `nx cert` writes; the same names the docs pass to `--tls-cert/--tls-key/--tls-ca`. */
export const CA_CERT_FILE = "ca.crt";
export const CA_KEY_FILE = "ca.key";
export const NODE_CERT_FILE = "node.crt";
export const NODE_KEY_FILE = "node.key";

/** Private keys are readable by their owner only. */
export const KEY_FILE_MODE = 0o600;

export interface WriteCaOptions {
  readonly outDir: string;
  readonly name: string;
  readonly days: number;
  readonly force: boolean;
  /** Write the private key even when `outDir` lies in a git work tree (`--allow-in-git-tree`). */
  readonly allowInGitTree: boolean;
  readonly now: Date;
}

export interface WrittenCa {
  readonly certPath: string;
  readonly keyPath: string;
}

/** `nx cert ca`: writes `ca.crt` and `ca.key` (0600) into `outDir`. */
export async function writeCertificateAuthority(options: WriteCaOptions): Promise<WrittenCa> {
  const certPath = join(options.outDir, CA_CERT_FILE);
  const keyPath = join(options.outDir, CA_KEY_FILE);
  refuseGitWorkTree(options.outDir, CA_KEY_FILE, options.allowInGitTree);
  await refuseExisting([certPath, keyPath], options.force);
  const ca = await createCertificateAuthority({ name: options.name, days: options.days, now: options.now });
  await mkdirFor(options.outDir);
  await writeOutput(keyPath, ca.keyPem, KEY_FILE_MODE);
  await writeOutput(certPath, ca.certPem, 0o644);
  return { certPath, keyPath };
}

export interface WriteNodeOptions {
  /** Directory holding the CA's `ca.crt` and `ca.key`. */
  readonly caDir: string;
  readonly outDir: string;
  readonly name: string;
  /** `--san` list: comma-separated IP addresses and DNS names. */
  readonly subjectAltNames: string;
  readonly days: number;
  readonly force: boolean;
  /** Write the private key even when `outDir` lies in a git work tree (`--allow-in-git-tree`). */
  readonly allowInGitTree: boolean;
  readonly now: Date;
}

export interface WrittenNode {
  readonly certPath: string;
  readonly keyPath: string;
  /** A copy of the CA certificate next to the node's files, so one directory holds all `--tls-*` inputs. */
  readonly caPath: string;
  readonly nodeId: NodeId;
}

/** `nx cert node`: writes `node.crt`, `node.key` (0600) and a copy of `ca.crt` into `outDir`. */
export async function writeNodeCertificate(options: WriteNodeOptions): Promise<WrittenNode> {
  const subjectAltNames = parseSubjectAltNames(options.subjectAltNames);
  refuseGitWorkTree(options.outDir, NODE_KEY_FILE, options.allowInGitTree);
  const caCertPath = join(options.caDir, CA_CERT_FILE);
  const ca: CertificateAndKey = {
    certPem: await readInput(caCertPath, "CA certificate"),
    keyPem: await readInput(join(options.caDir, CA_KEY_FILE), "CA key"),
  };
  const certPath = join(options.outDir, NODE_CERT_FILE);
  const keyPath = join(options.outDir, NODE_KEY_FILE);
  const caPath = join(options.outDir, CA_CERT_FILE);
  const sameDir = resolve(options.outDir) === resolve(options.caDir);
  await refuseExisting(sameDir ? [certPath, keyPath] : [certPath, keyPath, caPath], options.force);
  const node = await issueNodeCertificate({
    ca,
    name: options.name,
    subjectAltNames,
    days: options.days,
    now: options.now,
  }).catch((error: unknown) => {
    if (error instanceof PkiError) {
      throw new PkiError(error.code, `${error.message} (in ${options.caDir})`, { cause: error });
    }
    throw error;
  });
  await mkdirFor(options.outDir);
  await writeOutput(keyPath, node.keyPem, KEY_FILE_MODE);
  await writeOutput(certPath, node.certPem, 0o644);
  if (!sameDir) await writeOutput(caPath, ca.certPem, 0o644);
  return { certPath, keyPath, caPath, nodeId: node.nodeId };
}

export interface CertificateIdentity {
  readonly nodeId: NodeId;
  readonly subject: string;
  readonly validTo: string;
}

/** `nx cert id`: the NodeId of the (first) certificate in a PEM or DER file. */
export async function readCertificateIdentity(path: string): Promise<CertificateIdentity> {
  const bytes = await readBytes(path, "certificate");
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(bytes);
  } catch (error) {
    throw new PkiError("PKI_BAD_PEM", `${path} is not a PEM or DER certificate`, { cause: error });
  }
  return {
    nodeId: nodeIdFromCertificate(certificate.raw),
    subject: certificate.subject.replaceAll("\n", ", "),
    validTo: new Date(certificate.validTo).toISOString(),
  };
}

async function readInput(path: string, what: string): Promise<string> {
  return (await readBytes(path, what)).toString("utf8");
}

async function readBytes(path: string, what: string): Promise<Buffer> {
  try {
    return readInputFile(path, PEM_FILE_BYTES_MAX);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      throw new PkiError("PKI_FILE_NOT_FOUND", `${what} ${path} does not exist`, { cause: error });
    }
    const why = inputFileFailureReason(error, PEM_FILE_BYTES_MAX) ?? code ?? String(error);
    throw new PkiError("PKI_FILE_UNREADABLE", `cannot read ${what} ${path}: ${why}`, {
      cause: error,
    });
  }
}

async function refuseExisting(paths: readonly string[], force: boolean): Promise<void> {
  if (force) return;
  for (const path of paths) {
    const exists = await access(path).then(
      () => true,
      () => false,
    );
    if (exists)
      throw new PkiError("PKI_OUTPUT_EXISTS", `${path} already exists (add --force to overwrite it)`);
  }
}

/**
 * A private key in a git work tree is one `git add .` away from being published (the repository's
 * own `certs/` is ignored, but a clone elsewhere or another project's tree need not be).
 */
function refuseGitWorkTree(outDir: string, keyFile: string, allowed: boolean): void {
  if (allowed) return;
  const workTree = findGitWorkTree(outDir);
  if (workTree === undefined) return;
  throw new PkiError(
    "PKI_KEY_IN_GIT_TREE",
    `refusing to write the private key ${join(outDir, keyFile)} inside the git work tree ${workTree}, where a commit could publish it: pass an --out outside it (e.g. ~/nx-certs/...), or add --allow-in-git-tree`,
  );
}

async function mkdirFor(dir: string): Promise<void> {
  try {
    createDirectories(dir, 0o700);
  } catch (error) {
    throw new PkiError(
      "PKI_WRITE_FAILED",
      `cannot create directory ${dir}: ${creationFailureReason(error)}`,
      {
        cause: error,
      },
    );
  }
}

/**
 * Writes a new file with `mode` and renames it over `path`: an overwritten key never sits, even
 * for a moment, in a file with the old file's looser permissions, and a crash leaves the old file.
 */
async function writeOutput(path: string, contents: string, mode: number): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, contents, { mode, flag: "wx" });
    // The umask may have narrowed `mode`; the file gets exactly `mode`.
    await chmod(temporary, mode);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => {});
    throw new PkiError("PKI_WRITE_FAILED", `cannot write ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
