import { fileURLToPath } from "node:url";

/**
 * The directory of the Numax package this `nx` runs from (a checkout, or an installed package):
 * where `nx new` points a scaffold's SDK references and `nx dev` finds `sdk/c/nx.h`. Sources
 * (src/dev/) and the CLI bundle (build/cli/) both sit two levels below it.
 */
export const NUMAX_ROOT: string = fileURLToPath(new URL("../../", import.meta.url));
