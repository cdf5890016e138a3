// Exercises fetch.ts against a real host: GETs NX_FETCH_URL and writes "status <n>", the
// `x-numax` header and the body text, one line each; under OnError.Return a failed fetch writes
// "failed <ERR_NAME>" instead.

import { ErrorCode, errorName, fetch, lastError, OnError, onError, stdout, system } from "../assembly";

export function run(): void {
  onError(OnError.Return);
  const response = fetch.get(system.env("NX_FETCH_URL")!, "Accept: text/plain");
  if (response == null) {
    stdout.writeLine(`failed ${errorName(lastError())}`);
    return;
  }
  assert(lastError() == ErrorCode.Ok);
  stdout.writeLine(`status ${response.status}`);
  const header = response.header("x-numax");
  stdout.writeLine(header == null ? "no header" : header);
  stdout.writeLine(response.text());
}
