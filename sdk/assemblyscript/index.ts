// Package entry for projects that install this folder as the npm package "numax-sdk":
//   import { db, log } from "numax-sdk";
export * from "./assembly/index";
