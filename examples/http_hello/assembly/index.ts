// HTTP handlers with default routes (docs/serving.md). Every request runs its handler in a fresh
// instance; `nx run http_hello.wasm --serve 127.0.0.1:8080` serves the routes `routes` declares.
//
// Interface (tests rely on it):
//   GET  /hello/:name  200 text/plain "hello <name>"
//   POST /echo         200 with the request body (bodies over the listener's max_body get 413
//                      before the handler runs)
//   GET  /boom         traps: 500 "internal error (request <id>)"
//   GET  /spin         never returns: stopped by its CPU budget (500)

import { http } from "../../../sdk/assemblyscript/assembly";

/** The module's entry point: nothing to prepare, the handlers do the work. */
export function run(): void {}

export function routes(): void {
  http.route("GET", "/hello/:name", "hello");
  http.route("POST", "/echo", "echo");
  http.route("GET", "/boom", "boom");
  http.route("GET", "/spin", "spin");
}

export function hello(): void {
  http.setHeader("content-type", "text/plain; charset=utf-8");
  http.write(`hello ${http.param("name")!}`);
}

export function echo(): void {
  const type = http.header("content-type");
  if (type !== null) http.setHeader("content-type", type);
  http.write(http.body());
}

export function boom(): void {
  unreachable();
}

let spins: u64 = 0;

export function spin(): void {
  while (true) spins++;
}
