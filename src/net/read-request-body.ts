import type { IncomingMessage } from "node:http";

/**
 * A request's whole body, or undefined once it is larger than `limitBytes` (by its declared
 * `content-length`, before reading anything, or as it arrives; the rest is not read). Shared by
 * the management API (JSON and module uploads) and the dashboard (its login form).
 */
export function readRequestBody(
  request: IncomingMessage,
  limitBytes: number,
): Promise<Uint8Array | undefined> {
  if (Number(request.headers["content-length"] ?? 0) > limitBytes) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limitBytes) {
        request.off("data", onData);
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    request.on("data", onData);
    request.once("end", () => resolve(Buffer.concat(chunks)));
    request.once("error", reject);
  });
}
