import { describeKvBackendContract } from "./kv-backend.contract.ts";
import { createMemoryBackend } from "./memory-backend.ts";

describeKvBackendContract("memory", async () => {
  const backend = createMemoryBackend();
  return { backend, cleanup: () => backend.close() };
});
