/**
 * A rough size of a value in V8's heap (64-bit, no pointer compression), for introspection only.
 * Walks at most `nodesMax` values so that a huge message cannot make introspection slow.
 */
export function estimateValueBytes(value: unknown, nodesMax = 1_000): number {
  let nodes = 0;
  const walk = (v: unknown): number => {
    if (++nodes > nodesMax) return 0;
    switch (typeof v) {
      case "string":
        return 16 + v.length * 2;
      case "number":
      case "boolean":
      case "undefined":
        return 8;
      case "bigint":
        return 24 + Math.ceil(v.toString(16).length / 2);
      case "object": {
        if (v === null) return 8;
        if (ArrayBuffer.isView(v)) return 64 + v.byteLength;
        if (v instanceof ArrayBuffer) return 48 + v.byteLength;
        if (Array.isArray(v)) {
          let bytes = 32 + v.length * 8;
          for (const item of v) bytes += walk(item);
          return bytes;
        }
        let bytes = 32;
        for (const key in v) bytes += 16 + walk((v as Record<string, unknown>)[key]);
        return bytes;
      }
      default:
        return 8;
    }
  };
  return walk(value);
}
