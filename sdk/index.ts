// Package entry of "numax-sdk" for AssemblyScript projects that install it:
//   import { db, log } from "numax-sdk";
// (asc resolves a package import to its index.ts; C, C++ and Zig use c/nx.h of the same package.)
export * from "./assemblyscript/assembly/index";
