import wabtInit from "wabt";
import { writeFileSync, readFileSync } from "node:fs";
const wabt = await wabtInit();
const [src, out] = process.argv.slice(2);
writeFileSync(out, wabt.parseWat(src, readFileSync(src, "utf8"), {}).toBinary({ write_debug_names: true }).buffer);
