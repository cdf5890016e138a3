/** The real guest store over the in-memory backend, with the backend for writes as the runtime makes them. */
import type { ExtendedKvBackend } from "../../src/store/extended-kv-backend.ts";
import { createGuestStore, type GuestStore } from "../../src/store/guest-store.ts";
import { createMemoryBackend } from "../../src/store/memory-backend.ts";

export function memoryGuestStore(): { store: GuestStore; backend: ExtendedKvBackend } {
  const backend = createMemoryBackend();
  return { store: createGuestStore(backend), backend };
}
