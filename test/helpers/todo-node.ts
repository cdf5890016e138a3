import { examplePath } from "./nx-process.ts";
import { type SyncNode, type SyncNodeOptions, syncNodeTracker } from "./sync-node.ts";

/** A todo as the collaborative_todo example's API answers it. */
export interface Todo {
  readonly id: string;
  readonly title: string;
  readonly done: boolean;
}

/** A sync node running examples/collaborative_todo with `--serve`, and the URL it serves. */
export interface TodoNode {
  readonly node: SyncNode;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
}

/** The line a node logs once its listener is up; `--serve 127.0.0.1:0` picks the port. */
const SERVING = /serving HTTP url=(http:\/\/127\.0\.0\.1:\d+) routes=6\b/;

/**
 * Starts collaborative_todo nodes (`--listen`, `--peer`, `--tls-insecure`, `--serve`) as the
 * example's README runs them; `servePort` fixes the HTTP port (to restart a node where its
 * pages are), default a port the system picks.
 */
export function todoNodes() {
  const nodes = syncNodeTracker();
  return {
    ...nodes,
    async start(
      options: Omit<SyncNodeOptions, "guest" | "args"> & { servePort?: number },
    ): Promise<TodoNode> {
      const node = await nodes.node({
        ...options,
        guest: examplePath("collaborative_todo"),
        args: ["--serve", `127.0.0.1:${options.servePort ?? 0}`],
      });
      return { node, url: (await node.nx.waitFor(SERVING))[1]! };
    },
  };
}

/** One server-sent event. */
export interface SseEvent {
  readonly event: string;
  readonly data: string;
}

/** An open `GET /api/events` stream: its events in order as they arrive. */
export interface EventStream {
  /** The next event; undefined when none came within `withinMs`. */
  next(withinMs?: number): Promise<SseEvent | undefined>;
  close(): void;
}

export async function openEvents(url: string): Promise<EventStream> {
  const abort = new AbortController();
  const response = await fetch(`${url}/api/events`, { signal: abort.signal });
  if (response.status !== 200) throw new Error(`GET /api/events: ${response.status}`);
  const events: SseEvent[] = [];
  const waiters: (() => void)[] = [];
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of response.body!) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = "message";
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event: ")) event = line.slice(7);
            else if (line.startsWith("data: ")) data.push(line.slice(6));
          }
          events.push({ event, data: data.join("\n") });
          waiters.shift()?.();
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  return {
    async next(withinMs = 10_000) {
      if (events.length === 0) {
        await new Promise<void>((done) => {
          const timer = setTimeout(done, withinMs);
          waiters.push(() => {
            clearTimeout(timer);
            done();
          });
        });
      }
      return events.shift();
    },
    close: () => abort.abort(),
  };
}
