import * as Y from "yjs";
const N = Number(process.argv[2]);
const mode = process.argv[3];
const vals = Array.from({ length: N }, (_, i) => new Uint8Array([i & 255, (i >> 8) & 255]));
const t = performance.now();
const doc = new Y.Doc(); const arr = doc.getArray<unknown>("a");
let last = t;
for (let i = 0; i < N; i++) { arr.insert(i, [mode === "num" ? i : vals[i]]); if ((i+1) % 10000 === 0) { const now = performance.now(); console.log(i+1, Math.round(now - last)); last = now; } }
arr.toArray();
console.log(N, mode, performance.now() - t);
