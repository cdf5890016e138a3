import makeMdns from "multicast-dns";

/**
 * Why mDNS on `interfaceAddress` cannot work on this machine (one line), or undefined when two
 * sockets there hear each other's multicast within `timeoutMs`. The probe uses its own service
 * name so no responder on the host is bothered.
 */
export async function multicastUnavailable(
  interfaceAddress: string,
  timeoutMs = 3000,
): Promise<string | undefined> {
  const name = `_nxprobe${process.pid}._tcp.local`;
  const a = makeMdns({ bind: "0.0.0.0", interface: interfaceAddress });
  const b = makeMdns({ bind: "0.0.0.0", interface: interfaceAddress });
  try {
    return await new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(
        () => resolve(`no multicast between two sockets on ${interfaceAddress} within ${timeoutMs} ms`),
        timeoutMs,
      );
      for (const socket of [a, b])
        socket.on("error", (error: Error) => resolve(`mDNS socket error: ${error.message}`));
      b.on("query", (query) => {
        if (query.questions.some((q) => q.name === name))
          b.respond({ answers: [{ name, type: "TXT", data: "ok" }] });
      });
      a.on("response", (response) => {
        if (!response.answers.some((r) => r.name === name)) return;
        clearTimeout(timer);
        resolve(undefined);
      });
      a.on("ready", () => a.query({ questions: [{ name, type: "TXT" }] }));
    });
  } finally {
    await Promise.all(
      [a, b].map((socket) => new Promise<void>((resolve) => socket.destroy(() => resolve()))),
    );
  }
}
