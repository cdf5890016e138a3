import type { ExtendedKvBackend } from "../../store/extended-kv-backend.ts";
import { storeClosedError } from "../../store/store-error.ts";

/**
 * One opening of `store` for a simulated node's run: `close` ends this opening only, and the
 * next run opens the same data again, as a restarted node reopens its datastore on disk. A
 * replica that kept using a closed opening throws, as with a closed LMDB environment.
 */
export function openingOf(store: ExtendedKvBackend): ExtendedKvBackend {
  let closed = false;
  return new Proxy(store, {
    get(target, property) {
      if (property === "close") {
        return async () => {
          closed = true;
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (closed) throw storeClosedError();
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}
