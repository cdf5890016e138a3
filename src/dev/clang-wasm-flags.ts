/**
 * How C guests are compiled to WebAssembly with clang (no libc: everything comes from
 * sdk/c/nx.h): the repository's guests (scripts/build-guests.ts), `nx dev` and the Makefile
 * `nx new --lang c` writes all use these.
 */
export const CLANG_WASM_FLAGS: readonly string[] = [
  "--target=wasm32",
  "-O2",
  "-nostdlib",
  "-ffreestanding",
  "-Wall",
  "-Werror",
];

/** `run` is exported when the guest defines it: a reactive module may export only callbacks. */
export const CLANG_WASM_LINK_FLAGS: readonly string[] = [
  "-Wl,--no-entry",
  "-Wl,--export-if-defined=run",
  "-Wl,--strip-debug",
];

export const CLANG_INSTALL_HINT = "apt-get install -y clang lld";
