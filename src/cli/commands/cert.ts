import type { Command } from "commander";
import { NumaxError } from "../../errors/numax-error.ts";

interface OutputOptions {
  json?: boolean;
}

interface WriteOptions {
  force?: boolean;
  allowInGitTree?: boolean;
}

const ALLOW_IN_GIT_TREE = "--allow-in-git-tree";
const ALLOW_IN_GIT_TREE_HELP =
  "write the private key even inside a git work tree (refused by default: a commit could publish it)";

/**
 * `nx cert ca | node | id`: a cluster PKI for mTLS without openssl. The implementation
 * (src/net/pki/) is imported inside each action so that `nx --help` stays fast.
 */
export function defineCertCommand(program: Command): void {
  const cert = program
    .command("cert")
    .description("create a cluster PKI for mTLS (CA, node certificates) and print NodeIds");

  cert
    .command("ca")
    .description("create a cluster CA: ECDSA P-256 key and self-signed certificate (ca.crt, ca.key)")
    .requiredOption("--out <dir>", "directory to write ca.crt and ca.key into")
    .option("--name <name>", "common name of the CA", "Numax cluster CA")
    .option("--days <n>", "validity in days", "3650")
    .option("--force", "overwrite existing files")
    .option(ALLOW_IN_GIT_TREE, ALLOW_IN_GIT_TREE_HELP)
    .option("--json", "print the result as JSON")
    .action(async (options: { out: string; name: string; days: string } & WriteOptions & OutputOptions) => {
      const { writeCertificateAuthority } = await import("../../net/pki/cert-files.ts");
      const written = await asUsageError(() =>
        writeCertificateAuthority({
          outDir: options.out,
          name: options.name,
          days: parseDays(options.days),
          force: options.force === true,
          allowInGitTree: options.allowInGitTree === true,
          now: new Date(),
        }),
      );
      print(options, written, [
        `wrote ${written.certPath} and ${written.keyPath} (mode 0600: keep the CA key private)`,
        `next: nx cert node --ca-dir ${options.out} --name NAME --out DIR`,
      ]);
    });

  cert
    .command("node")
    .description(
      "create a node key and certificate signed by the CA (TLS server and client), print its NodeId",
    )
    .requiredOption("--ca-dir <dir>", "directory holding ca.crt and ca.key (from nx cert ca)")
    .requiredOption("--name <name>", "common name of the node (a label; the identity is the NodeId)")
    .requiredOption("--out <dir>", "directory to write node.crt, node.key and a copy of ca.crt into")
    .option(
      "--san <list>",
      "comma-separated IP addresses and DNS names peers dial this node at",
      "127.0.0.1,localhost",
    )
    .option("--days <n>", "validity in days", "825")
    .option("--force", "overwrite existing files")
    .option(ALLOW_IN_GIT_TREE, ALLOW_IN_GIT_TREE_HELP)
    .option("--json", "print the result as JSON")
    .action(
      async (
        options: {
          caDir: string;
          name: string;
          out: string;
          san: string;
          days: string;
        } & WriteOptions &
          OutputOptions,
      ) => {
        const { writeNodeCertificate } = await import("../../net/pki/cert-files.ts");
        const written = await asUsageError(() =>
          writeNodeCertificate({
            caDir: options.caDir,
            outDir: options.out,
            name: options.name,
            subjectAltNames: options.san,
            days: parseDays(options.days),
            force: options.force === true,
            allowInGitTree: options.allowInGitTree === true,
            now: new Date(),
          }),
        );
        print(options, written, [
          `wrote ${written.certPath}, ${written.keyPath} (mode 0600) and ${written.caPath}`,
          `NodeId: ${written.nodeId}`,
        ]);
      },
    );

  cert
    .command("id")
    .description("print the NodeId of a certificate (what --allowed-peers lists)")
    .argument("<cert>", "certificate file, PEM or DER")
    .option("--json", "print the result as JSON")
    .action(async (path: string, options: OutputOptions) => {
      const { readCertificateIdentity } = await import("../../net/pki/cert-files.ts");
      const identity = await asUsageError(() => readCertificateIdentity(path));
      print(options, identity, [identity.nodeId]);
    });
}

function parseDays(value: string): number {
  const days = /^[0-9]+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(days) || days < 1) {
    throw new NumaxError("USAGE_CERT_DAYS", `--days must be a whole number of days, got "${value}"`);
  }
  return days;
}

/** Every `nx cert` failure is bad input (files, names, options): exit code 2 with one line. */
async function asUsageError<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof NumaxError && !error.code.startsWith("USAGE")) {
      throw new NumaxError(`USAGE_${error.code}`, error.message, { cause: error });
    }
    throw error;
  }
}

function print(options: OutputOptions, result: object, lines: readonly string[]): void {
  process.stdout.write(options.json ? `${JSON.stringify(result)}\n` : `${lines.join("\n")}\n`);
}
