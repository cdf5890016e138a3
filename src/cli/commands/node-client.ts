import { type Command, InvalidArgumentError } from "commander";

// The client commands (`nx status`, `nx ps`, `nx peers`, `nx keys`, `nx get`, `nx reload`): they
// talk to a running node through its management API (docs/management-api.md). Declarations
// only: the actions import src/client/ lazily.

const CONNECTION_HELP = `
The node: --node URL (default: http:// + [management] listen of the local config, 127.0.0.1:9102)
and --token-file FILE (default: [management] token_file, <datastore>/management.token).
Exit codes: 0 ok, 1 the node answered an error, 2 usage, 3 the node cannot be reached, 4 token refused.`;

/** The options every client command takes. */
export function withConnection(command: Command): Command {
  return command
    .option("--node <url>", "the node's management API, e.g. http://127.0.0.1:9102")
    .option("--token-file <file>", "file holding the API token")
    .option("--config <file>", "local config giving the defaults of --node and --token-file")
    .option("--json", "print the API's JSON instead of a table")
    .addHelpText("after", CONNECTION_HELP);
}

function positiveInteger(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 1000) {
    throw new InvalidArgumentError("expected an integer from 1 to 1000");
  }
  return value;
}

const client = () => import("../../client/client-commands.ts");

export function defineClientCommands(program: Command): void {
  withConnection(
    program.command("status").description("a running node: identity, uptime, store, peers, modules"),
  ).action(async (options) => (await client()).runStatus(options, process.stdout));

  withConnection(
    program
      .command("ps")
      .description("a running node's processes, busiest first (mailbox, reductions, memory)"),
  ).action(async (options) => (await client()).runPs(options, process.stdout));

  // `add` and `remove` read their options with the parent's (`nx peers --node URL add ADDR`
  // and `nx peers add ADDR --node URL` alike): commander hands shared flags to the parent.
  // `add` and `remove` read their options with the parent's: commander hands a flag both
  // declare to `peers` (`nx peers add ADDR --node URL` and `nx peers --node URL add ADDR` alike).
  const peers = withConnection(
    program
      .command("peers")
      .description("a running node's peers (state, RTT); `add` and `remove` change them"),
  ).action(async (options) => (await client()).runPeers(options, process.stdout));
  withConnection(
    peers
      .command("add")
      .argument("<address>", "host:port of the peer")
      .description("dial a peer and keep it"),
  ).action(async (address: string, _options, command: Command) =>
    (await client()).runPeersAdd(address, command.optsWithGlobals(), process.stdout),
  );
  withConnection(
    peers
      .command("remove")
      .argument("<address>", "host:port of the peer")
      .description("stop dialling a peer"),
  ).action(async (address: string, _options, command: Command) =>
    (await client()).runPeersRemove(address, command.optsWithGlobals(), process.stdout),
  );

  withConnection(
    program
      .command("keys")
      .argument("[prefix]", "only keys starting with this")
      .description("a running node's replicated keys and their CRDT family")
      .option("--limit <n>", "keys per page (1-1000, default 100)", positiveInteger)
      .option("--cursor <cursor>", "continue after a page (the cursor the last page printed)")
      .option("--all", "every key, page after page"),
  ).action(async (prefix: string | undefined, options) =>
    (await client()).runKeys(prefix, options, process.stdout),
  );

  withConnection(
    program
      .command("get")
      .argument("<key>", "the key")
      .description("one replicated key: family, value, last writer")
      .option("--family <family>", "the CRDT family, when the key exists in several"),
  ).action(async (key: string, options) => (await client()).runGet(key, options, process.stdout));

  withConnection(
    program
      .command("reload")
      .argument("<module>", "the module's id")
      .argument("[file]", "the new .wasm (default: the module's own file, read again)")
      .description("replace a running module's code (its state and the node's connections stay)"),
  ).action(async (moduleId: string, file: string | undefined, options) =>
    (await client()).runReload(moduleId, file, options, process.stdout),
  );
}
