import type { Crdt } from "../crdt.ts";
import type { GCounter } from "../g-counter.ts";
import type { LwwMap } from "../lww-map.ts";
import type { LwwRegister } from "../lww-register.ts";
import type { CrdtFamily } from "../op.ts";
import type { OrSet } from "../or-set.ts";
import type { PNCounter } from "../pn-counter.ts";
import type { Rga } from "../rga.ts";

const hex = (bytes: Uint8Array | undefined): string =>
  bytes === undefined ? "-" : Buffer.from(bytes).toString("hex");

/** What a reader of the CRDT sees, as one comparable string (RGA: in sequence order). */
export function observableValue(family: CrdtFamily, crdt: Crdt<unknown>): string {
  switch (family) {
    case "gcounter":
      return String((crdt as unknown as GCounter).value());
    case "pncounter":
      return String((crdt as unknown as PNCounter).value());
    case "lww_register":
      return hex((crdt as unknown as LwwRegister).value());
    case "lww_map":
      return (crdt as unknown as LwwMap)
        .entries()
        .map(([f, v]) => `${hex(f)}=${hex(v)}`)
        .join(",");
    case "orset":
      return (crdt as unknown as OrSet).elements().map(hex).join(",");
    case "rga":
      return (crdt as unknown as Rga).values().map(hex).join(",");
  }
}
